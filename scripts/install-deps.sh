#!/usr/bin/env bash
# Installs the Debian packages pare needs to build, test and benchmark.
# Idempotent: when every package is present it prints nothing and calls no package manager.
set -euo pipefail

pkgs=(
    build-essential cmake pkg-config python3 sqlite3
    libsqlite3-dev libzstd-dev zlib1g-dev libjansson-dev libcurl4-openssl-dev
    libutf8proc-dev libxxhash-dev libfaiss-dev libopenblas-dev liblapack-dev
    libomp-dev libcmocka-dev
)

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
