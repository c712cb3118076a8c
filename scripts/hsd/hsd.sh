#!/usr/bin/env bash
# Drives REAL hsd 8.0.0 nodes (tests/e2e/hsd, installed by scripts/setup.sh) in REGTEST mode on
# 127.0.0.1 only, for the end-to-end tests. One entry point:
#
#   hsd.sh start NAME PORT_OFFSET [SNAPSHOT.tar]
#       Starts a regtest full node + wallet plugin with its data under
#       ${HSD_RUN_DIR:-/tmp/hnsfleet-hsd}/NAME/data (wiped first: every start is a fresh chain,
#       or the chain/wallet of SNAPSHOT.tar when given). Ports are the regtest defaults shifted by
#       PORT_OFFSET (p2p 14038, brontide 26806, http 14037, wallet 14039, ns 25349, rs 25350; the
#       brontide base is moved down from regtest's 46806, which lies in Linux's ephemeral port
#       range 32768-60999 where an outgoing connection can take it first); use
#       offsets that are multiples of 10 for several nodes (14037..14039 are adjacent). The root
#       name server runs on 127.0.0.1 (ns port, UDP and TCP) for comparisons with the fleet's
#       root; the recursive server does not (--no-rs). Never query it about reserved or ICANN
#       names: for those hsd asks the real ICANN root servers. Waits (bounded) until node and wallet RPC answer, then
#       writes NAME/env (shell-sourceable) and prints it:
#         HSD_P2P_PORT HSD_BRONTIDE_PORT HSD_HTTP_PORT HSD_WALLET_PORT HSD_NS_PORT HSD_API_KEY HSD_PID
#         (plus HSD_NAME HSD_DIR HSD_PREFIX HSD_LOG). Log: NAME/hsd.log (console) + data/regtest/debug.log.
#   hsd.sh stop NAME                          graceful stop (SIGINT, bounded wait, then SIGKILL)
#   hsd.sh rpc NAME METHOD [JSON_PARAM...]    node JSON-RPC; prints the JSON "result"
#   hsd.sh wallet NAME METHOD [JSON_PARAM...] wallet JSON-RPC (wallet "primary"); prints "result"
#   hsd.sh mine NAME N                        generatetoaddress N blocks to a wallet address,
#                                             then waits (bounded) until the wallet is at the tip
#   hsd.sh snapshot NAME OUT.tar              stop NAME, tar its data dir to OUT.tar (atomic)
#   hsd.sh env NAME                           print NAME/env
#
# JSON params are raw JSON values: strings need quotes, e.g.
#   hsd.sh rpc a getnameinfo '"fleetns"'     hsd.sh wallet a sendbatch '[["OPEN","fleetns"]]'
# Never runs mainnet/testnet; every listener binds 127.0.0.1. Needs node, curl, jq.
set -euo pipefail

HSD_SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HSD_REPO_DIR=$(cd "$HSD_SCRIPTS_DIR/../.." && pwd)
HSD_PKG_DIR="$HSD_REPO_DIR/tests/e2e/hsd"
HSD_BIN="$HSD_PKG_DIR/node_modules/hsd/bin/node"
RUN_DIR=${HSD_RUN_DIR:-/tmp/hnsfleet-hsd}
# Fixed, test-only API key (loopback-only node, throw-away chain).
API_KEY=hnsfleet-regtest-key
START_TIMEOUT=${HSD_START_TIMEOUT:-60}
STOP_TIMEOUT=${HSD_STOP_TIMEOUT:-30}

