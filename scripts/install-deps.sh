#!/usr/bin/env bash
# Installs the Debian packages pare needs to build, test, fuzz (clang and its libFuzzer runtime)
# and benchmark.
# `scripts/install-deps.sh --bench` adds the benchmarks' packages, `--slurm` Slurm and munge for
# the Slurm test (tests/slurm/run.sh).
# Idempotent: when every package is present it prints nothing and calls no package manager.
set -euo pipefail

pkgs=(
    build-essential cmake pkg-config python3 sqlite3
    libsqlite3-dev libzstd-dev zlib1g-dev libjansson-dev libcjson-dev libcurl4-openssl-dev
    libutf8proc-dev libxxhash-dev libfaiss-dev libopenblas-dev liblapack-dev
    libomp-dev libcmocka-dev libyaml-dev
    # clang and its libFuzzer runtime build the fuzz harnesses (scripts/fuzz-ci.sh)
    clang libclang-rt-14-dev zstd
    # headless Chromium renders the page of pare report in its test; DejaVu gives it a font
    chromium fonts-dejavu-core
)
# `--bench`: also what the benchmarks need (the plain-Python pipeline pare is compared with).
if [ "${1:-}" = "--bench" ]; then
    pkgs+=(python3-faiss python3-numpy python3-zstandard python3-sklearn)
fi
# `--slurm`: a one-node Slurm cluster for tests/slurm/run.sh (slurmctld, slurmd, munged).
if [ "${1:-}" = "--slurm" ]; then
    pkgs+=(slurm-wlm munge)
fi
# Node.js runs ajv, the JSON Schema validator the tests check exports with, and
# kubernetes-models (with yaml), which validates deploy/k8s against the Kubernetes API schemas.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
root=$(cd "$(dirname "$0")/.." && pwd)
install_ajv() {
    [ -d "$root/.tools/node_modules/ajv" ] && [ -d "$root/.tools/node_modules/kubernetes-models" ] &&
        [ -d "$root/.tools/node_modules/yaml" ] && return 0
    echo "install-deps: installing ajv, kubernetes-models and yaml (npm) into .tools/" >&2
    npm install --prefix "$root/.tools" --no-audit --no-fund --silent ajv@8 kubernetes-models@4 \
        yaml@2 >/dev/null
}
if [ ${#missing[@]} -eq 0 ]; then
    install_ajv
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_ajv
