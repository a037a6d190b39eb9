//! The worker-server binary: rcraft's Pebble-compatible PID 1 for rocks.
//!
//! A thin `main` over [`rcraft::worker`]; it uses nothing else of the library, so the linker
//! keeps none of the CLI's dependencies (see `bench/worker-size.sh` for the static build).

fn main() {
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    std::process::exit(rcraft::worker::main(args));
}
