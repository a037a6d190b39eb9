//! Command-line interface: clap arguments, one file per command, and exit codes.
//!
//! Each command follows uv's split: clap args (here) -> resolved settings (in the command's
//! file) -> a library call. Commands return [`crate::error::Error`], whose
//! [`exit_status`](crate::error::Error::exit_status) is the one mapping to exit codes.

mod extensions;
mod init;
mod lifecycle;
mod pack;
pub mod printer;
mod push;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use printer::{Printer, Verbosity};

use crate::error::Error;

/// Build OCI images ("rocks") from rockcraft.yaml, without a daemon or VM.
#[derive(Debug, Parser)]
#[command(name = "rcraft", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
struct GlobalArgs {
    /// Show detail: commands run, script output, digests.
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    verbose: bool,
    /// Print only results and errors (for CI logs).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Set the verbosity level by name (Rockcraft's spelling).
    #[arg(long, global = true, value_enum, conflicts_with_all = ["verbose", "quiet"])]
    verbosity: Option<VerbosityArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum VerbosityArg {
    Quiet,
    Brief,
    Verbose,
    Debug,
    Trace,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a rockcraft.yaml in a directory from a profile.
    Init(InitArgs),
    /// Build the rock: run the parts lifecycle and write NAME_VERSION_PLATFORM.rock.
    Pack(PackArgs),
    /// Upload a .rock to an OCI registry (HEAD-checked, 4 blobs in parallel, manifest last).
    Push(PushArgs),
    /// Run the lifecycle up to the pull step (for the named parts, or all).
    Pull(LifecycleArgs),
    /// Run the lifecycle up to the build step.
    Build(LifecycleArgs),
    /// Run the lifecycle up to the stage step.
    Stage(LifecycleArgs),
    /// Run the lifecycle up to the prime step.
    Prime(LifecycleArgs),
    /// Remove the work files of the named parts (or all), so the next run redoes them.
    Clean(LifecycleArgs),
    /// List the available extensions (framework profiles).
    #[command(alias = "extensions")]
    ListExtensions,
    /// Print the project file with its extensions expanded.
    ExpandExtensions,
}

/// Arguments of `rcraft init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory to initialise (default: the current directory).
    pub dir: Option<PathBuf>,
    /// The rock's name (default: the directory's name, or `my-rock-name` if that is not a valid name).
    #[arg(long)]
    pub name: Option<String>,
    /// The profile to use.
    #[arg(long, default_value = "simple")]
    pub profile: String,
}

/// Arguments of `rcraft pull|build|stage|prime|clean`.
#[derive(Debug, Args)]
pub struct LifecycleArgs {
    /// Parts to run (default: all); the parts they are `after` run as far as needed.
    #[arg(value_name = "PART")]
    pub parts: Vec<String>,
    /// The platform to work on (default: the first one this machine builds).
    #[arg(long)]
    pub platform: Option<String>,
    /// Project directory (default: the current directory).
    #[arg(long, default_value = ".")]
    pub project_dir: PathBuf,
}

/// Arguments of `rcraft pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// Directory to write the .rock into (default: the current directory).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Build only this platform (a label under `platforms`).
    #[arg(long)]
    pub platform: Option<String>,
    /// Build only for this target architecture.
    #[arg(long, conflicts_with = "platform")]
    pub build_for: Option<String>,
    /// Project directory (default: the current directory).
    #[arg(long, default_value = ".")]
    pub project_dir: PathBuf,
    /// Pull base images from this registry instead of their own (e.g. `localhost:32000`;
    /// `ubuntu@24.04` is then `localhost:32000/ubuntu/ubuntu:24.04`, `debian@12`
    /// `localhost:32000/library/debian:bookworm`).
    #[arg(long, env = "RCRAFT_BASE_MIRROR", value_name = "REGISTRY")]
    pub base_mirror: Option<String>,
    /// Pin the base image to this manifest digest (`sha256:...`); the pull fails if the tag
    /// resolves to another image, and a pinned image already in the cache needs no network.
    #[arg(long, env = "RCRAFT_BASE_DIGEST", value_name = "DIGEST")]
    pub base_digest: Option<String>,
    /// Talk plain HTTP to the base image's registry even if it is not on this machine.
    #[arg(long)]
    pub insecure: bool,
    /// Debian archive mirror for `stage-packages` (default: this machine's apt sources).
    #[arg(long, env = "RCRAFT_ARCHIVE_MIRROR", value_name = "URL")]
    pub archive_mirror: Option<String>,
    /// Resolve `stage-packages` again and rewrite `rcraft.lock` (default: use the locked
    /// versions).
    #[arg(long)]
    pub update_lock: bool,
}

/// Arguments of `rcraft push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Where to push: `host[:port]/repo[:tag]` (the tag defaults to the rock's version).
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The .rock to push (default: the newest .rock in the current directory).
    #[arg(long, value_name = "FILE")]
    pub archive: Option<PathBuf>,
    /// Use plain HTTP even for a registry that is not on this machine.
    #[arg(long)]
    pub insecure: bool,
    /// User name for the registry (with --password-stdin).
    #[arg(long, requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the password (or token) from stdin.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

/// Entry point of the `rcraft` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = Printer::new(verbosity(&cli.global));
    match run(cli.command, &printer) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}", err.render());
            ExitCode::from(err.exit_status().code())
        }
    }
}

fn verbosity(args: &GlobalArgs) -> Verbosity {
    match args.verbosity {
        Some(VerbosityArg::Quiet) => Verbosity::Quiet,
        Some(VerbosityArg::Brief) => Verbosity::Normal,
        Some(VerbosityArg::Verbose | VerbosityArg::Debug | VerbosityArg::Trace) => {
            Verbosity::Verbose
        }
        None if args.quiet => Verbosity::Quiet,
        None if args.verbose => Verbosity::Verbose,
        None => Verbosity::Normal,
    }
}

fn run(command: Command, printer: &Printer) -> Result<(), Error> {
    match command {
        Command::Init(args) => init::run(args, printer),
        Command::Pack(args) => pack::run(args, printer),
        Command::Push(args) => push::run(args, printer),
        Command::Pull(args) => lifecycle::run(args, crate::lifecycle::Step::Pull, printer),
        Command::Build(args) => lifecycle::run(args, crate::lifecycle::Step::Build, printer),
        Command::Stage(args) => lifecycle::run(args, crate::lifecycle::Step::Stage, printer),
        Command::Prime(args) => lifecycle::run(args, crate::lifecycle::Step::Prime, printer),
        Command::Clean(args) => lifecycle::clean(args, printer),
        Command::ListExtensions => extensions::list(printer),
        Command::ExpandExtensions => extensions::expand(printer),
    }
}

/// The current directory, which every command resolves its paths against.
fn current_dir() -> Result<PathBuf, Error> {
    std::env::current_dir().map_err(|source| Error::Process {
        action: "read the current directory",
        source,
    })
}
