#!/usr/bin/env bash
# The main job, from a fresh clone on a fresh Debian/Ubuntu machine with a Rust toolchain:
#   scripts/pack-example.sh [rcraft pack flags, e.g. --output DIR]
# Installs the example's payload (Debian's busybox-static), builds rcraft and packs
# examples/busybox into busybox-hello_0.1_amd64.rock in the current directory.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  as_root=""; [ "$(id -u)" = 0 ] || as_root=sudo
  $as_root apt-get update -q >&2
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static >&2
fi
cargo build --release --locked --manifest-path "$repo/Cargo.toml" --bin rcraft >&2
RCRAFT_WORKER_SERVER=$("$repo/scripts/build-worker.sh")
export RCRAFT_WORKER_SERVER
exec "$repo/target/release/rcraft" pack --project-dir "$repo/examples/busybox" "$@"
