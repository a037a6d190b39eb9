#!/usr/bin/env bash
# bench/compare.sh: rcraft against buildah and skopeo on the blog's Flask app (issue 7).
#
# What it measures, all on the same base (Debian bookworm minbase + python3 + ca-certificates,
# built once by mmdebstrap from this machine's apt mirror and cached in
# ${XDG_CACHE_HOME:-~/.cache}/rcraft-bench/):
#   (a) `rcraft pack` of `rcraft init --profile flask-framework` with `base: debian@12`, the base
#       pulled from the bench's own registry (`--base-mirror`);
#   (b) `buildah bud --layers` of a Dockerfile that runs apt-get + `pip install` (bench/Dockerfile.pip);
#   (c) `buildah bud --layers` of a Dockerfile that only copies dependencies staged on the host
#       by uv (bench/Dockerfile.copy); the uv staging has its own row.
# Cold builds start with empty build caches (rcraft's .rcraft/ removed; every image built FROM the
# base, i.e. buildah's layer cache, removed) and warm download caches (rcraft's $RCRAFT_CACHE_DIR
# and uv's cache; apt's and pip's caches in buildah cache mounts): each tool builds once unmeasured
# first to fill them. Warm builds follow an edit of app.py (a comment appended), build caches kept.
# Then `rcraft push` against `skopeo copy oci-archive:` of the same .rock, each into its own
# empty registry, and a re-push after an app.py edit; uploads are counted on the registry side
# (new files in its blob store). Then each image (a, b, c) is run under podman and must answer
# HTTP 200 on / (start-up time and resident memory are measured there), and `rcraft --version`.
# It prints one table (figures, rcraft/peer ratios, targets PASS/MISS) and writes it, with the
# machine's description, to bench/results/compare-<UTC time>.md.
#
# Run (as root, after scripts/setup-test-env.sh; nothing else to set up):
#   bench/compare.sh
# Repetitions (medians are reported): COLD_RUNS=1 WARM_RUNS=5 PUSH_RUNS=3 REPUSH_RUNS=3
# STARTUP_RUNS=3 VERSION_RUNS=21. BREAKDOWN=0 skips the per-step timing of rcraft pack.
# RESULTS_DIR=dir writes the results elsewhere.
#
# It cleans up what it starts: registries, containers, images it built, temp dirs. It keeps the
# caches: ~/.cache/rcraft-bench/ (base layout, rcraft cache, uv cache), the base image in
# containers storage (localhost/rcraft-bench-base:bookworm) and buildah's cache mounts
# /var/tmp/buildah-cache/rcraft-bench-* (apt and pip downloads of (b)).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

COLD_RUNS=${COLD_RUNS:-1}
WARM_RUNS=${WARM_RUNS:-5}
PUSH_RUNS=${PUSH_RUNS:-3}
REPUSH_RUNS=${REPUSH_RUNS:-3}
STARTUP_RUNS=${STARTUP_RUNS:-3}
VERSION_RUNS=${VERSION_RUNS:-21}
BREAKDOWN=${BREAKDOWN:-1}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}

LOAD_START=$(cut -d ' ' -f 1-3 /proc/loadavg)
bench_require cargo podman buildah skopeo umoci mmdebstrap docker-registry uv curl python3 git
[ "$(id -u)" = 0 ] || bench_die "run as root (buildah and podman use the system storage)"
bench_build_rcraft
bench_tmpdir
RUN_ID=rcraft-bench-$$
export RCRAFT_CACHE_DIR=$BENCH_CACHE/rcraft
export UV_CACHE_DIR=$BENCH_CACHE/uv
mkdir -p "$RCRAFT_CACHE_DIR" "$UV_CACHE_DIR"
LOGS=$BENCH_TMP/logs
mkdir -p "$LOGS"

# --- the base, in the bench registry and in containers storage ---------------------------------
bench_seed_base
bench_registry_start BASEREG
bench_base_push "localhost:$BASEREG_PORT"
bench_base_to_storage
bench_defer bench_rm_base_descendants

