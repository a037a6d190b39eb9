#!/usr/bin/env bash
# Installs rcraft and its static worker-server side by side into ~/.cargo/bin (or $1):
#   scripts/install.sh [BIN_DIR]
# `rcraft pack` finds the worker-server next to its own executable.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=${1:-${CARGO_HOME:-$HOME/.cargo}/bin}
cargo build --release --locked --bin rcraft >&2
worker=$(scripts/build-worker.sh)
install -D -m 0755 target/release/rcraft "$bin_dir/rcraft"
install -D -m 0755 "$worker" "$bin_dir/worker-server"
echo "installed $bin_dir/rcraft and $bin_dir/worker-server" >&2
