//! The `orb` command line.

mod config_cmd;
mod docs_cmd;
mod doctor_cmd;
mod examples;
mod hostfactory_cmd;
mod infra_cmd;
mod init_cmd;
mod listing;
mod machines_cmd;
mod migrate_cmd;
mod plugins_cmd;
mod progress;
mod providers_cmd;
mod render;
mod requests_cmd;
mod scripts_cmd;
mod templates_cmd;
mod wait;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use crate::app::App;
pub use hostfactory_cmd::HfCall;

use crate::broker::{BrokerError, Power, Unreturned};
use crate::dialect::Dialect;
use crate::domain::{RequestKind, RequestStatus};
use crate::hostfactory::output as hf_output;
use crate::storage::{MachineFilter, RequestFilter};
use listing::ListArgs;
use machines_cmd::Returned;
use render::{render, Format};
use wait::WaitOptions;

/// orb: the resource broker that provisions, tracks and returns cloud machines through
/// provider plugins.
#[derive(Debug, Parser)]
#[command(
    name = "orb",
    version,
    about,
    // As Python's argparse, which the Python ORB's users type to: any unique prefix of a long
    // option (`--temp` for `--template`).
    infer_long_args = true,
    after_help = "Configuration: --config, else ORB_CONFIG_FILE, else the first config.json in \
$ORB_CONFIG_DIR, $HF_PROVIDER_CONFDIR, ./config, <install>/config, /etc/orb. Any key can be overridden \
with ORB_<SECTION>__<KEY> (e.g. ORB_LOGGING__LEVEL=debug), and a provider type's instance \
configuration with ORB_<TYPE>_<KEY> (e.g. ORB_AWS_REGION=eu-west-1). Provider libraries are \
loaded from plugins.dir (ORB_PLUGINS_DIR).\n\nExit codes: 0 success, 1 failure, 2 usage error, \
130 interrupted (Ctrl-C)."
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
    /// Write the output to FILE instead of stdout (Host Factory's calls always print it).
    #[arg(long, global = true, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The Symphony Host Factory calls, as the scripts in config/hostfactory/scripts run them.
    /// JSON on stdout unless --format says otherwise; exit 1 with a `message` on failure.
    #[command(name = "hostfactory", alias = "hf")]
    HostFactory {
        #[command(subcommand)]
        call: HfCall,
        #[command(flatten)]
        input: HfInput,
    },
    /// Templates in scope: every enabled provider instance's, or those HF_PROVIDER_NAME names.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
    /// Acquire and return requests.
    Requests {
        #[command(subcommand)]
        command: RequestsCommand,
    },
    /// Machines: list them, ask for them, return them.
    Machines {
        #[command(subcommand)]
        command: MachinesCommand,
    },
    /// Serves the HTTP API (service mode) until SIGTERM or SIGINT. Prints one JSON line with the
    /// address it listens on.
    Serve {
        /// The address to listen on [default: server.host, 127.0.0.1]. Anything but loopback
        /// needs server.auth.
        #[arg(long)]
        host: Option<String>,
        /// The port [default: server.port, 8000]; 0 picks a free one.
        #[arg(long)]
        port: Option<u16>,
    },
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
    /// What a provider instance's cloud offers for templates, and templates checked against it.
    Infra {
        #[command(subcommand)]
        command: InfraCommand,
    },
    /// The effective configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Carries another broker's state over.
    Migrate {
        #[command(subcommand)]
        command: MigrateCommand,
    },
    /// Writes a working config.json and templates file into the configuration directory: asks
    /// on a terminal (or takes flags), tests the credentials, discovers the network, writes the
    /// provider's example templates, checked. Replaces nothing without --force; writes nothing
    /// when a step fails.
    Init(init_cmd::InitArgs),
    /// Writes Host Factory's five scripts into DIR, pointing at this orb binary: set
    /// scriptPath in hostProviderPlugins.json to DIR. Replaces scripts that differ only with
    /// --force.
    Scripts {
        /// Where to write them (made if missing).
        dir: PathBuf,
        /// Replace scripts of that name that differ from orb's.
        #[arg(long)]
        force: bool,
    },
    /// Checks what orb needs, one line per check with a fix for each failure: the
    /// configuration, the plugins directory, the database, each enabled provider instance
    /// (credentials, connectivity, the clock against the cloud's), Host Factory's environment
    /// and scripts. Exit 1 when any check fails.
    Doctor {
        /// The directory of Host Factory's scripts [default: beside the binary].
        #[arg(long, value_name = "DIR")]
        scripts: Option<PathBuf>,
    },
    /// The Model Context Protocol server, for AI agents.
    Mcp {
        #[command(subcommand)]
        command: McpCommand,
    },
    /// Prints the shell completion script of SHELL (e.g. `orb completions bash >
    /// /etc/bash_completion.d/orb`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Prints the manual page orb(1), or writes a page for orb and for each command into DIR.
    Man {
        /// Write orb.1, orb-machines.1, orb-machines-request.1... here.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum MigrateCommand {
    /// Imports the Python ORB's requests, machines and return requests from its JSON store
    /// (`<work>/data/request_database.json`, or the directory of its split files) or its
    /// SQLite store (`database.db`, read without being changed), so that orb
    /// follows and returns what ORB made. What orb's store holds already is left as it is, so
    /// it can be run again; every record not imported is listed with why (exit 1 when any).
    FromOrb {
        /// ORB's store: its request_database.json, the directory of its split files, or its
        /// SQLite database.
        path: PathBuf,
        /// Give every record to this provider instance of orb's configuration, instead of the
        /// instance of ORB's name.
        #[arg(long, value_name = "NAME")]
        provider_instance: Option<String>,
    },
}