# --- the three projects -------------------------------------------------------------------------
APP_SRC=$BENCH_REPO/examples/python-flask
A=$BENCH_TMP/a B=$BENCH_TMP/b C=$BENCH_TMP/c
mkdir -p "$A" "$B" "$C"
for d in "$A" "$B" "$C"; do cp "$APP_SRC/app.py" "$APP_SRC/requirements.txt" "$d/"; done
(cd "$A" && "$RCRAFT" init --quiet --profile flask-framework --name blog >/dev/null)
sed -i -e 's/^base: .*/base: debian@12/' -e 's/^build-base: .*/build-base: debian@12/' "$A/rockcraft.yaml"
grep -q '^base: debian@12' "$A/rockcraft.yaml" || bench_die "rcraft init wrote no base: line to replace"
cp "$BENCH_DIR/Dockerfile.pip" "$B/Dockerfile"
cp "$BENCH_DIR/Dockerfile.copy" "$C/Dockerfile"
ROCK=$A/blog_0.1_amd64.rock
IMG_B=localhost/$RUN_ID-pip:latest
IMG_C=localhost/$RUN_ID-copy:latest
IMG_A=localhost/$RUN_ID-rcraft:0.1

pack_a() { (cd "$A" && "$RCRAFT" pack --quiet --base-mirror "localhost:$BASEREG_PORT"); }
build_b() {
  buildah bud --layers --quiet -v "$BENCH_CA:$BENCH_CA_IN:ro" --build-arg "PIP_CERT=$BENCH_CA_IN" \
    -t "$IMG_B" "$B"
}
build_c() { buildah bud --layers --quiet -t "$IMG_C" "$C"; }
# The host-side staging of (c): wheels for the base's python (3.11, glibc 2.36) into
# deps/lib/python3.11/dist-packages and the console scripts into deps/bin (COPY deps/ /usr/local/).
stage_c() {
  rm -rf "$C/deps"
  uv pip install --quiet --python /usr/bin/python3 --python-version 3.11 \
    --python-platform x86_64-manylinux_2_28 --only-binary :all: \
    --target "$C/deps/lib/python3.11/dist-packages" -r "$C/requirements.txt"
  mv "$C/deps/lib/python3.11/dist-packages/bin" "$C/deps/bin"
}
edit_app() { printf '# edit %s\n' "$(bench_now)" >>"$1/app.py"; }
# A cold build must not reuse a layer: buildah prints "Using cache" when it does.
check_no_cache() { ! grep -q 'Using cache' "$1" || bench_die "cold build used buildah's layer cache ($1)"; }

# --- fill the download caches (not measured) ------------------------------------------------------
bench_log "filling the download caches (one unmeasured build each)"
bench_timed "$LOGS/prime-a" pack_a >/dev/null
bench_timed "$LOGS/prime-b" build_b >/dev/null
bench_timed "$LOGS/prime-c-stage" stage_c >/dev/null

# --- cold builds --------------------------------------------------------------------------------
cold_a=() cold_b=() cold_c=() stage=()
for i in $(seq 1 "$COLD_RUNS"); do
  bench_log "cold builds ($i/$COLD_RUNS)"
  rm -rf "$A/.rcraft" "$ROCK"
  cold_a+=("$(bench_timed "$LOGS/cold-a-$i" pack_a)")
  stage+=("$(bench_timed "$LOGS/stage-c-$i" stage_c)")
  bench_rm_base_descendants
  cold_b+=("$(bench_timed "$LOGS/cold-b-$i" build_b)")
  check_no_cache "$LOGS/cold-b-$i"
  cold_c+=("$(bench_timed "$LOGS/cold-c-$i" build_c)")
  check_no_cache "$LOGS/cold-c-$i"
done
COLD_A=$(bench_median "${cold_a[@]}") COLD_B=$(bench_median "${cold_b[@]}")
COLD_C=$(bench_median "${cold_c[@]}") STAGE_C=$(bench_median "${stage[@]}")
COLD_C_ALL=$(awk -v a="$COLD_C" -v b="$STAGE_C" 'BEGIN { printf "%.3f", a + b }')

