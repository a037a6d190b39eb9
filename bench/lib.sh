# Shared shell functions of bench/compare.sh and bench/image-sizes.sh (source it, do not run it).
#
#   - tools: bench_require (a missing tool is an error that names scripts/setup-test-env.sh),
#     bench_build_rcraft (release rcraft + the static worker-server);
#   - clean-up: bench_defer CMD registers a command run at exit (last registered, first run),
#     bench_tmpdir makes the run's temp dir;
#   - the base: bench_seed_base builds a Debian bookworm minbase + python3 + ca-certificates
#     image once (mmdebstrap from this machine's apt mirror -> umoci) and caches it under
#     ${XDG_CACHE_HOME:-~/.cache}/rcraft-bench/; bench_base_push copies it to a registry as
#     library/debian:bookworm (what `rcraft pack --base-mirror` pulls for debian@12),
#     bench_base_to_storage puts it in podman/buildah storage as $BENCH_BASE_IMAGE (kept there
#     between runs, like the cache);
#   - registries: bench_registry_start (Debian's docker-registry on a free port, storage in the
#     temp dir), bench_registry_blobs (the blobs it stores, to count what a push uploaded);
#   - images: bench_rm_base_descendants (buildah's layer cache for builds FROM the base),
#     bench_image_size, bench_serve_check (run an image, wait for the port, expect HTTP 200);
#   - figures: bench_now, bench_median, bench_machine_info.
# shellcheck shell=bash
# shellcheck disable=SC2034 # variables set here are read by the scripts that source this file

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_DIR/.." && pwd)
BENCH_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/rcraft-bench
BENCH_BASE_IMAGE=localhost/rcraft-bench-base:bookworm
BENCH_BASE_PACKAGES=python3,ca-certificates
# The host's CA bundle (egress may be TLS-intercepted; containers do not trust that CA): mounted
# read-only into build containers at $BENCH_CA_IN.
BENCH_CA=/etc/ssl/certs/ca-certificates.crt
BENCH_CA_IN=/etc/rcraft-bench-ca.crt

