#!/usr/bin/env bash
# bench/image-sizes.sh: the size of each framework profile's image next to a plain Dockerfile
# build of the same app (issue 6).
#
# For flask, django, fastapi, go and expressjs: the app (examples/<profile>-framework/ when the
# repository has it, else a small hello app written here) is packed by `rcraft pack` with the
# profile's own defaults (`base: bare`, `build-base: debian@12`), and built by `buildah bud` from a
# plain, typical Dockerfile FROM the bench's seeded Debian bookworm base (minbase + python3 +
# ca-certificates, see bench/lib.sh): python apps apt-get install python3-pip and
# `pip install -r requirements.txt`; go builds in a golang-go stage and copies the binary onto the
# base; express apt-get installs nodejs and npm and runs `npm install`. Sizes are what podman
# reports (uncompressed). The table goes to stdout and to bench/results/image-sizes-<UTC time>.md.
#
# Run (as root, after scripts/setup-test-env.sh):
#   bench/image-sizes.sh                 # all five
#   PROFILES="flask go" bench/image-sizes.sh
# It removes the images it built and its temp dir; the seeded base stays cached (see lib.sh).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

PROFILES=${PROFILES:-flask django fastapi go expressjs}
RESULTS_DIR=${RESULTS_DIR:-$BENCH_DIR/results}

bench_require cargo podman buildah skopeo umoci mmdebstrap uv go npm python3 git
[ "$(id -u)" = 0 ] || bench_die "run as root (buildah and podman use the system storage)"
bench_build_rcraft
bench_tmpdir
RUN_ID=rcraft-bench-sizes-$$
export RCRAFT_CACHE_DIR=$BENCH_CACHE/rcraft
mkdir -p "$RCRAFT_CACHE_DIR"
bench_seed_base
bench_base_to_storage
bench_defer bench_rm_base_descendants

# Package indexes of this machine's configuration, handed to the Dockerfile builds.
PIP_INDEX=${PIP_INDEX_URL:-$(python3 -m pip config get global.index-url 2>/dev/null || true)}
NPM_REGISTRY=$(npm config get registry 2>/dev/null || true)

# write_app PROFILE DIR: the app's files (no rockcraft.yaml).
write_app() {
  local p=$1 d=$2
  case $p in
    flask)
      printf 'Flask\n' >"$d/requirements.txt"
      cat >"$d/app.py" <<'EOF'
import flask

app = flask.Flask(__name__)


@app.route("/")
def index():
    return "Hello from Flask\n"
EOF
      ;;
    fastapi)
      printf 'fastapi\nuvicorn\n' >"$d/requirements.txt"
      cat >"$d/app.py" <<'EOF'
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def root():
    return {"message": "Hello from FastAPI"}
EOF
      ;;
    django)
      printf 'Django\n' >"$d/requirements.txt"
      mkdir -p "$d/bench_django/bench_django"
      cat >"$d/bench_django/manage.py" <<'EOF'
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench_django.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
EOF
      : >"$d/bench_django/bench_django/__init__.py"
      cat >"$d/bench_django/bench_django/settings.py" <<'EOF'
SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bench_django.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
WSGI_APPLICATION = "bench_django.wsgi.application"
EOF
      cat >"$d/bench_django/bench_django/urls.py" <<'EOF'
from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("", lambda request: HttpResponse("Hello from Django\n"))]
EOF
      cat >"$d/bench_django/bench_django/wsgi.py" <<'EOF'
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench_django.settings")
application = get_wsgi_application()
EOF
      ;;
    go)
      printf 'module bench-go\n\ngo 1.19\n' >"$d/go.mod"
      cp "$BENCH_REPO/examples/go-hello/main.go" "$d/main.go"
      ;;
    expressjs)
      mkdir -p "$d/app"
      cat >"$d/app/package.json" <<'EOF'
{
  "name": "bench-expressjs",
  "version": "0.1.0",
  "main": "server.js",
  "scripts": { "start": "node server.js" },
  "dependencies": { "express": "^4.21.2" },
  "license": "MIT"
}
EOF
      cat >"$d/app/server.js" <<'EOF'
const express = require("express");

const app = express();
app.get("/", (req, res) => res.send("Hello from Express\n"));
app.listen(8080, () => console.log("listening on :8080"));
EOF
      ;;
    *) bench_die "unknown profile $p" ;;
  esac
}

# write_dockerfile PROFILE DIR: a plain Dockerfile for the app in DIR.
write_dockerfile() {
  local p=$1 d=$2 cmd
  case $p in
    flask) cmd='["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]' ;;
    fastapi) cmd='["uvicorn", "--host", "0.0.0.0", "--port", "8000", "app:app"]' ;;
    django) cmd='["gunicorn", "--bind", "0.0.0.0:8000", "--chdir", "/app/bench_django", "bench_django.wsgi:application"]' ;;
  esac
  case $p in
    flask | fastapi | django)
      [ "$p" = fastapi ] || printf 'gunicorn\n' >>"$d/requirements.txt"
      cat >"$d/Dockerfile" <<EOF
