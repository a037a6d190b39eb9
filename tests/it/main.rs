//! rcraft's integration tests: one binary, one module per area.
//!
//! They run the real `rcraft` binary (`CARGO_BIN_EXE_rcraft`) in temporary directories and
//! assert what a user sees: exit codes, messages with positions, files written, and images that
//! real tools (umoci, skopeo, podman) accept. A missing tool fails the test with a message
//! naming it; nothing is skipped silently.

mod common;

// `rockcraft.yaml` loading: the table of bad files, warnings, positions.
mod project;

// Keys rcraft cannot honour yet stop pack before any work (nothing silently ignored).
mod unsupported;

// Exit codes of user mistakes through the binary (1 or 2, never 70).
mod exit_codes;

// Step caching (incremental packs) and `rcraft pull|build|stage|prime|clean`.
mod lifecycle;

// `rcraft init`, `list-extensions` and profile expansion.
mod init;

// `rcraft pack`: reproducibility, oracles (umoci, skopeo), podman, atomic output.
mod pack;

// Pinned digests of two rocks (bare and on a seeded base): the bytes never change by accident.
mod digest_pin;

// Packing on a base image (seeded cache, no registry).
mod base;

// `rcraft push` and the registry client, against a real registry (with fault injection).
mod faults;
mod push;
mod registry;

// Pulling a real Debian base (seeded with mmdebstrap, umoci, skopeo) and packing on it.
mod pull;
mod seed;

// `stage-packages` from the real Debian archive, run in podman.
mod debs;

// The python, go and npm plugins with the real toolchains, packed examples run under podman.
mod plugins;

// The worker-server binary (rcraft's Pebble): services, checks, signals, reaping, WEBSERVER_*.
mod worker;

// The blog's sync-vs-gevent experiment on an rcraft image, in podman.
mod story;

// Framework profiles: each example is what init writes; pack, podman run, HTTP answer as
// _daemon_ (all five on bare, flask on a pulled Debian base).
mod profiles_e2e;

// Framework profiles' missing-file and missing-dependency errors through `rcraft pack`.
mod profile_errors;
