#!/usr/bin/env bash
# Installs everything the tests need, idempotently: Rust tools from crates.io and, as later
# issues add them, Debian packages and the pinned npm hsd. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# Rust tools pinned to versions known to build on the project's toolchain.
CARGO_DENY_VERSION=0.20.2
CARGO_FUZZ_VERSION=0.13.2

install_cargo_tool() {
    local crate=$1 version=$2 probe=$3
    if command -v "$probe" >/dev/null 2>&1 && "$probe" --version 2>/dev/null | grep -q "$version"; then
        return 0
    fi
    log "installing $crate $version from crates.io (first run only)"
    cargo install --locked --quiet "$crate" --version "$version"
}

install_cargo_tool cargo-deny "$CARGO_DENY_VERSION" cargo-deny
install_cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION" cargo-fuzz

log "ready"