/// The input file of a Host Factory call.
#[derive(Debug, Args)]
struct HfInput {
    /// The JSON input file (`-f`, `--f` and `--file` are accepted).
    #[arg(
        short = 'f',
        long = "file",
        alias = "f",
        value_name = "FILE",
        global = true
    )]
    file: Option<PathBuf>,
    /// The JSON input file, given without a flag.
    #[arg(value_name = "INPUT", global = true)]
    path: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum TemplatesCommand {
    /// Lists the templates in scope with their attributes and the provider instance serving
    /// each: every enabled instance's (or those HF_PROVIDER_NAME names).
    List {
        /// Only the templates this provider instance serves.
        #[arg(long, value_name = "NAME")]
        provider: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Shows one template as merged with its defaults.
    Show {
        /// The template id (or --template-id/-t).
        #[arg(required_unless_present = "template_id_flag")]
        template_id: Option<String>,
        /// The template id.
        #[arg(
            long = "template-id",
            short = 't',
            value_name = "ID",
            conflicts_with = "template_id"
        )]
        template_id_flag: Option<String>,
    },
    /// Reports every problem of every template (or of one) at once (exit 1 when any).
    Validate {
        /// Only this template.
        template_id: Option<String>,
    },
    /// Writes the provider's example templates to the templates file, each checked first: one
    /// for each way it makes machines, on what its cloud offers. Those whose ids are there
    /// already are kept, unless --force.
    Generate {
        /// Only the examples of this handler (RunInstances, EC2Fleet, SpotFleet, ASG).
        #[arg(long)]
        provider_api: Option<String>,
        /// Replace examples whose ids are in the templates file already.
        #[arg(long)]
        force: bool,
    },
    /// Adds a template to the templates file, checked first as it would be served (exit 1 and
    /// nothing written when it has a problem or its id exists).
    Add {
        /// A JSON file holding the template (`-` for stdin); keys in either dialect.
        file: PathBuf,
    },
    /// Changes a template in its file: the keys of FILE, then each --set, then each --unset;
    /// checked first (exit 1 and nothing written when the result has a problem).
    Update {
        /// The template id.
        template_id: String,
        /// A JSON file of the keys to change (`-` for stdin); null removes a key.
        file: Option<PathBuf>,
        /// KEY=VALUE: VALUE as JSON when it parses (`maxNumber=20`, `vmTypes={"m5.large":1}`),
        /// else as text (`imageId=ami-1`). Repeat for more.
        #[arg(long, value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Removes KEY. Repeat for more.
        #[arg(long, value_name = "KEY")]
        unset: Vec<String>,
    },
    /// Removes a template from its file.
    #[command(alias = "remove")]
    Delete {
        /// The template id.
        template_id: String,
    },
}

