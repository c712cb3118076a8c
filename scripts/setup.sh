#!/usr/bin/env bash
# Installs everything the tests need, idempotently: Rust tools from crates.io, Debian packages
# and the pinned npm packages (bns, hsd, buf). Safe to run again and again.
#   bash scripts/setup.sh        everything
#   bash scripts/setup.sh hsd    only what running a regtest hsd needs (demo-follower.sh)
#   bash scripts/setup.sh demo   hsd, bns, Knot, Unbound, dig/kdig (scripts/demo)
#   bash scripts/setup.sh buf    only the pinned buf CLI (scripts/buf.sh)
#   bash scripts/setup.sh alerts only promtool (scripts/check-alerts.sh)
#   bash scripts/setup.sh anycast hsd, BIRD, dig (loadtest/anycast-lab/run.sh)
set -euo pipefail
only=${1:-all}
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# Rust tools pinned to versions known to build on the project's toolchain.
CARGO_DENY_VERSION=0.20.2
CARGO_FUZZ_VERSION=0.13.2

# Installs the packages among "$@" that are missing (a leading --no-install-recommends is
# passed on). The package lists are updated only when an install fails (none yet, or stale),
# and then the install is tried once more.
apt_updated=0
apt_install() {
    local flags=() missing=()
    if [ "${1:-}" = --no-install-recommends ]; then flags+=("$1"); shift; fi
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${flags[@]}" "${missing[@]}" \
        >/dev/null 2>&1; then
        return 0
    fi
    if [ $apt_updated -eq 0 ]; then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${flags[@]}" "${missing[@]}" >/dev/null
}

# Packages that ship a system service the tests must never run (the tests start their own on
# loopback with private configs and temp dirs): a policy-rc.d that denies service starts is in
# place while installing (Docker images ship one already), and a booted systemd gets the units
# ($1, space-separated) stopped and disabled. The other arguments go to apt_install.
apt_install_no_services() {
    local units=$1 policy=/usr/sbin/policy-rc.d created=0 rc=0
    shift
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        created=1
    fi
    apt_install "$@" || rc=$?
    if [ $created -eq 1 ]; then rm -f "$policy"; fi
    if [ $rc -ne 0 ]; then return $rc; fi
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        # shellcheck disable=SC2086 # a list of unit names
        systemctl disable --now $units >/dev/null 2>&1 || true
    fi
}

# promtool (checks and unit-tests the alert rules, scripts/check-alerts.sh) comes with
# Debian's prometheus package; its server must not run.
install_promtool() {
    command -v promtool >/dev/null 2>&1 && return 0
    apt_install_no_services prometheus.service --no-install-recommends prometheus
}

install_cargo_tool() {
    local crate=$1 version=$2 probe=$3
    if command -v "$probe" >/dev/null 2>&1 && "$probe" --version 2>/dev/null | grep -q "$version"; then
        return 0
    fi
    log "installing $crate $version from crates.io (first run only)"
    cargo install --locked --quiet "$crate" --version "$version"
}

if [ "$only" = all ]; then
    install_cargo_tool cargo-deny "$CARGO_DENY_VERSION" cargo-deny
    install_cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION" cargo-fuzz
fi

# Independent reference implementations for interop tests (npm, versions pinned by the lock file).
install_npm_dir() {
    local dir=$1 stamp="$1/node_modules/.hnsfleet-lock-sha"
    local want
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || { apt_install nodejs npm; }
    log "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$stamp"
}

if [ "$only" = buf ]; then
    install_npm_dir tools/buf
    exit 0
fi
if [ "$only" = alerts ]; then
    install_promtool
    exit 0
fi
case $only in all | demo) install_npm_dir tests/interop ;; esac
# The buf CLI (lint and breaking-change checks of proto/, scripts/buf.sh).
[ "$only" = all ] && install_npm_dir tools/buf
# The real hsd (regtest only) for the end-to-end tests, driven by scripts/hsd/hsd.sh.
# Native modules (bcrypto, ...) build from source on the first install (about a minute).
install_npm_dir tests/e2e/hsd
apt_install jq curl  # scripts/hsd/*.sh speak JSON-RPC with curl + jq

# Real DNS software: Knot DNS (knotd, keymgr; the testkit's `knot` module serves signed child
# zones and a stand-in ICANN root), Unbound (a validating resolver using the fleet as its root),
# and the clients dig (bind9-dnsutils), kdig (knot-dnsutils) and ldns tools.
install_daemons() {
    apt_install_no_services "knot.service unbound.service" \
        knot knot-dnsutils ldnsutils unbound bind9-dnsutils
}
case $only in all | demo) install_daemons ;; esac

case $only in all) install_promtool ;; esac

# The anycast lab (loadtest/anycast-lab/run.sh): BIRD 2 as the BGP speaker of its router and
# nodes (its system service must not run: the lab starts one per network namespace with its own
# config and control socket), iproute2 for the namespaces, python3 for the query stream.
install_anycast() {
    apt_install_no_services bird.service bird2
    apt_install iproute2 python3
}
case $only in all | anycast) install_anycast ;; esac

log "ready"
