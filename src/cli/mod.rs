//! Command-line interface. (Stub.)

/// Entry point of the `rcraft` binary.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
