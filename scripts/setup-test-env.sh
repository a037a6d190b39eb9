#!/usr/bin/env bash
# Installs and configures what rcraft's test suite needs on a fresh Debian/Ubuntu machine:
# podman (with runc), skopeo and umoci (independent OCI oracles), busybox-static (a static
# binary to put in test images), docker-registry and apache2-utils (registry tests), mmdebstrap
# and debian-archive-keyring (a Debian base image for the pull tests).
# Idempotent: a second run installs nothing and rewrites the same config.
# Runs as root, or re-executes itself with sudo.
set -euo pipefail
[ "$(id -u)" = 0 ] || exec sudo -E "$0" "$@"

MARK="# written by rcraft scripts/setup-test-env.sh"
PKGS="podman runc skopeo umoci busybox-static docker-registry apache2-utils mmdebstrap debian-archive-keyring curl ca-certificates"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "setup: installing$missing" >&2
  apt-get update -q >&2
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

echo "setup: podman $(podman version --format '{{.Client.Version}}'), skopeo $(skopeo --version | awk '{print $3}'), umoci $(umoci --version | awk '{print $3}')" >&2