# --- warm builds after an app.py edit -----------------------------------------------------------
warm_a=() warm_b=() warm_c=() noop_a=()
for i in $(seq 1 "$WARM_RUNS"); do
  bench_log "warm builds after an app.py edit ($i/$WARM_RUNS)"
  edit_app "$A"
  edit_app "$B"
  edit_app "$C"
  warm_a+=("$(bench_timed "$LOGS/warm-a-$i" pack_a)")
  warm_b+=("$(bench_timed "$LOGS/warm-b-$i" build_b)")
  warm_c+=("$(bench_timed "$LOGS/warm-c-$i" build_c)")
  noop_a+=("$(bench_timed "$LOGS/noop-a-$i" pack_a)")
done
WARM_A=$(bench_median "${warm_a[@]}") WARM_B=$(bench_median "${warm_b[@]}")
WARM_C=$(bench_median "${warm_c[@]}") NOOP_A=$(bench_median "${noop_a[@]}")

# --- where rcraft pack spends its time (rcraft pack --verbose, each line time-stamped) ----------
# steps_of LOG: the ten longest steps (time from one progress line to the next) of a pack.
steps_of() {
  awk '$2 !~ /^[+ ]/ && $2 != "" { if (prev != "") d[prev] += $1 - t; prev = substr($0, index($0, " ") + 1); t = $1 }
    END { for (s in d) printf "%.3f %s\n", d[s], s }' "$1" | sort -gr | head -n 10 |
    awk '{ s = $1; $1 = ""; printf "| %s | %s |\n", substr($0, 2), s }'
}
stamp_pack() {
  printf '%s %s\n' "${EPOCHREALTIME/,/.}" "(rcraft pack starts)"
  (cd "$A" && "$RCRAFT" pack --verbose --base-mirror "localhost:$BASEREG_PORT" 2>&1) |
    while IFS= read -r line; do printf '%s %s\n' "${EPOCHREALTIME/,/.}" "$line"; done
  [ "${PIPESTATUS[0]}" = 0 ]
}
STEPS_COLD="" STEPS_WARM=""
if [ "$BREAKDOWN" = 1 ]; then
  bench_log "rcraft pack --verbose, step by step (cold, then warm after an edit)"
  rm -rf "$A/.rcraft" "$ROCK"
  stamp_pack >"$LOGS/steps-cold" || bench_die "rcraft pack --verbose failed ($LOGS/steps-cold)"
  edit_app "$A"
  stamp_pack >"$LOGS/steps-warm" || bench_die "rcraft pack --verbose failed ($LOGS/steps-warm)"
  STEPS_COLD=$(steps_of "$LOGS/steps-cold")
  STEPS_WARM=$(steps_of "$LOGS/steps-warm")
fi