/// `--wait` and its options.
#[derive(Debug, Args)]
struct WaitArgs {
    /// Poll until the request is done, showing progress on stderr (exit 1 unless it
    /// completes without error).
    #[arg(long)]
    wait: bool,
    /// Seconds to wait at most.
    #[arg(long, default_value_t = 600, requires = "wait")]
    timeout: u64,
    /// Seconds between polls.
    #[arg(long, default_value_t = 2, requires = "wait")]
    interval: u64,
}

impl WaitArgs {
    fn options(&self) -> Option<WaitOptions> {
        self.wait.then(|| WaitOptions {
            timeout: Duration::from_secs(self.timeout),
            interval: Duration::from_secs(self.interval.max(1)),
        })
    }
}

#[derive(Debug, Subcommand)]
enum RequestsCommand {
    /// Lists requests, newest first.
    List {
        /// Only requests in this status (running, complete, complete_with_error).
        #[arg(long, value_parser = ["running", "complete", "complete_with_error"])]
        status: Option<String>,
        /// Only acquire or only return requests.
        #[arg(long, alias = "request-type", value_parser = ["acquire", "return"])]
        kind: Option<String>,
        /// Only requests for this template.
        #[arg(long)]
        template_id: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Shows requests and their machines, refreshed from the provider (exit 1 when an id is
    /// unknown).
    #[command(alias = "status")]
    Show {
        /// Request ids (or --request-id/-r).
        #[arg(required_unless_present = "request_id_flags")]
        request_ids: Vec<String>,
        /// A request id; repeat for more.
        #[arg(long = "request-id", short = 'r', value_name = "ID")]
        request_id_flags: Vec<String>,
    },
    /// Follows requests until they end: a bar per request on a terminal (machines running,
    /// pending and failed, by purchase option and zone), plain lines otherwise; then prints them as
    /// `show` does. Without ids, every running request, and those that start meanwhile. Exit 1
    /// unless each completed without error.
    Watch {
        /// Request ids [default: the running requests].
        request_ids: Vec<String>,
        /// Seconds to follow at most.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
        /// Seconds between polls.
        #[arg(long, default_value_t = 2)]
        interval: u64,
    },
    /// Cancels an acquire request that is still running: whatever was made for it (fleets,
    /// groups, launch templates) is released and its machines are terminated, tracked by a
    /// return request. Cancelling again retries a release that failed. Exit 1 when the request
    /// is unknown or already finished (return its machines instead).
    Cancel {
        /// The acquire request id.
        request_id: String,
        /// Why, kept in the request's message.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum MachinesCommand {
    /// Lists machines, newest first.
    List {
        /// Only machines of this acquire request.
        #[arg(long)]
        request_id: Option<String>,
        /// Only machines in this state (pending, running, shutting-down, terminated...).
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Shows one stored machine.
    Show {
        /// The machine id (or --machine-id/-m).
        #[arg(required_unless_present = "machine_id_flag")]
        machine_id: Option<String>,
        /// The machine id.
        #[arg(
            long = "machine-id",
            short = 'm',
            value_name = "ID",
            conflicts_with = "machine_id"
        )]
        machine_id_flag: Option<String>,
    },
    /// Asks for machines from a template: `request TEMPLATE COUNT`, or with `-t` and `-c`.
    Request {
        /// The template id (or --template-id/-t).
        #[arg(required_unless_present = "template_id_flag")]
        template_id: Option<String>,
        /// How many machines (or --count/-c).
        #[arg(required_unless_present = "count_flag")]
        count: Option<i64>,
        /// The template id.
        #[arg(
            long = "template-id",
            short = 't',
            value_name = "ID",
            conflicts_with = "template_id"
        )]
        template_id_flag: Option<String>,
        /// How many machines.
        #[arg(
            long = "count",
            short = 'c',
            value_name = "N",
            conflicts_with = "count"
        )]
        count_flag: Option<i64>,
        #[command(flatten)]
        wait: WaitArgs,
        /// Check the request without making it: the host's checks, then the provider's (on
        /// AWS, the API's DryRun); nothing is stored or launched. Exit 1 when it would fail.
        #[arg(long, conflicts_with = "wait")]
        dry_run: bool,
    },
    /// Stops machines, keeping them, where their provider can (exit 1 when any is not
    /// stopping). Host Factory counts a stopped machine as taken back by the cloud and
    /// returns it: --force confirms.
    Stop {
        /// Machine ids or host names.
        #[arg(required = true)]
        machines: Vec<String>,
        /// Stop them although Host Factory may hold them.
        #[arg(long)]
        force: bool,
    },
    /// Starts stopped machines, where their provider can (exit 1 when any is not starting).
    Start {
        /// Machine ids or host names.
        #[arg(required = true)]
        machines: Vec<String>,
    },
    /// Returns machines: named by id or host name (or -m), every machine of an acquire
    /// request (-r), or every machine orb holds (--all --force); only those neither gone nor
    /// being returned.
    #[command(alias = "terminate")]
    Return {
        /// Machine ids or host names.
        #[arg(required_unless_present_any = ["machine_id_flags", "request_id", "all"])]
        machines: Vec<String>,
        /// A machine id or host name; repeat for more.
        #[arg(long = "machine-id", short = 'm', value_name = "ID")]
        machine_id_flags: Vec<String>,
        /// Every machine of this acquire request.
        #[arg(long, short = 'r', conflicts_with_all = ["machines", "machine_id_flags", "all"])]
        request_id: Option<String>,
        /// Every machine orb holds (needs --force).
        #[arg(long, requires = "force", conflicts_with_all = ["machines", "machine_id_flags"])]
        all: bool,
        /// Confirms --all.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        wait: WaitArgs,
        /// Check the return without making it: each machine orb's and up, and the provider
        /// allowed to terminate it (on AWS, TerminateInstances' DryRun); nothing is stored or
        /// terminated. Exit 1 when it would fail.
        #[arg(long, conflicts_with = "wait")]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PluginsCommand {
    /// Lists every library: its name, version, interface version and provider types, or why it
    /// was refused (exit 1 when any was refused).
    List,
    /// Checks every library of the plugins directory as orb checks it before loading (ELF
    /// shared object for this machine, not truncated, owner and permissions,
    /// plugins.checksums) and then loads it; prints each file's SHA-256 and what would be
    /// refused and why (exit 1 when any would be).
    Verify,
    /// Writes a new provider crate (Cargo.toml, src/lib.rs, a contract test, a README) that
    /// builds on its own against orb-plugin-api and loads into this orb.
    New {
        /// The crate's name, which is also its provider type.
        name: String,
        /// Where to write it [default: ./NAME]; must not exist.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
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
    /// The networks, subnets and security groups the default instance (or the one named)
    /// can place machines in, from its cloud (exit 1 when its provider does not offer this).
    Infrastructure {
        /// Ask this instance.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum McpCommand {
    /// Serves the broker over stdio to one MCP client (the client starts `orb mcp serve`):
    /// tools to list and validate templates, request, follow, return and cancel machines, list
    /// requests and machines, check providers' health; resources for templates and requests; a
    /// prompt to provision and wait. Logs never go to stdout.
    Serve {
        /// `viewer` gets the read-only tools alone.
        #[arg(long, value_enum, default_value = "operator")]
        role: crate::mcp::McpRole,
    },
}

#[derive(Debug, Subcommand)]
enum InfraCommand {
    /// Asks the cloud of the default instance (or --name) for its networks, subnets (with their
    /// zones and free addresses), security groups, key pairs, image parameters, the instance
    /// types offered in each zone and the Spot Fleet role; keeps the answer for show and
    /// validate. Kinds of more than 50 resources (instance types) are counted, not listed,
    /// unless --all.
    Discover {
        /// Ask this instance.
        #[arg(long)]
        name: Option<String>,
        /// List every resource, however many of a kind.
        #[arg(long)]
        all: bool,
    },
    /// Shows the last discovery kept (exit 1 when there is none).
    Show {
        /// Of this instance.
        #[arg(long)]
        name: Option<String>,
        /// List every resource, however many of a kind.
        #[arg(long)]
        all: bool,
    },
    /// Checks templates against the last discovery (made now when there is none): their
    /// subnets, security groups (in the subnets' network), key pair, instance types (offered in
    /// each subnet's zone) and image parameters. Exit 1 when any template has a problem.
    Validate {
        /// A templates file [default: the templates the instance serves].
        file: Option<PathBuf>,
        /// Against this instance's discovery.
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
pub struct CommandOutput {
    /// The command's output.
    pub value: Value,
    /// Whether the exit code is 0.
    pub success: bool,
}

impl CommandOutput {
    /// A successful command that printed its output itself.
    pub fn silent() -> Self {
        CommandOutput {
            value: Value::Null,
            success: true,
        }
    }

    /// A successful command that shows `view`.
    pub fn of(view: impl serde::Serialize) -> Self {
        CommandOutput {
            value: crate::views::to_json(&view),
            success: true,
        }
    }
}

/// What the command line asks for: `orb serve`, which the server runs, or a command.
pub enum Invocation {
    /// `orb serve`.
    Serve {
        /// `--config`.
        config: Option<PathBuf>,
        /// `--log-level`.
        log_level: Option<String>,
        /// `--host`.
        host: Option<String>,
        /// `--port`.
        port: Option<u16>,
    },
    /// `orb mcp serve`.
    Mcp {
        /// `--config`.
        config: Option<PathBuf>,
        /// `--log-level`.
        log_level: Option<String>,
        /// `--role`.
        role: crate::mcp::McpRole,
    },
    /// Any other command, for [`main`].
    Command(Cli),
}

/// Parses the command line (exits with a usage message when it is wrong).
pub fn parse() -> Invocation {
    use clap::{CommandFactory, FromArgMatches};
    let matches = examples::with_examples(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        Command::Serve { host, port } => Invocation::Serve {
            config: cli.global.config,
            log_level: cli.global.log_level,
            host,
            port,
        },
        Command::Mcp {
            command: McpCommand::Serve { role },
        } => Invocation::Mcp {
            config: cli.global.config,
            log_level: cli.global.log_level,
            role,
        },
        _ => Invocation::Command(cli),
    }
}

/// Runs a command (one call, on one thread) and returns the process exit code.
pub fn main(cli: Cli) -> ExitCode {
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
    // Host Factory reads exactly one JSON object from stdout, success or not: JSON unless a
    // person asks for another format.
    let host_factory = matches!(cli.command, Command::HostFactory { .. });
    let format = match (host_factory, cli.global.format) {
        (true, format) => format.unwrap_or(Format::Json),
        (false, format) => Format::or_default(format),
    };
    let output = cli.global.output.clone();
    let result = runtime.block_on(async {
        tokio::select! {
            result = run(cli) => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    // A provider call that timed out (or was interrupted) may still hold a blocking thread:
    // do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    let Some(result) = result else {
        // What was stored stays consistent (each change is one transaction): a request left
        // running is finished by the next call that looks at it.
        eprintln!("interrupted");
        return ExitCode::from(130);
    };
    match result {
        Ok(outcome) => {
            if !outcome.value.is_null() {
                let text = render(&outcome.value, format);
                match output.as_deref().filter(|_| !host_factory) {
                    None => {
                        if let Err(e) = render::to_stdout(&text) {
                            eprintln!("error: cannot write the output: {e}");
                            return ExitCode::FAILURE;
                        }
                    }
                    Some(file) => {
                        if let Err(e) = std::fs::write(file, text) {
                            eprintln!("error: cannot write {}: {e}", file.display());
                            return ExitCode::FAILURE;
                        }
                    }
                }
            }
            if outcome.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) if host_factory => {
            let kind = e
                .downcast_ref::<BrokerError>()
                .map(BrokerError::kind)
                .unwrap_or("ConfigurationError");
            tracing::error!(error = %format!("{e:#}"), "host factory call failed");
            // Nothing more to say when even this cannot be written.
            let _ = render::to_stdout(&render(&hf_output::error(&format!("{e:#}"), kind), format));
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<CommandOutput> {
    // What needs no configuration.
    match &cli.command {
        Command::Completions { shell } => return docs_cmd::completions(*shell),
        Command::Man { dir } => return docs_cmd::man(dir.as_deref()),
        Command::Scripts { dir, force } => {
            let orb = std::env::current_exe()
                .map_err(|e| anyhow::anyhow!("cannot find orb's own path: {e}"))?;
            return scripts_cmd::write(dir, &orb, *force);
        }
        // It reports a configuration that does not load, as its first check.
        Command::Doctor { scripts } => {
            return Ok(doctor_cmd::run(cli.global.config.as_deref(), scripts.as_deref()).await)
        }
        _ => {}
    }
    let app = App::start(
        cli.global.config.as_deref(),
        cli.global.log_level.as_deref(),
    )?;
    let dialect = match cli.command {
        // Host Factory reads camelCase, whatever the dialect.
        Command::HostFactory { .. } => Dialect::HostFactory,
        _ => app.loaded.config.scheduler.dialect(),
    };
    let mut output = dispatch(&app, cli.command).await?;
    dialect.apply(&mut output.value);
    Ok(output)
}

/// Runs `command` on `app`; its output in Host Factory's dialect.
async fn dispatch(app: &App, command: Command) -> anyhow::Result<CommandOutput> {
    match command {
        Command::Serve { .. } => unreachable!("parse hands `orb serve` to the server"),
        Command::HostFactory { call, input } => {
            let file = input.file.or(input.path);
            Ok(hostfactory_cmd::run(app, call, file.as_deref()).await?)
        }
        Command::Templates { command } => Ok(match command {
            TemplatesCommand::List { provider, list } => {
                templates_cmd::list(app, provider.as_deref(), &list).await?
            }
            TemplatesCommand::Show {
                template_id,
                template_id_flag,
            } => {
                let id = template_id.or(template_id_flag).unwrap_or_default();
                templates_cmd::show(app, &id).await?
            }
            TemplatesCommand::Validate { template_id } => {
                templates_cmd::validate(app, template_id.as_deref()).await?
            }
            TemplatesCommand::Generate {
                provider_api,
                force,
            } => templates_cmd::generate(app, provider_api.as_deref(), force).await?,
            TemplatesCommand::Add { file } => templates_cmd::add(app, &file).await?,
            TemplatesCommand::Update {
                template_id,
                file,
                set,
                unset,
            } => {
                let changes = templates_cmd::changes(file.as_deref(), &set, &unset)?;
                templates_cmd::update(app, &template_id, changes).await?
            }
            TemplatesCommand::Delete { template_id } => {
                templates_cmd::delete(app, &template_id).await?
            }
        }),
        Command::Requests { command } => Ok(match command {
            RequestsCommand::List {
                status,
                kind,
                template_id,
                list,
            } => requests_cmd::list(
                app,
                &RequestFilter {
                    kind: kind.as_deref().and_then(RequestKind::parse),
                    status: status.as_deref().and_then(RequestStatus::parse),
                    template_id,
                    ..Default::default()
                },
                &list,
            )?,
            RequestsCommand::Show {
                mut request_ids,
                request_id_flags,
            } => {
                request_ids.extend(request_id_flags);
                requests_cmd::show(app, &request_ids).await?
            }
            RequestsCommand::Watch {
                request_ids,
                timeout,
                interval,
            } => {
                let options = WaitOptions {
                    timeout: Duration::from_secs(timeout),
                    interval: Duration::from_secs(interval.max(1)),
                };
                requests_cmd::watch(app, &request_ids, options).await?
            }
            RequestsCommand::Cancel { request_id, reason } => {
                requests_cmd::cancel(app, &request_id, reason.as_deref()).await?
            }
        }),
        Command::Machines { command } => Ok(match command {
            MachinesCommand::List {
                request_id,
                status,
                list,
            } => machines_cmd::list(
                app,
                &MachineFilter {
                    request_id,
                    state: status,
                    ..Default::default()
                },
                &list,
            )?,
            MachinesCommand::Show {
                machine_id,
                machine_id_flag,
            } => {
                let id = machine_id.or(machine_id_flag).unwrap_or_default();
                machines_cmd::show(app, &id)?
            }
            MachinesCommand::Request {
                template_id,
                count,
                template_id_flag,
                count_flag,
                wait,
                dry_run,
            } => {
                let template = template_id.or(template_id_flag).unwrap_or_default();
                let count = count.or(count_flag).unwrap_or_default();
                machines_cmd::request(app, &template, count, wait.options(), dry_run).await?
            }
            MachinesCommand::Stop { machines, force } => {
                machines_cmd::power(app, Power::Stop, &machines, force).await?
            }
            MachinesCommand::Start { machines } => {
                machines_cmd::power(app, Power::Start, &machines, false).await?
            }
            MachinesCommand::Return {
                mut machines,
                machine_id_flags,
                request_id,
                all,
                force: _,
                wait,
                dry_run,
            } => {
                machines.extend(machine_id_flags);
                let which = match (request_id, all) {
                    (None, false) => Returned::Named(machines),
                    (request_id, _) => Returned::Unreturned(Unreturned {
                        request_id,
                        ..Default::default()
                    }),
                };
                machines_cmd::return_machines(app, which, wait.options(), dry_run).await?
            }
        }),
        Command::Plugins {
            command: PluginsCommand::List,
        } => Ok(plugins_cmd::list(app)),
        Command::Plugins {
            command: PluginsCommand::Verify,
        } => Ok(plugins_cmd::verify(app)),
        Command::Plugins {
            command: PluginsCommand::New { name, dir },
        } => plugins_cmd::new(app, &name, dir.as_deref()),
        Command::Providers {
            command: ProvidersCommand::List,
        } => providers_cmd::list(app),
        Command::Providers {
            command: ProvidersCommand::Health { name },
        } => providers_cmd::health(app, name.as_deref()).await,
        Command::Providers {
            command: ProvidersCommand::Infrastructure { name },
        } => providers_cmd::infrastructure(app, name.as_deref()).await,
        Command::Init(args) => Ok(init_cmd::run(app, args).await?),
        Command::Infra { command } => Ok(match command {
            InfraCommand::Discover { name, all } => {
                infra_cmd::discover(app, name.as_deref(), all).await?
            }
            InfraCommand::Show { name, all } => infra_cmd::show(app, name.as_deref(), all)?,
            InfraCommand::Validate { file, name } => {
                infra_cmd::validate(app, name.as_deref(), file.as_deref()).await?
            }
        }),
        Command::Config {
            command: ConfigCommand::Show,
        } => Ok(config_cmd::show(app).await),
        Command::Migrate {
            command:
                MigrateCommand::FromOrb {
                    path,
                    provider_instance,
                },
        } => migrate_cmd::from_orb(app, &path, provider_instance.as_deref()),
        Command::Mcp { .. } => unreachable!("parse hands `orb mcp serve` to the MCP server"),
        Command::Completions { .. }
        | Command::Man { .. }
        | Command::Doctor { .. }
        | Command::Scripts { .. } => {
            unreachable!("run answers them without a configuration")
        }
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
