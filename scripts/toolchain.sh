#!/usr/bin/env bash
# Provides uv and CPython 3.13.5 on this machine, then prints the PATH to use.
#
#   eval "$(bash scripts/toolchain.sh)"            # exports PATH for the current shell
#   eval "$(bash scripts/toolchain.sh --browser)"  # the same, and Chromium for the browser tests
#   eval "$(bash scripts/toolchain.sh --bench)"    # the same, and wrk and PgBouncer for make bench
#
# These machines reach the package registries but not the internet, so
# `uv python install` cannot download an interpreter. The fallback builds
# 3.13.5 from Debian 13's source package (python3.13 in trixie is upstream
# 3.13.5) and caches it, so only the first run on a machine pays ~3 minutes.
# Everything it says goes to stderr; stdout carries only the export line.
set -euo pipefail

PY_VERSION=3.13.5
UV_VERSION=0.13.9
CACHE=${APPCONFIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/appconfig}
PY_PREFIX=$CACHE/python-$PY_VERSION
UV_PREFIX=$CACHE/uv-$UV_VERSION

say() { printf 'toolchain: %s\n' "$*" >&2; }

# Debian packages this script cannot do without: installed with apt when we are root or
# have sudo; otherwise named, with the command that installs them, and we stop.
apt_install() {
  local why=$1
  shift
  local missing="" p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
  done
  [ -z "$missing" ] && return
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=sudo
    else
      say "$why needs these Debian packages:$missing"
      say "install them as root, then run this again: apt-get install$missing"
      exit 1
    fi
  fi
  say "installing$missing ($why)"
  $sudo apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
}

ensure_uv() {
  if command -v uv >/dev/null 2>&1; then return; fi
  export PATH=$UV_PREFIX/bin:$PATH
  if command -v uv >/dev/null 2>&1; then return; fi
  say "installing uv $UV_VERSION from the package index into $UV_PREFIX"
  python3 -m venv "$UV_PREFIX"
  "$UV_PREFIX/bin/pip" install --quiet "uv==$UV_VERSION" >&2
}

# The mirror this machine already uses, read from its apt configuration so that
# no host name is written into the repository.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/debian.sources; do
    [ -f "$f" ] && awk '$1 == "URIs:" { print $2; exit }' "$f" && return
  done
  awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null
}

ensure_build_deps() {
  apt_install "building Python $PY_VERSION" build-essential libssl-dev zlib1g-dev libffi-dev libsqlite3-dev \
    libbz2-dev liblzma-dev libreadline-dev uuid-dev libncurses-dev libpq-dev xz-utils
}

build_python() {
  local mirror src
  mirror=$(debian_mirror)
  [ -n "$mirror" ] || { say "no Debian mirror configured in /etc/apt; cannot fetch python3.13 sources"; exit 1; }
  ensure_build_deps
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb-src $mirror trixie main" >"$work/sources.list"
  local apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User="$(id -un)" -qq)
  say "fetching Debian's python3.13 source package (trixie)"
  apt-get "${apt_opts[@]}" update >&2
  (cd "$work" && apt-get "${apt_opts[@]}" source --download-only python3.13 >&2)
  src=$(ls "$work"/python3.13_"$PY_VERSION".orig.tar.* 2>/dev/null | head -n 1)
  [ -n "$src" ] || { say "trixie's python3.13 is not $PY_VERSION: $(ls "$work")"; exit 1; }
  tar -xf "$src" -C "$work"
  say "building CPython $PY_VERSION into $PY_PREFIX (about 4 minutes, once per user)"
  (cd "$work"/Python-"$PY_VERSION" \
    && ./configure --quiet --prefix="$PY_PREFIX" --with-ensurepip=install >&2 \
    && make --quiet -j"$(nproc)" >"$work/build.log" 2>&1 \
    && make --quiet install >>"$work/build.log" 2>&1) \
    || { tail -n 40 "$work/build.log" >&2; exit 1; }
  "$PY_PREFIX/bin/python3.13" -c 'import ssl, sqlite3, ctypes, lzma, bz2, readline, zlib' \
    || { say "the built interpreter lacks a standard module"; exit 1; }
}

ensure_python() {
  export PATH=$PY_PREFIX/bin:$PATH
  if uv python find "$PY_VERSION" >/dev/null 2>&1; then return; fi
  if timeout 60 uv python install "$PY_VERSION" >/dev/null 2>&1; then return; fi
  build_python
  uv python find "$PY_VERSION" >/dev/null
}

# psycopg2 builds from source: it needs a C compiler and libpq's headers (pg_config).
ensure_psycopg2_build_deps() {
  command -v pg_config >/dev/null 2>&1 && command -v cc >/dev/null 2>&1 && return
  apt_install "psycopg2 (built from source)" build-essential libpq-dev
}

# The browser tests drive Debian's Chromium headless (tests never download a browser).
ensure_browser() {
  command -v chromium >/dev/null 2>&1 && return
  apt_install "the browser tests" chromium
}

# make bench drives the API with wrk and runs it behind PgBouncer too.
ensure_bench_tools() {
  command -v wrk >/dev/null 2>&1 && { command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; } && return
  apt_install "make bench" wrk pgbouncer
}

main() {
  ensure_uv
  ensure_python
  ensure_psycopg2_build_deps
  case "${1:-}" in
    --browser) ensure_browser ;;
    --bench) ensure_bench_tools ;;
  esac
  # A JSON log stream (make run with LOG_FORMAT=json) gets no line that is not JSON.
  [ "${LOG_FORMAT:-}" = json ] || say "uv $(uv --version | cut -d' ' -f2), python $(uv python find "$PY_VERSION")"
  printf 'export PATH=%q\n' "$PATH"
}

# Sourced (by the tests), it only defines the functions.
if [ "${BASH_SOURCE[0]:-}" = "$0" ]; then main "$@"; fi
