#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh Debian/Ubuntu machine:
#   scripts/test.sh
# Installs and configures the tools the tests use (scripts/setup-test-env.sh), checks
# formatting and lints, then runs every test (unit and integration, including the podman,
# skopeo and umoci end-to-end tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-env.sh
command -v cargo >/dev/null || { echo "cargo is not installed (https://rustup.rs)" >&2; exit 1; }
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
# The images the tests pack carry the static worker-server, as users' images do.
RCRAFT_WORKER_SERVER=$(scripts/build-worker.sh)
export RCRAFT_WORKER_SERVER
cargo test --locked --all-targets