bench_log() { printf 'bench: %s\n' "$*" >&2; }
bench_die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# bench_require TOOL...: every tool must be on PATH.
bench_require() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
  [ ${#missing[@]} -eq 0 ] ||
    bench_die "missing tool(s): ${missing[*]} (run scripts/setup-test-env.sh)"
}

# Clean-up stack, run on exit (also on error and Ctrl-C), last registered first.
BENCH_CLEANUP=()
bench_defer() { BENCH_CLEANUP+=("$1"); }
bench_cleanup() {
  local i
  for ((i = ${#BENCH_CLEANUP[@]} - 1; i >= 0; i--)); do
    eval "${BENCH_CLEANUP[i]}" >/dev/null 2>&1 || true
  done
  BENCH_CLEANUP=()
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# bench_tmpdir: sets BENCH_TMP to a fresh directory removed at exit.
bench_tmpdir() {
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rcraft-bench.XXXXXX")
  bench_defer "rm -rf '$BENCH_TMP'"
}

# bench_now: seconds since the epoch with microseconds (no fork).
bench_now() { printf '%s\n' "${EPOCHREALTIME/,/.}"; }
# bench_since T0: seconds elapsed since T0, 3 decimals.
bench_since() { awk -v a="$1" -v b="$(bench_now)" 'BEGIN { printf "%.3f\n", b - a }'; }
# bench_median X...: the median (mean of the middle two for an even count).
bench_median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit 1
    if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_timed LOG CMD...: runs CMD with its output in LOG; prints the wall time in seconds. On
# failure, shows the end of LOG and exits.
bench_timed() {
  local log=$1 t0 rc=0
  shift
  t0=$(bench_now)
  "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 30 "$log" >&2
    bench_die "failed (exit $rc): $* (log: $log)"
  fi
  bench_since "$t0"
}

# bench_free_port: a TCP port nobody listens on.
bench_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_wait_port PORT [TIMEOUT_S]: waits until 127.0.0.1:PORT accepts a TCP connection. Only
# connects, never sends HTTP (a request to the blog's app takes 2 s and would queue).
bench_wait_port() {
  local end
  end=$(awk -v n="$(bench_now)" -v t="${2:-60}" 'BEGIN { printf "%d\n", n + t }')
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ "${EPOCHREALTIME%.*}" -lt "$end" ] || return 1
    sleep 0.02
  done
}

# bench_build_rcraft: builds rcraft (release, --locked) and the static worker-server; sets
# RCRAFT and exports RCRAFT_WORKER_SERVER.
bench_build_rcraft() {
  bench_log "building rcraft (cargo build --release --locked) and the worker-server"
  (cd "$BENCH_REPO" && cargo build --quiet --release --locked) >&2
  RCRAFT=${CARGO_TARGET_DIR:-$BENCH_REPO/target}/release/rcraft
  case $RCRAFT in /*) ;; *) RCRAFT=$BENCH_REPO/$RCRAFT ;; esac
  RCRAFT_WORKER_SERVER=$("$BENCH_REPO/scripts/build-worker.sh")
  export RCRAFT_WORKER_SERVER
  [ -x "$RCRAFT" ] || bench_die "no rcraft binary at $RCRAFT"
  [ -x "$RCRAFT_WORKER_SERVER" ] || bench_die "no worker-server at $RCRAFT_WORKER_SERVER"
}

# bench_apt_mirror: the first Debian mirror of this machine's apt configuration.
bench_apt_mirror() {
  local m=""
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    m=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources)
  fi
  [ -n "$m" ] || m=$(awk '/^deb / { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' \
    /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || bench_die "no apt mirror in /etc/apt/sources.list(.d)"
  printf '%s\n' "$m"
}

# bench_seed_base: the base image as an OCI layout, built once and cached. Sets BENCH_BASE_LAYOUT
# (an umoci/skopeo `DIR:TAG` reference) and BENCH_BASE_DIGEST. The cache is keyed by the mirror and
# the package list; `rm -rf ~/.cache/rcraft-bench/base*` forces a rebuild.
bench_seed_base() {
  local mirror key dir tmp
  mirror=$(bench_apt_mirror)
  key="bookworm minbase $BENCH_BASE_PACKAGES $mirror"
  dir=$BENCH_CACHE/base
  if [ -f "$dir/key" ] && [ "$(cat "$dir/key")" = "$key" ] && [ -f "$dir/oci/index.json" ]; then
    bench_log "base image: cached in $dir"
  else
    bench_require mmdebstrap umoci
    bench_log "base image: mmdebstrap bookworm minbase + $BENCH_BASE_PACKAGES (once, cached in $dir)"
    mkdir -p "$BENCH_CACHE"
    tmp=$(mktemp -d "$BENCH_CACHE/base.new.XXXXXX")
    bench_defer "rm -rf '$tmp'"
    mmdebstrap --quiet --variant=minbase --include="$BENCH_BASE_PACKAGES" \
      bookworm "$tmp/rootfs.tar" "$mirror" </dev/null >&2
    umoci init --layout "$tmp/oci"
    umoci new --image "$tmp/oci:bookworm"
    umoci raw add-layer --image "$tmp/oci:bookworm" "$tmp/rootfs.tar"
    umoci config --image "$tmp/oci:bookworm" --os linux --architecture amd64 \
      --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      --config.cmd /bin/bash \
      --history.comment "mmdebstrap bookworm minbase + $BENCH_BASE_PACKAGES (rcraft bench)"
    umoci gc --layout "$tmp/oci"
    rm -f "$tmp/rootfs.tar"
    printf '%s\n' "$key" >"$tmp/key"
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  BENCH_BASE_LAYOUT=$dir/oci:bookworm
  BENCH_BASE_DIGEST=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
    "$dir/oci/index.json")
}

# bench_base_push HOST:PORT: copies the base to HOST:PORT/library/debian:bookworm.
bench_base_push() {
  skopeo copy --quiet --dest-tls-verify=false "oci:$BENCH_BASE_LAYOUT" \
    "docker://$1/library/debian:bookworm" >&2
}

# bench_base_to_storage: the base in containers storage as $BENCH_BASE_IMAGE (the Dockerfiles'
# FROM), copied again only when the cached base changed. It stays there after the run.
bench_base_to_storage() {
  local have
  have=$(podman image inspect --format '{{.Digest}}' "$BENCH_BASE_IMAGE" 2>/dev/null || true)
  if [ "$have" != "$BENCH_BASE_DIGEST" ]; then
    bench_log "base image: copying into containers storage as $BENCH_BASE_IMAGE"
    skopeo copy --quiet "oci:$BENCH_BASE_LAYOUT" "containers-storage:$BENCH_BASE_IMAGE" >&2
  fi
}

# bench_base_descendants: IDs of every image built on the base (tagged or intermediate, i.e.
# buildah's --layers cache for Dockerfiles FROM the base), children after their parents.
bench_base_descendants() {
  local base
  base=$(podman image inspect --format '{{.Id}}' "$BENCH_BASE_IMAGE")
  podman images -a -q --no-trunc | sort -u | xargs -r podman image inspect --format '{{.Id}} {{.Parent}}' |
    awk -v base="$base" '{ parent[$1] = $2 } END {
      known[base] = 1
      do { added = 0
        for (id in parent) if (!(id in known) && (parent[id] in known)) { known[id] = 1; order[++n] = id; added = 1 }
      } while (added)
      for (i = 1; i <= n; i++) print order[i] }'
}

# bench_rm_base_descendants: empties buildah's layer cache for builds FROM the base (and removes
# the images built from it). The base itself is kept.
bench_rm_base_descendants() {
  local ids
  ids=$(bench_base_descendants | tac)
  [ -z "$ids" ] && return 0
  # shellcheck disable=SC2086 # one word per image ID
  podman rmi -f $ids >/dev/null
}

# bench_registry_start NAME: starts docker-registry on a free port, storage under $BENCH_TMP;
# sets NAME_PORT, NAME_DIR (storage root) and NAME_PID, and stops it at exit.
bench_registry_start() {
  local name=$1 port dir pid i code
  port=$(bench_free_port)
  dir=$(mktemp -d "$BENCH_TMP/registry-$name.XXXXXX")
  cat >"$dir/config.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YML
  docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
  pid=$!
  bench_defer "kill $pid; wait $pid"
  for i in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
    [ "$code" = 200 ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/registry.log" >&2; bench_die "docker-registry exited"; }
    [ "$i" -lt 100 ] || bench_die "docker-registry did not answer on port $port"
    sleep 0.1
  done
  printf -v "${name}_PORT" '%s' "$port"
  printf -v "${name}_DIR" '%s' "$dir/data"
  printf -v "${name}_PID" '%s' "$pid"
}

# bench_registry_blobs DIR: one line per blob the registry stores: `DIGEST SIZE KIND`, KIND being
# manifest, config or layer. Blobs are shared by all repositories (a blob stored for one repository
# is not stored again), so compare two snapshots of one registry only for the same client.
bench_registry_blobs() {
  local root=$1/docker/registry/v2/blobs f kind
  [ -d "$root" ] || return 0
  find "$root" -type f -name data | sort | while IFS= read -r f; do
    kind=layer
    if [ "$(head -c 1 "$f")" = "{" ]; then
      if grep -q '"schemaVersion"' "$f"; then kind=manifest; else kind=config; fi
    fi
    printf '%s %s %s\n' "$(basename "$(dirname "$f")")" "$(stat -c %s "$f")" "$kind"
  done
}

# bench_blobs_new BEFORE AFTER: `N_TOTAL N_LAYERS BYTES` of the blobs in AFTER and not in BEFORE.
bench_blobs_new() {
  awk 'FILENAME == ARGV[1] { seen[$1] = 1; next } !($1 in seen) { n++; bytes += $2; if ($3 == "layer") l++ }
    END { printf "%d %d %d\n", n, l, bytes }' "$1" "$2"
}

# bench_image_size IMAGE: the size podman reports (bytes, uncompressed).
bench_image_size() { podman image inspect --format '{{.Size}}' "$1"; }

# bench_serve_check NAME IMAGE CONTAINER_PORT [PODMAN_RUN_ARGS...]: runs IMAGE detached
# (container NAME, removed at exit), waits for the port (TCP connect), then one GET / that must
# answer 200. Sets SERVE_PORT_S (run -> port accepts), SERVE_200_S (run -> first 200, the app's
# own response time included), SERVE_RSS1_KB (VmRSS of the container's PID 1) and SERVE_RSS_KB
# (all its processes).
bench_serve_check() {
  local name=$1 image=$2 cport=$3 port t0 code pid p rss hp
  shift 3
  port=$(bench_free_port)
  bench_defer "podman rm -f -t 0 '$name'"
  t0=$(bench_now)
  podman run -d --name "$name" -p "127.0.0.1:$port:$cport" "$@" "$image" >/dev/null
  bench_wait_port "$port" 60 || { podman logs "$name" >&2 || true; bench_die "$image: port $cport never opened"; }
  SERVE_PORT_S=$(bench_since "$t0")
  code=000
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    code=$(curl -s -o /dev/null -m 60 -w '%{http_code}' "http://127.0.0.1:$port/" || true)
    [ "$code" = 000 ] || break
    sleep 0.1 # accepted then reset: the app is not listening yet behind the port forward
  done
  SERVE_200_S=$(bench_since "$t0")
  [ "$code" = 200 ] || { podman logs "$name" >&2 || true; bench_die "$image answered $code on / (want 200)"; }
  pid=$(podman inspect --format '{{.State.Pid}}' "$name")
  SERVE_RSS1_KB=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
  rss=0
  for hp in $(podman top "$name" hpid | tail -n +2); do
    p=$(awk '/^VmRSS/ { print $2 }' "/proc/$hp/status" 2>/dev/null || echo 0)
    rss=$((rss + ${p:-0}))
  done
  SERVE_RSS_KB=$rss
  podman rm -f -t 0 "$name" >/dev/null
}

# bench_machine_info: markdown lines describing this machine and the tools' versions.
bench_machine_info() {
  local commit
  commit=$(git -C "$BENCH_REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$BENCH_REPO" diff --quiet HEAD 2>/dev/null || commit="$commit (with local changes)"
  cat <<EOF
- date (UTC): $(date -u +%Y-%m-%dT%H:%M:%SZ)
- machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")
- load average (1, 5, 15 min) when the results were written: $(cut -d ' ' -f 1-3 /proc/loadavg) (other work on the machine skews the figures)
- rcraft: $("$RCRAFT" --version) at commit $commit (release build)
- tools: podman $(podman version --format '{{.Client.Version}}'), buildah $(buildah --version | awk '{ print $3 }'), skopeo $(skopeo --version | awk '{ print $3 }'), umoci $(umoci --version | awk '{ print $3 }'), uv $(uv --version | awk '{ print $2 }'), docker-registry $(docker-registry --version 2>/dev/null | awk '{ print $3 }')
EOF
}
