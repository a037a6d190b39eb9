#!/bin/sh
# Builds the static worker-server (glibc, `--profile worker`) and prints its size and the
# resident memory of `worker-server enter` supervising one `sleep` service.
#
#   bench/worker-size.sh            # uses $CARGO_TARGET_DIR or ./target
#
# The build command is the one the lead's packaging should use:
#   RUSTFLAGS="-C target-feature=+crt-static" \
#     cargo build --profile worker --bin worker-server --target x86_64-unknown-linux-gnu
set -eu
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --quiet --profile worker --bin worker-server --target x86_64-unknown-linux-gnu
bin=$target_dir/x86_64-unknown-linux-gnu/worker/worker-server

linkage=$(file -b "$bin" | grep -o 'static[-a-z]* linked' || echo "NOT static")
size=$(stat -c %s "$bin")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/layers"
cat > "$tmp/layers/001-bench.yaml" <<'YAML'
services:
  sleeper:
    override: replace
    startup: enabled
    command: sleep 1000
YAML
PEBBLE=$tmp "$bin" enter >"$tmp/out" 2>&1 &
pid=$!
sleep 2
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
threads=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" || true

echo "binary:    $bin ($linkage)"
echo "size:      $size bytes ($(awk "BEGIN {printf \"%.2f\", $size / 1048576}") MiB, stripped; goal < 2 MiB)"
echo "resident:  VmRSS $rss kB, peak VmHWM $hwm kB, $threads threads (goal < 5 MiB)"