# --- push: rcraft push vs skopeo copy, each into its own empty registry -------------------------
# uploaded VAR REGISTRY_DIR BEFORE: sets VAR to "blobs layers bytes" stored since BEFORE.
uploaded() { bench_registry_blobs "$2" >"$3.after"; printf -v "$1" '%s' "$(bench_blobs_new "$3" "$3.after")"; }
push_a=() push_s=()
for i in $(seq 1 "$PUSH_RUNS"); do
  bench_log "push into empty registries ($i/$PUSH_RUNS)"
  bench_registry_start RA
  bench_registry_start RS
  : >"$BENCH_TMP/empty"
  push_a+=("$(bench_timed "$LOGS/push-a-$i" "$RCRAFT" push "localhost:$RA_PORT/bench/blog-rcraft:0.1" --archive "$ROCK")")
  push_s+=("$(bench_timed "$LOGS/push-s-$i" skopeo copy --dest-tls-verify=false \
    --digestfile "$BENCH_TMP/skopeo-digest" "oci-archive:$ROCK" "docker://localhost:$RS_PORT/bench/blog-skopeo:0.1")")
  uploaded UP_A "$RA_DIR" "$BENCH_TMP/empty"
  uploaded UP_S "$RS_DIR" "$BENCH_TMP/empty"
  digest_a=$(sed -n 's/^Pushed .*@//p' "$LOGS/push-a-$i")
  digest_s=$(cat "$BENCH_TMP/skopeo-digest")
  [ "$digest_a" = "$digest_s" ] || bench_die "rcraft pushed $digest_a, skopeo $digest_s: not the same image"
  RCRAFT_SAYS=$(grep -E 'blobs uploaded' "$LOGS/push-a-$i" || true)
done
PUSH_A=$(bench_median "${push_a[@]}") PUSH_S=$(bench_median "${push_s[@]}")

repush_a=() repush_s=()
for i in $(seq 1 "$REPUSH_RUNS"); do
  bench_log "re-push after an app.py edit ($i/$REPUSH_RUNS)"
  edit_app "$A"
  bench_timed "$LOGS/repack-$i" pack_a >/dev/null
  bench_registry_blobs "$RA_DIR" >"$BENCH_TMP/ra.before"
  bench_registry_blobs "$RS_DIR" >"$BENCH_TMP/rs.before"
  repush_a+=("$(bench_timed "$LOGS/repush-a-$i" "$RCRAFT" push "localhost:$RA_PORT/bench/blog-rcraft:0.1" --archive "$ROCK")")
  repush_s+=("$(bench_timed "$LOGS/repush-s-$i" skopeo copy --dest-tls-verify=false \
    "oci-archive:$ROCK" "docker://localhost:$RS_PORT/bench/blog-skopeo:0.1")")
  uploaded REUP_A "$RA_DIR" "$BENCH_TMP/ra.before"
  uploaded REUP_S "$RS_DIR" "$BENCH_TMP/rs.before"
  RCRAFT_SAYS_RE=$(grep -E 'blobs uploaded' "$LOGS/repush-a-$i" || true)
done
REPUSH_A=$(bench_median "${repush_a[@]}") REPUSH_S=$(bench_median "${repush_s[@]}")
# How much of rcraft push happens before it talks to the registry: one more push (nothing new).
PUSH_START_S=""
if [ "$BREAKDOWN" = 1 ]; then
  t0=$(bench_now)
  "$RCRAFT" push --verbose "localhost:$RA_PORT/bench/blog-rcraft:0.1" --archive "$ROCK" 2>&1 |
    while IFS= read -r line; do printf '%s %s\n' "${EPOCHREALTIME/,/.}" "$line"; done >"$LOGS/push-stamped"
  PUSH_START_S=$(awk -v t0="$t0" 'NR == 1 { printf "%.3f", $1 - t0 }' "$LOGS/push-stamped")
  PUSH_ALL_S=$(bench_since "$t0")
fi

# --- run each image: HTTP 200 on /, start-up, memory --------------------------------------------
bench_log "running the three images (each must answer 200 on /)"
skopeo copy --quiet "oci-archive:$ROCK" "containers-storage:$IMG_A" >&2
bench_defer "podman rmi -f '$IMG_A'"
SIZE_A=$(bench_image_size "$IMG_A") SIZE_B=$(bench_image_size "$IMG_B") SIZE_C=$(bench_image_size "$IMG_C")
ROCK_BYTES=$(stat -c %s "$ROCK")
declare -A PORT_S OK_S RSS1 RSS
for x in a b c; do
  case $x in a) img=$IMG_A ;; b) img=$IMG_B ;; c) img=$IMG_C ;; esac
  ps_=() oks=() r1=() r=()
  for i in $(seq 1 "$STARTUP_RUNS"); do
    bench_serve_check "$RUN_ID-run-$x" "$img" 8000
    ps_+=("$SERVE_PORT_S") oks+=("$SERVE_200_S") r1+=("$SERVE_RSS1_KB") r+=("$SERVE_RSS_KB")
  done
  PORT_S[$x]=$(bench_median "${ps_[@]}") OK_S[$x]=$(bench_median "${oks[@]}")
  RSS1[$x]=$(bench_median "${r1[@]}") RSS[$x]=$(bench_median "${r[@]}")
done

# --- rcraft --version ----------------------------------------------------------------------------
vs=()
for _ in $(seq 1 "$VERSION_RUNS"); do
  t0=$(bench_now)
  "$RCRAFT" --version >/dev/null
  vs+=("$(awk -v a="$t0" -v b="$(bench_now)" 'BEGIN { printf "%.3f", (b - a) * 1000 }')")
done
VERSION_MS=$(bench_median "${vs[@]}")

