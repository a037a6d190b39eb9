#!/usr/bin/env bash
# Installs and configures what rcraft's test suite needs on a fresh Debian/Ubuntu machine:
# podman (with runc), skopeo and umoci (independent OCI oracles), buildah (the peer builds of
# bench/), busybox-static (a static binary to put in test images), docker-registry and
# apache2-utils (registry tests), mmdebstrap and debian-archive-keyring (a Debian base image for
# the pull tests and the benches), and the plugin tests'
# host toolchains: golang-go, python3-venv (for uv, installed from PyPI into
# /opt/rcraft-test/uv and linked as /usr/local/bin/uv), and node/npm (apt's nodejs and npm only
# when no npm is installed: a machine with another npm keeps it).
# Idempotent: a second run installs nothing and rewrites the same config.
# Runs as root, or re-executes itself with sudo.
set -euo pipefail
[ "$(id -u)" = 0 ] || exec sudo -E "$0" "$@"

MARK="# written by rcraft scripts/setup-test-env.sh"
PKGS="podman runc skopeo umoci buildah busybox-static docker-registry apache2-utils mmdebstrap debian-archive-keyring curl ca-certificates golang-go python3-venv"
command -v npm >/dev/null || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "setup: installing$missing" >&2
  apt-get update -q >&2
  # shellcheck disable=SC2086 # one word per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >&2
fi

# Podman on machines without systemd or with a hybrid cgroup layout: runc (crun rejects the
# hybrid layout), cgroupfs, file events, and rlimits below the hard limits (podman's defaults
# exceed them when the container engine lacks CAP_SYS_RESOURCE).
mkdir -p /etc/containers/containers.conf.d /etc/containers/registries.conf.d
CONF="$MARK
[containers]
default_ulimits = [\"nofile=1024:1024\", \"nproc=4096:4096\"]

[engine]
runtime = \"runc\"
cgroup_manager = \"cgroupfs\"
events_logger = \"file\""
printf '%s\n' "$CONF" > /etc/containers/containers.conf.d/50-rcraft-tests.conf
# Older podman ignores drop-ins: also write the main file unless another tool owns it.
if [ ! -e /etc/containers/containers.conf ] || grep -qF "$MARK" /etc/containers/containers.conf; then
  printf '%s\n' "$CONF" > /etc/containers/containers.conf
fi
# skopeo and podman refuse to work without a signature policy.
[ -e /etc/containers/policy.json ] || \
  printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' > /etc/containers/policy.json

# uv from PyPI (through the machine's pip configuration) in its own venv.
if ! command -v uv >/dev/null; then
  echo "setup: installing uv into /opt/rcraft-test/uv" >&2
  [ -x /opt/rcraft-test/uv/bin/python3 ] || /usr/bin/python3 -m venv /opt/rcraft-test/uv
  /opt/rcraft-test/uv/bin/python3 -m pip install --quiet uv >&2
  ln -sf /opt/rcraft-test/uv/bin/uv /usr/local/bin/uv
fi

echo "setup: uv $(uv --version | awk '{print $2}'), $(go version | awk '{print $3}'), node $(node --version), npm $(npm --version)" >&2
echo "setup: podman $(podman version --format '{{.Client.Version}}'), skopeo $(skopeo --version | awk '{print $3}'), umoci $(umoci --version | awk '{print $3}')" >&2
