#!/usr/bin/env bash
# Provides uv and CPython 3.13.5 on this machine, then prints the PATH to use.
#
#   eval "$(bash scripts/toolchain.sh)"     # exports PATH for the current shell
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
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

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
  local pkgs="build-essential libssl-dev zlib1g-dev libffi-dev libsqlite3-dev libbz2-dev liblzma-dev libreadline-dev uuid-dev libncurses-dev libpq-dev xz-utils"
  local missing="" p
  for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
  done
  [ -z "$missing" ] && return
  say "installing build dependencies:$missing"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
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
  say "building CPython $PY_VERSION into $PY_PREFIX (a few minutes, once per machine)"
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
  if [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; then
    say "installing a C compiler and libpq headers for psycopg2"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential libpq-dev >&2
  else
    say "psycopg2 builds from source: install a C compiler and libpq's headers (Debian: build-essential libpq-dev)"
    exit 1
  fi
}

ensure_uv
ensure_python
ensure_psycopg2_build_deps
say "uv $(uv --version | cut -d' ' -f2), python $(uv python find "$PY_VERSION")"
printf 'export PATH=%q\n' "$PATH"