log() { printf '[hsd] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

node_dir() {
    [[ $1 =~ ^[A-Za-z0-9_-]+$ ]] || die "bad node name '$1' (letters, digits, _ and - only)"
    printf '%s/%s' "$RUN_DIR" "$1"
}

load_env() {
    local d
    d=$(node_dir "$1")
    [ -f "$d/env" ] || die "node '$1' is not started (no $d/env)"
    # shellcheck disable=SC1091
    source "$d/env"
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# post PORT BODY -> prints the raw HTTP response body; fails on connection errors.
post() {
    curl -sS --max-time "${HSD_RPC_TIMEOUT:-60}" -u "x:$API_KEY" \
        -H 'Content-Type: application/json' --data-binary "$2" "http://127.0.0.1:$1/"
}

# call PORT METHOD [JSON_PARAM...] -> prints result as JSON, exits 1 on RPC error.
call() {
    local port=$1 method=$2
    shift 2
    local params body resp
    params=$(IFS=,; printf '[%s]' "$*")
    body=$(printf '{"method":"%s","params":%s}' "$method" "$params")
    resp=$(post "$port" "$body") || die "$method: no answer on 127.0.0.1:$port"
    if ! jq -e 'type == "object" and .error == null' <<<"$resp" >/dev/null 2>&1; then
        log "rpc $method failed: $(jq -c '.error // .' <<<"$resp" 2>/dev/null || printf '%s' "$resp")"
        return 1
    fi
    jq -c '.result' <<<"$resp"
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
    [ $# -ge 2 ] && [ $# -le 3 ] || die "usage: hsd.sh start NAME PORT_OFFSET [SNAPSHOT.tar]"
    local name=$1 off=$2 snap=${3:-}
    [[ $off =~ ^[0-9]+$ ]] || die "PORT_OFFSET must be a non-negative integer"
    [ -x "$HSD_BIN" ] || [ -f "$HSD_BIN" ] || die "hsd not installed: run scripts/setup.sh ($HSD_BIN missing)"
    local d
    d=$(node_dir "$name")
    if [ -f "$d/env" ]; then
        local HSD_PID=
        # shellcheck disable=SC1091
        source "$d/env"
        if alive "$HSD_PID"; then
            die "node '$name' already running (pid $HSD_PID); stop it first"
        fi
    fi
    local p2p=$((14038 + off)) bront=$((26806 + off)) http=$((14037 + off))
    local wallet=$((14039 + off)) ns=$((25349 + off)) rs=$((25350 + off))
    for p in $p2p $bront $http $wallet; do
        [ "$p" -le 65535 ] || die "port $p out of range"
        port_free "$p" || die "port 127.0.0.1:$p is already in use"
    done
    mkdir -p "$d"
    rm -rf "$d/data" "$d/env"
    mkdir -p "$d/data"
    if [ -n "$snap" ]; then
        [ -f "$snap" ] || die "snapshot $snap not found"
        log "restoring $name from $snap"
        tar -xf "$snap" -C "$d/data"
    fi
    : >"$d/hsd.log"
    # bcfg also reads HSD_* environment variables as options (HSD_HTTP_PORT = --http-port ...):
    # strip them so a sourced env file of another node cannot leak into this one.
    local unset_args=()
    while IFS= read -r v; do unset_args+=(-u "$v"); done < <(env | sed -n 's/^\(HSD_[A-Za-z0-9_]*\)=.*/\1/p')
    log "starting $name (regtest, offset $off, prefix $d/data)"
    env "${unset_args[@]}" nohup node "$HSD_BIN" \
        --network=regtest --prefix="$d/data" \
        --host=127.0.0.1 --port=$p2p --brontide-port=$bront --listen=true \
        --upnp=false \
        --http-host=127.0.0.1 --http-port=$http --api-key=$API_KEY \
        --wallet-http-host=127.0.0.1 --wallet-http-port=$wallet --wallet-api-key=$API_KEY \
        --no-dns=false --no-rs=true --ns-host=127.0.0.1 --ns-port=$ns --rs-host=127.0.0.1 --rs-port=$rs \
        --workers=false --log-level="${HSD_LOG_LEVEL:-debug}" \
        </dev/null >>"$d/hsd.log" 2>&1 &
    local pid=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    until post "$http" '{"method":"getblockcount","params":[]}' 2>/dev/null | grep -q '"result"' &&
        post "$wallet" '{"method":"getwalletinfo","params":[]}' 2>/dev/null | grep -q '"result"'; do
        if ! alive "$pid"; then
            tail -n 30 "$d/hsd.log" >&2 || true
            die "hsd $name exited during startup (log $d/hsd.log)"
        fi
        if [ $SECONDS -ge $deadline ]; then
            kill -KILL "$pid" 2>/dev/null || true
            tail -n 30 "$d/hsd.log" >&2 || true
            die "hsd $name did not answer RPC within ${START_TIMEOUT}s"
        fi
        sleep 0.2
    done
    cat >"$d/env.tmp" <<EOF
HSD_NAME=$name
HSD_DIR=$d
HSD_PREFIX=$d/data
HSD_LOG=$d/hsd.log
HSD_P2P_PORT=$p2p
HSD_BRONTIDE_PORT=$bront
HSD_HTTP_PORT=$http
HSD_WALLET_PORT=$wallet
HSD_NS_PORT=$ns
HSD_API_KEY=$API_KEY
HSD_PID=$pid
EOF
    mv "$d/env.tmp" "$d/env"
    log "$name up: pid $pid, rpc 127.0.0.1:$http, wallet 127.0.0.1:$wallet, height $(call "$http" getblockcount)"
    cat "$d/env"
}

cmd_stop() {
    [ $# -eq 1 ] || die "usage: hsd.sh stop NAME"
    local d
    d=$(node_dir "$1")
    [ -f "$d/env" ] || { log "$1 not started"; return 0; }
    local HSD_PID=
    # shellcheck disable=SC1091
    source "$d/env"
    if alive "$HSD_PID"; then
        # Only signal it if it is really our hsd (pid reuse after a crash): its stdout is our log.
        # (hsd sets process.title, so /proc/PID/cmdline only says "hsd".)
        if [ "$(readlink "/proc/$HSD_PID/fd/1" 2>/dev/null)" = "$d/hsd.log" ]; then
            log "stopping $1 (pid $HSD_PID)"
            kill -INT "$HSD_PID" 2>/dev/null || true
            local deadline=$((SECONDS + STOP_TIMEOUT))
            while alive "$HSD_PID"; do
                if [ $SECONDS -ge $deadline ]; then
                    log "$1 did not exit within ${STOP_TIMEOUT}s: SIGKILL"
                    kill -KILL "$HSD_PID" 2>/dev/null || true
                    break
                fi
                sleep 0.1
            done
        else
            log "pid $HSD_PID is not $1's hsd; not signalling it"
        fi
    fi
    rm -f "$d/env"
}

cmd_rpc() {
    [ $# -ge 2 ] || die "usage: hsd.sh rpc NAME METHOD [JSON_PARAM...]"
    load_env "$1"
    shift
    call "$HSD_HTTP_PORT" "$@"
}

cmd_wallet() {
    [ $# -ge 2 ] || die "usage: hsd.sh wallet NAME METHOD [JSON_PARAM...]"
    load_env "$1"
    shift
    call "$HSD_WALLET_PORT" "$@"
}

cmd_mine() {
    [ $# -eq 2 ] || die "usage: hsd.sh mine NAME N"
    [[ $2 =~ ^[0-9]+$ ]] || die "N must be a non-negative integer"
    load_env "$1"
    [ "$2" -gt 0 ] || return 0
    local addr
    addr=$(call "$HSD_WALLET_PORT" getnewaddress)
    call "$HSD_HTTP_PORT" generatetoaddress "$2" "$addr" >/dev/null
    # The wallet plugin follows the chain asynchronously: wait until it has seen the new tip,
    # or a wallet call right after mining acts on a stale view (unconfirmed tx, wrong state).
    local want deadline=$((SECONDS + ${HSD_STEP_TIMEOUT:-30}))
    want=$(call "$HSD_HTTP_PORT" getblockcount)
    until [ "$(call "$HSD_WALLET_PORT" getwalletinfo | jq -r .height)" = "$want" ]; do
        [ $SECONDS -lt $deadline ] || die "wallet of $1 did not reach height $want"
        sleep 0.05
    done
}

cmd_snapshot() {
    [ $# -eq 2 ] || die "usage: hsd.sh snapshot NAME OUT.tar"
    local d out=$2
    d=$(node_dir "$1")
    [ -d "$d/data" ] || die "no data dir for $1"
    cmd_stop "$1"
    mkdir -p "$(dirname "$out")"
    tar -cf "$out.tmp.$$" -C "$d/data" .
    mv "$out.tmp.$$" "$out"
    log "snapshot of $1 written to $out ($(du -h "$out" | cut -f1))"
}

cmd_env() {
    [ $# -eq 1 ] || die "usage: hsd.sh env NAME"
    cat "$(node_dir "$1")/env"
}

main() {
    [ $# -ge 1 ] || { sed -n '2,24p' "${BASH_SOURCE[0]}" >&2; exit 2; }
    local sub=$1
    shift
    case $sub in
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        rpc) cmd_rpc "$@" ;;
        wallet) cmd_wallet "$@" ;;
        mine) cmd_mine "$@" ;;
        snapshot) cmd_snapshot "$@" ;;
        env) cmd_env "$@" ;;
        -h | --help | help) sed -n '2,24p' "${BASH_SOURCE[0]}" >&2 ;;
        *) die "unknown subcommand '$sub' (start|stop|rpc|wallet|mine|snapshot|env)" ;;
    esac
}

# Sourcing this file gives the functions (prepare-chain.sh uses them) without running main.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
