//! The `orb` command line.

mod app;
mod config_cmd;
mod plugins_cmd;
mod providers_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

pub use app::App;

use crate::output::{render, Format};

/// orb: the resource broker that provisions, tracks and returns cloud machines through
/// provider plugins.
#[derive(Debug, Parser)]
#[command(
    name = "orb",
    version,
    about,
    after_help = "Configuration: --config, else ORB_CONFIG_FILE, else the first config.json in \
$ORB_CONFIG_DIR, $HF_PROVIDER_CONFDIR, ./config, <install>/config. Any key can be overridden \
with ORB_<SECTION>__<KEY> (e.g. ORB_LOGGING__LEVEL=debug), and a provider type's instance \
configuration with ORB_<TYPE>_<KEY> (e.g. ORB_AWS_REGION=eu-west-1). Provider libraries are \
loaded from plugins.dir (ORB_PLUGINS_DIR).\n\nExit codes: 0 success, 1 failure, 2 usage error."
)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
struct GlobalArgs {
    /// The config file (default: see below).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, global = true, value_enum)]
    format: Option<Format>,
    /// Log level, overriding logging.level (error, warn, info, debug, trace).
    #[arg(long, global = true, value_name = "LEVEL")]
    log_level: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Provider plugin libraries in the plugins directory.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Configured provider instances.
    Providers {
        #[command(subcommand)]
        command: ProvidersCommand,
    },
    /// The effective configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PluginsCommand {
    /// Lists every library: its name, version, interface version and provider types, or why it
    /// was refused (exit 1 when any was refused).
    List,
}

#[derive(Debug, Subcommand)]
enum ProvidersCommand {
    /// Lists the configured provider instances and the plugin offering each one's type.
    List,
    /// Checks the health of every enabled instance (exit 1 when any is unhealthy).
    Health {
        /// Check only this instance.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Shows the effective configuration, every layer applied, with secrets redacted.
    Show,
}

/// What a command produced: the value to print, and whether it succeeded.
#[derive(Debug)]
pub struct Outcome {
    /// The command's output.
    pub value: Value,
    /// Whether the exit code is 0.
    pub success: bool,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let format = Format::or_default(cli.global.format);
    match runtime.block_on(run(cli)) {
        Ok(outcome) => {
            print!("{}", render(&outcome.value, format));
            if outcome.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let app = App::start(
        cli.global.config.as_deref(),
        cli.global.log_level.as_deref(),
    )?;
    match cli.command {
        Command::Plugins {
            command: PluginsCommand::List,
        } => Ok(plugins_cmd::list(&app)),
        Command::Providers {
            command: ProvidersCommand::List,
        } => Ok(providers_cmd::list(&app)),
        Command::Providers {
            command: ProvidersCommand::Health { name },
        } => providers_cmd::health(&app, name.as_deref()).await,
        Command::Config {
            command: ConfigCommand::Show,
        } => Ok(config_cmd::show(&app)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
