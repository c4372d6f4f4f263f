//! The `orb` binary: `orb serve` runs the server, every other command the command line.

use orb::cli::{parse, Invocation};

fn main() -> std::process::ExitCode {
    match parse() {
        Invocation::Serve {
            config,
            log_level,
            host,
            port,
        } => orb::server::main(config.as_deref(), log_level.as_deref(), host, port),
        Invocation::Mcp {
            config,
            log_level,
            role,
        } => orb::mcp::main(config.as_deref(), log_level.as_deref(), role),
        Invocation::Command(cli) => orb::cli::main(cli),
    }
}
