#!/usr/bin/env bash
# Builds the static worker-server that `rcraft pack` puts in every image, and prints its path.
# It must be static (it runs on bare images with no libc): glibc's static libc with
# `+crt-static`, the size-optimised `worker` profile, an explicit target so that build
# scripts and proc-macros stay dynamic.
#   scripts/build-worker.sh        # -> target/x86_64-unknown-linux-gnu/worker/worker-server
set -euo pipefail
cd "$(dirname "$0")/.."
triple="$(uname -m)-unknown-linux-gnu"
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --quiet --locked --profile worker --bin worker-server --target "$triple" >&2
target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir="$(pwd)/$target_dir" ;; esac
echo "$target_dir/$triple/worker/worker-server"