# --- the table -----------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
mb() { awk -v b="$1" 'BEGIN { if (b < 1e6) printf "%d B", b; else printf "%.1f MB", b / 1e6 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo MISS; fi; }
blobs() { # "blobs layers bytes" -> readable
  local n l b
  read -r n l b <<<"$1"
  printf '%s blobs (%s layers), %s' "$n" "$l" "$(mb "$b")"
}
read -r _ REUP_A_LAYERS _ <<<"$REUP_A"
T_WARM=$(verdict "$WARM_A < 0.3 && $WARM_A <= $WARM_B")
T_COLD=$(verdict "$COLD_A <= 0.15 * $COLD_B")
T_PUSH=$(verdict "$PUSH_A <= 1.0 * $PUSH_S")
T_REPUSH=$(verdict "$REUP_A_LAYERS == 1")

TABLE=$(cat <<EOF
| figure | rcraft | peer | peer figure | rcraft/peer | target | result |
|---|---|---|---|---|---|---|
| cold build, s ($COLD_RUNS run) | $COLD_A | (b) buildah, Dockerfile with pip install | $COLD_B | $(ratio "$COLD_A" "$COLD_B") | ≤ 0.15× (b) | $T_COLD |
| cold build, s | $COLD_A | (c) buildah, COPY of uv-staged deps, build only | $COLD_C | $(ratio "$COLD_A" "$COLD_C") | | |
| cold build, s | $COLD_A | (c) uv staging on the host + build | $COLD_C_ALL | $(ratio "$COLD_A" "$COLD_C_ALL") | | |
| (c)'s uv staging alone, s (warm uv cache) | | (c) uv pip install --target | $STAGE_C | | | |
| warm re-build after an app.py edit, s (median of $WARM_RUNS) | $WARM_A | (b) buildah --layers | $WARM_B | $(ratio "$WARM_A" "$WARM_B") | < 0.3 s and ≤ (b) | $T_WARM |
| warm re-build after an app.py edit, s | $WARM_A | (c) buildah --layers (deps not re-staged) | $WARM_C | $(ratio "$WARM_A" "$WARM_C") | | |
| re-pack with nothing changed, s (median of $WARM_RUNS) | $NOOP_A | | | | | |
| image size (podman), bytes | $SIZE_A ($(mb "$SIZE_A")) | (b) | $SIZE_B ($(mb "$SIZE_B")) | $(ratio "$SIZE_A" "$SIZE_B") | | |
| image size (podman), bytes | $SIZE_A ($(mb "$SIZE_A")) | (c) | $SIZE_C ($(mb "$SIZE_C")) | $(ratio "$SIZE_A" "$SIZE_C") | | |
| .rock archive (compressed), bytes | $ROCK_BYTES ($(mb "$ROCK_BYTES")) | | | | | |
| push into an empty registry, s (median of $PUSH_RUNS) | $PUSH_A | skopeo copy oci-archive: | $PUSH_S | $(ratio "$PUSH_A" "$PUSH_S") | ≤ 1.0× skopeo | $T_PUSH |
| push: stored by the registry | $(blobs "$UP_A") | skopeo | $(blobs "$UP_S") | | | |
| re-push after an app.py edit, s (median of $REPUSH_RUNS) | $REPUSH_A | skopeo copy oci-archive: | $REPUSH_S | $(ratio "$REPUSH_A" "$REPUSH_S") | | |
| re-push: stored by the registry (last run) | $(blobs "$REUP_A") | skopeo | $(blobs "$REUP_S") | | 1 layer blob (+ config, manifest) | $T_REPUSH |
| start-up: podman run -d → port 8000 accepts, s (median of $STARTUP_RUNS) | ${PORT_S[a]} | (b) / (c) gunicorn as PID 1 | ${PORT_S[b]} / ${PORT_S[c]} | $(ratio "${PORT_S[a]}" "${PORT_S[b]}") (vs b) | | |
| start-up: podman run -d → first HTTP 200, s (the route sleeps 2 s) | ${OK_S[a]} | (b) / (c) | ${OK_S[b]} / ${OK_S[c]} | $(ratio "${OK_S[a]}" "${OK_S[b]}") (vs b) | | |
| resident memory of PID 1 (VmRSS) | $(mib "${RSS1[a]}") (worker-server) | (b) / (c) gunicorn master | $(mib "${RSS1[b]}") / $(mib "${RSS1[c]}") | | | |
| resident memory, all processes of the container | $(mib "${RSS[a]}") | (b) / (c) | $(mib "${RSS[b]}") / $(mib "${RSS[c]}") | $(ratio "${RSS[a]}" "${RSS[b]}") (vs b) | | |
| rcraft --version, ms (median of $VERSION_RUNS) | $VERSION_MS | | | | | |
EOF
)

NOTES=$(cat <<EOF
- Same base for all: Debian bookworm minbase + python3 + ca-certificates (mmdebstrap, one layer),
  manifest $BENCH_BASE_DIGEST; (a) pulls it from the bench registry as library/debian:bookworm,
  (b) and (c) build FROM it in containers storage ($BENCH_BASE_IMAGE).
- Cold: rcraft's .rcraft/ removed; every image built FROM the base (buildah's --layers cache)
  removed. Download caches warm, each filled by one unmeasured build: rcraft's \$RCRAFT_CACHE_DIR
  (base blobs, uv cache), uv's cache for (c)'s staging, apt's archives and lists and pip's cache in
  buildah cache mounts for (b) (apt-get update still asks the mirror whether the lists changed).
  (c)'s "build only" row assumes the deps are already staged; the staging row is measured from an
  empty target directory with uv's cache warm.
- Warm: a comment appended to app.py, each tool's build cache kept; (c) does not re-stage (deps
  unchanged). "Nothing changed" is a second rcraft pack right after a warm one.