FROM $BENCH_BASE_IMAGE
RUN apt-get update && apt-get install -y --no-install-recommends python3-pip && rm -rf /var/lib/apt/lists/*
ARG PIP_CERT
ARG PIP_INDEX_URL
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --break-system-packages --root-user-action=ignore -r requirements.txt
COPY . .
EXPOSE 8000
CMD $cmd
EOF
      ;;
    go)
      cat >"$d/Dockerfile" <<EOF
FROM $BENCH_BASE_IMAGE AS build
RUN apt-get update && apt-get install -y --no-install-recommends golang-go && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app .

FROM $BENCH_BASE_IMAGE
COPY --from=build /out/app /usr/local/bin/app
EXPOSE 8080
CMD ["/usr/local/bin/app"]
EOF
      ;;
    expressjs)
      cat >"$d/Dockerfile" <<EOF
FROM $BENCH_BASE_IMAGE
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
ARG NODE_EXTRA_CA_CERTS
ARG NPM_CONFIG_REGISTRY
WORKDIR /app
COPY app/package.json .
RUN npm install --omit=dev --no-audit --no-fund
COPY app/ .
EXPOSE 8080
CMD ["node", "server.js"]
EOF
      ;;
  esac
}

declare -A ROCK_SIZE DOCKER_SIZE SOURCE
FAILED=""
for p in $PROFILES; do
  work=$BENCH_TMP/$p
  mkdir -p "$work/rock" "$work/docker"
  example=$BENCH_REPO/examples/$p-framework
  if [ -d "$example" ]; then
    cp -a "$example/." "$work/rock/"
    SOURCE[$p]="examples/$p-framework"
  else
    write_app "$p" "$work/rock"
    SOURCE[$p]="inline hello app"
  fi
  # The Dockerfile build gets the same app files (without rcraft's project file).
  (cd "$work/rock" && tar --exclude=./rockcraft.yaml --exclude=./.rcraft --exclude='./*.rock' -cf - .) |
    tar -C "$work/docker" -xf -
  name=bench-$p
  if [ ! -f "$work/rock/rockcraft.yaml" ]; then
    (cd "$work/rock" && "$RCRAFT" init --quiet --profile "$p-framework" --name "$name" >/dev/null)
  fi
  name=$(awk '/^name:/ { print $2; exit }' "$work/rock/rockcraft.yaml")
  sed -i -e 's/^base: .*/base: bare/' -e 's/^build-base: .*/build-base: debian@12/' "$work/rock/rockcraft.yaml"
  grep -q '^build-base: debian@12' "$work/rock/rockcraft.yaml" ||
    printf 'build-base: debian@12\n' >>"$work/rock/rockcraft.yaml"

  bench_log "$p: rcraft pack (base: bare, build-base: debian@12)"
  # A failed pack is reported in the table (and by the exit status), the other profiles go on.
  rc=0
  (cd "$work/rock" && "$RCRAFT" pack --quiet) >"$work/pack.log" 2>&1 || rc=$?
  if [ "$rc" = 0 ]; then
    rock=$(ls "$work/rock"/*.rock)
    skopeo copy --quiet "oci-archive:$rock" "containers-storage:localhost/$RUN_ID-$p:rock" >&2
    bench_defer "podman rmi -f 'localhost/$RUN_ID-$p:rock'"
    ROCK_SIZE[$p]=$(bench_image_size "localhost/$RUN_ID-$p:rock")
  else
    cat "$work/pack.log" >&2
    ROCK_SIZE[$p]="pack failed (exit $rc): $(grep -m 1 -E 'error' "$work/pack.log" | sed "s|$work/rock/||g")"
    FAILED="$FAILED $p"
  fi

  bench_log "$p: buildah bud of a plain Dockerfile"
  write_dockerfile "$p" "$work/docker"
  args=(-v "$BENCH_CA:$BENCH_CA_IN:ro" --build-arg "PIP_CERT=$BENCH_CA_IN"
    --build-arg "NODE_EXTRA_CA_CERTS=$BENCH_CA_IN")
  [ -z "$PIP_INDEX" ] || args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX")
  [ -z "$NPM_REGISTRY" ] || args+=(--build-arg "NPM_CONFIG_REGISTRY=$NPM_REGISTRY")
  bench_timed "$work/buildah.log" buildah bud --layers "${args[@]}" -t "localhost/$RUN_ID-$p:docker" "$work/docker" >/dev/null
  DOCKER_SIZE[$p]=$(bench_image_size "localhost/$RUN_ID-$p:docker")
done

mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
TABLE=$(
  echo "| profile | app | rcraft image (base: bare) | Dockerfile image (FROM bookworm + python3) | rcraft/Dockerfile |"
  echo "|---|---|---|---|---|"
  for p in $PROFILES; do
    rock=${ROCK_SIZE[$p]} ratio=-
    case $rock in
      *[!0-9]*) ;;
      *)
        ratio=$(awk -v a="$rock" -v b="${DOCKER_SIZE[$p]}" 'BEGIN { printf "%.2f", a / b }')
        rock="$rock ($(mb "$rock"))"
        ;;
    esac
    printf '| %s | %s | %s | %s (%s) | %s |\n' "$p-framework" "${SOURCE[$p]}" "$rock" \
      "${DOCKER_SIZE[$p]}" "$(mb "${DOCKER_SIZE[$p]}")" "$ratio"
  done
)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS_DIR"
OUT=$RESULTS_DIR/image-sizes-$STAMP.md
{
  echo "# bench/image-sizes.sh, $STAMP"
  echo
  bench_machine_info
  echo "- base of the Dockerfile builds: $BENCH_BASE_IMAGE ($BENCH_BASE_DIGEST), Debian bookworm minbase + $BENCH_BASE_PACKAGES"
  echo "- sizes: podman image inspect .Size (bytes, uncompressed)"
  echo
  echo "$TABLE"
} >"$OUT"
echo "$TABLE"
echo
echo "results: $OUT"
[ -z "$FAILED" ] || bench_die "rcraft pack failed for:$FAILED (see the table)"
