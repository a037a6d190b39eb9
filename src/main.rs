//! The `rcraft` binary: parses arguments, runs the command, maps errors to exit codes.

fn main() -> std::process::ExitCode {
    rcraft::cli::main()
}