- Push: rcraft push and skopeo copy of the same .rock (same manifest digest checked), each into its
  own freshly started, empty registry (so both upload the base layer too); the re-push goes to the same
  repository after an app.py edit and rcraft pack. "Stored by the registry" counts the new files in the
  registry's blob store (manifests, configs and layers alike), the same way for both tools.
  rcraft's own account of the last push: "${RCRAFT_SAYS:-none}"; of the last re-push: "${RCRAFT_SAYS_RE:-none}".
- Start-up: from \`podman run -d\` to the first accepted TCP connection on the published port 8000
  (polled by connecting only), then one GET / (2 s inside the app) that must answer 200; (a)'s PID 1
  is rcraft's worker-server, which starts gunicorn; (b) and (c) run gunicorn -k gevent directly.
  Memory: VmRSS of the container's PID 1 and the sum over its processes, read from /proc after the 200.
EOF
)

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS_DIR"
OUT=$RESULTS_DIR/compare-$STAMP.md
{
  echo "# bench/compare.sh, $STAMP"
  echo
  bench_machine_info
  echo "- load average when the bench started: $LOAD_START"
  echo "- runs: COLD_RUNS=$COLD_RUNS WARM_RUNS=$WARM_RUNS PUSH_RUNS=$PUSH_RUNS REPUSH_RUNS=$REPUSH_RUNS STARTUP_RUNS=$STARTUP_RUNS VERSION_RUNS=$VERSION_RUNS"
  echo
  echo "$TABLE"
  echo
  echo "$NOTES"
  if [ "$BREAKDOWN" = 1 ]; then
    echo
    echo "## Where rcraft pack spends its time"
    echo
    cat <<'EOF'
`rcraft pack --verbose`, each line time-stamped as it arrives; the time is from that line to
the next, i.e. the work done right after it was printed (a "part '...': N paths identical"
line is followed by the writing of that part's layer). The ten longest.
EOF
    echo
    echo "Cold (no .rcraft/, download caches warm):"
    echo
    echo "| progress line | s until the next line |"
    echo "|---|---|"
    echo "$STEPS_COLD"
    echo
    echo "Warm, after an app.py edit:"
    echo
    echo "| progress line | s until the next line |"
    echo "|---|---|"
    echo "$STEPS_WARM"
    echo
    echo "rcraft push --verbose of an image the registry already has: $PUSH_START_S s from the start"
    echo "to its first line (\"Pushing ...\", before any request), $PUSH_ALL_S s in all."
  fi
} >"$OUT"
echo "$TABLE"
echo
echo "results: $OUT"
