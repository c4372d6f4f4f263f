//! The `orb` binary.

fn main() -> std::process::ExitCode {
    orb::cli::main()
}
