#!/usr/bin/env bash
# The anycast lab: BGP anycast of the frontend, made of network namespaces on this machine, as
# a test. What it builds (every address in the benchmark range 198.18.0.0/15, every address
# and process inside the lab's own namespaces; the host's network is not touched):
#
#   backend   hsd (regtest, the prepared chain of scripts/hsd, on the namespace's loopback), a
#             chain-follower and a proof-cache; the proof-cache serves on 198.18.200.2:9540
#   nodeK     (K = 1..ANYCAST_LAB_NODES, default 3) a dummy interface with the anycast address
#             198.19.0.53/32, a frontend serving Do53 on it, BIRD announcing it over BGP with
#             BFD, driven by helm/hnsfleet/files/anycast/anycast-health.sh (the chart's
#             sidecar pieces, unchanged); uplink 198.18.K.2/24; answers leave with IP TTL 200+K
#             so the client can tell which node answered
#   router    BIRD peering with every node (eBGP, BFD 100 ms x 3), best path into its kernel
#             table, forwarding between all links (198.18.K.1, 198.18.100.1, 198.18.200.1)
#   client    198.18.100.2: loadtest/anycast-lab/probe.py sends `fleettxt. TXT` (a name
#             registered on the chain: a good answer is NOERROR with the verified TXT records)
#             to 198.19.0.53 every 20 ms and logs who answered
#
# Then, each time against the node the router currently sends the client to, it measures how
# long the client's queries take to reach another node, and asserts generous upper bounds
# (ANYCAST_LAB_MAX_FAILOVER_MS, default 5000; the measured values are printed) and that no
# query is lost where none may be:
#   kill       kill -9 of the frontend (BIRD still up): the health check withdraws the route
#   hang-fe    SIGSTOP of the frontend: /readyz probes time out, the route is withdrawn
#   hang-host  SIGSTOP of the frontend, BIRD and the health check: only BFD can tell
#   unready    the node loses its proof-cache (an unreachable route) while the frontend lives:
#              it turns unready by itself (after its 10 s grace); no query may be lost
#   bird-crash kill -9 of BIRD (its sessions close, the routers drop the route); a new BIRD
#              starts with the route disabled and the health check enables it again; no query
#              may be lost
#   sidecar    SIGTERM to the health check (the sidecar stopping): it withdraws before
#              exiting; no query may be lost
#   drain      SIGTERM to the frontend: unready at once, still serving for shutdown_drain;
#              no query may be lost, including those it accepted while draining
# and after each, that the node comes back (failback) without losing a query.
#
#   sudo bash loadtest/anycast-lab/run.sh
#
# Needs root and network namespaces, BIRD 2, python3, curl and the pinned hsd
# (`bash scripts/setup.sh anycast`), and the hnsfleet binary: $HNSFLEET_BIN_DIR/hnsfleet
# (default target/debug, built with `cargo build -p hnsfleet` if missing). Exit status 0 when
# every assertion held, 1 when one failed, 77 when this machine cannot run the lab (not root,
# no network namespaces). ANYCAST_LAB_REPORT=FILE also writes the results as JSON lines there.
# Everything started is stopped and every namespace deleted on exit, failure or signal.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD

NODES=${ANYCAST_LAB_NODES:-3}
# BFD on every BGP session (default), or off: then only the BGP hold time (3 s, the least BGP
# allows) drops a hung node, which the hang-host scenario shows.
BFD=${ANYCAST_LAB_BFD:-on}
case $BFD in on) HOLD=9 ;; off) HOLD=3 ;; *) echo "ANYCAST_LAB_BFD must be on or off" >&2; exit 64 ;; esac
MAX_FAILOVER_MS=${ANYCAST_LAB_MAX_FAILOVER_MS:-5000}
# The frontends' shutdown_drain: it must outlast the route's withdrawal (0s shows what is lost
# without it: the drain scenario then fails).
DRAIN=${ANYCAST_LAB_DRAIN:-3s}
BIN_DIR=${HNSFLEET_BIN_DIR:-$REPO/target/debug}
# Not passed on: the services read HNSFLEET_* variables as config (and warn about this one).
unset HNSFLEET_BIN_DIR
SIDECAR=$REPO/helm/hnsfleet/files/anycast
ANYCAST=198.19.0.53
CACHE_ADDR=198.18.200.2
QNAME=fleettxt.
# Names of everything the lab creates start with this (unique per run: the shell's pid).
P=${ANYCAST_LAB_PREFIX:-hac$$}
[[ $P =~ ^[a-z][a-z0-9]{0,8}$ ]] || { echo "ANYCAST_LAB_PREFIX must be 1-9 of [a-z0-9]" >&2; exit 64; }
ROUTER=$P-r CLIENT=$P-c BACKEND=$P-b

log() { printf '[anycast-lab] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
skip() { log "SKIP: $*"; exit 77; }
now_ns() { date +%s%N; }
node_ns() { printf '%s-n%s' "$P" "$1"; }

# === preconditions ===

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, BIRD, port 53)"
command -v ip >/dev/null || skip "no iproute2"
if ! ip netns add "$P-probe" 2>/dev/null; then skip "cannot create network namespaces here"; fi
ip netns del "$P-probe"
[[ $NODES =~ ^[2-9]$ ]] || die "ANYCAST_LAB_NODES must be 2..9"
for tool in bird birdc python3 curl jq; do
    command -v "$tool" >/dev/null || die "$tool missing: run bash scripts/setup.sh anycast"
done
if [ ! -x "$BIN_DIR/hnsfleet" ]; then
    log "building hnsfleet (debug) into $BIN_DIR"
    cargo build --locked -q -p hnsfleet
fi
BIN=$BIN_DIR/hnsfleet

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hnsfleet-anycast-lab.XXXXXX")
export HSD_RUN_DIR=$WORK/hsd
PROBE_LOG=$WORK/probe.log
# Pids of what the lab started, by name (frontend1, bird1, health1, ...).
declare -A PIDS=()
RESULTS=()

cleanup() {
    local rc=$? name pid ns
    trap - EXIT INT TERM
    if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -S "$WORK/router.ctl" ]; then
        log "the router's view:"
        birdc -s "$WORK/router.ctl" show protocols >&2 || true
        birdc -s "$WORK/router.ctl" show route all >&2 || true
        ip -n "$ROUTER" route >&2 || true
    fi
    for name in "${!PIDS[@]}"; do
        pid=${PIDS[$name]}
        kill -CONT "$pid" 2>/dev/null || true
        kill -TERM "$pid" 2>/dev/null || true
    done
    for name in "${!PIDS[@]}"; do
        pid=${PIDS[$name]}
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        { wait "$pid" || true; } 2>/dev/null
    done
    bash scripts/hsd/hsd.sh stop lab >/dev/null 2>&1 || true
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^$P-(r|c|b|n[0-9])$" || true); do
        # Whatever is left inside the lab's own namespaces was started by the lab.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
        log "logs of the failed run:"
        for f in "$WORK"/*.log "$WORK"/n*/*.log; do
            if [ ! -f "$f" ] || [ "$f" = "$PROBE_LOG" ]; then continue; fi
            printf '%s\n' "--- $f (last 15 lines)" >&2
            tail -n 15 "$f" >&2
        done
    fi
    if [ "${ANYCAST_LAB_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME NAMESPACE LOG CMD...: runs CMD in NAMESPACE in the background, remembered as NAME.
start() {
    local name=$1 ns=$2 logf=$3
    shift 3
    ip netns exec "$ns" "$@" </dev/null >>"$logf" 2>&1 &
    PIDS[$name]=$!
}

# wait_for SECONDS WHAT CMD...: polls CMD every 50 ms until it succeeds, or fails the lab.
wait_for() {
    local limit=$1 what=$2 deadline
    shift 2
    deadline=$(($(now_ns) + limit * 1000000000))
    until "$@"; do
        [ "$(now_ns)" -lt "$deadline" ] || die "$what: not within ${limit}s"
        sleep 0.05
    done
}

# === the network ===

# link NS_A IF_A ADDR_A NS_B IF_B ADDR_B: a veth pair between two namespaces, /24 addresses.
link() {
    ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
    ip -n "$1" addr add "$3/24" dev "$2"
    ip -n "$4" addr add "$6/24" dev "$5"
    ip -n "$1" link set "$2" up
    ip -n "$4" link set "$5" up
}

sysctl_in() { ip netns exec "$1" sysctl -qw "$2=$3"; }

log "namespaces $P-{r,c,b,n1..n$NODES}, work dir $WORK"
# The anycast address goes on a dummy interface, as on a real node, when the kernel has them
# (CONFIG_DUMMY); else on the node namespace's loopback, which routes the same.
ip netns add "$P-probe"
if ip -n "$P-probe" link add "$P-any" type dummy 2>/dev/null; then ANYCAST_IF=$P-any; else ANYCAST_IF=lo; fi
ip netns del "$P-probe"
log "the anycast address $ANYCAST/32 sits on each node's ${ANYCAST_IF} interface"
for ns in "$ROUTER" "$CLIENT" "$BACKEND"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
sysctl_in "$ROUTER" net.ipv4.ip_forward 1
# Answers leave each node from the anycast address, whichever node the router prefers for it.
sysctl_in "$ROUTER" net.ipv4.conf.all.rp_filter 0
sysctl_in "$ROUTER" net.ipv4.conf.default.rp_filter 0
link "$ROUTER" "$P-rc" 198.18.100.1 "$CLIENT" "$P-c" 198.18.100.2
link "$ROUTER" "$P-rb" 198.18.200.1 "$BACKEND" "$P-b" "$CACHE_ADDR"
ip -n "$CLIENT" route add default via 198.18.100.1
ip -n "$BACKEND" route add default via 198.18.200.1
for k in $(seq "$NODES"); do
    ns=$(node_ns "$k")
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    link "$ROUTER" "$P-r$k" "198.18.$k.1" "$ns" "$P-u$k" "198.18.$k.2"
    ip -n "$ns" route add default via "198.18.$k.1"
    sysctl_in "$ns" net.ipv4.ip_default_ttl $((200 + k))
    ip netns exec "$ns" env ANYCAST_ADDRESS=$ANYCAST ANYCAST_INTERFACE="$ANYCAST_IF" \
        sh "$SIDECAR/anycast-address.sh" up
done

# === the backend: hsd, chain-follower, proof-cache ===
# hsd's fixed regtest ports are those of the backend namespace's own loopback, so this run
# shares no port with the hsd tests on the host (no lock needed); its data lives in $WORK.

log "backend: hsd (regtest, prepared chain), chain-follower, proof-cache on $CACHE_ADDR:9540"
ip netns exec "$BACKEND" bash scripts/hsd/prepare-chain.sh lab 0 >"$WORK/prepare-chain.log" 2>&1 ||
    { tail -n 20 "$WORK/prepare-chain.log" >&2; die "could not prepare the hsd chain"; }
p2p=$(sed -n 's/^HSD_P2P_PORT=//p' "$HSD_RUN_DIR/lab/env")
start follower "$BACKEND" "$WORK/follower.log" "$BIN" follower --network regtest \
    --peer "127.0.0.1:$p2p" --data-dir "$WORK/follower" \
    --grpc-listen 127.0.0.1:9530 --admin-listen 127.0.0.1:9531
start cache "$BACKEND" "$WORK/cache.log" "$BIN" proof-cache --network regtest \
    --follower http://127.0.0.1:9530 --grpc-listen "$CACHE_ADDR:9540" --admin-listen 127.0.0.1:9541

# === the nodes: frontend, BIRD, health check ===

echo "127.0.0.1:9" >"$WORK/no-icann.hints"  # recursion never leaves the lab

start_frontend() {
    local k=$1
    start "frontend$k" "$(node_ns "$k")" "$WORK/n$k/frontend.log" "$BIN" frontend \
        --network regtest --cache "http://$CACHE_ADDR:9540" \
        --dns-listen "$ANYCAST:53" --public-host "$ANYCAST" --admin-listen 127.0.0.1:9551 \
        --icann-root-hints "$WORK/no-icann.hints" --allow-private-upstreams true \
        --rrl-rate 0 --shutdown-drain "$DRAIN" --shutdown-grace 2s
}

start_health() {
    local k=$1
    start "health$k" "$(node_ns "$k")" "$WORK/n$k/health.log" env \
        ANYCAST_READY_URL=http://127.0.0.1:9551/readyz ANYCAST_BIRD_SOCKET="$WORK/n$k/bird.ctl" \
        ANYCAST_CHECK_INTERVAL_MS=100 ANYCAST_CHECK_TIMEOUT_MS=250 \
        ANYCAST_FAIL_THRESHOLD=2 ANYCAST_RISE_THRESHOLD=3 \
        sh "$SIDECAR/anycast-health.sh"
}

for k in $(seq "$NODES"); do
    mkdir -p "$WORK/n$k"
    start_frontend "$k"
    env ANYCAST_ADDRESS=$ANYCAST ANYCAST_ASN=65001 ANYCAST_PEER_ASN=65000 \
        ANYCAST_PEERS="198.18.$k.1" ANYCAST_ROUTER_ID="198.18.$k.2" \
        ANYCAST_BFD="$BFD" ANYCAST_HOLD_TIME="$HOLD" \
        ANYCAST_BIRD_LOG="$WORK/n$k/bird.log" sh "$SIDECAR/bird-config.sh" >"$WORK/n$k/bird.conf"
    start "bird$k" "$(node_ns "$k")" "$WORK/n$k/bird.stderr.log" \
        bird -f -c "$WORK/n$k/bird.conf" -s "$WORK/n$k/bird.ctl"
    start_health "$k"
done

# === the router ===

{
    cat <<EOF
log "$WORK/router-bird.log" all;
router id 198.18.100.1;
protocol device { scan time 10; }
# The best route to the anycast address goes into this namespace's table.
protocol kernel {
    learn off;
    ipv4 { import none; export all; };
}
EOF
    if [ "$BFD" = on ]; then
        cat <<EOF
protocol bfd {
    interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
}
EOF
    fi
    for k in $(seq "$NODES"); do
        cat <<EOF
protocol bgp node$k {
    local 198.18.$k.1 as 65000;
    neighbor 198.18.$k.2 as 65001;
    hold time $HOLD;
    keepalive time $((HOLD / 3));
    connect retry time 2;
    error wait time 1, 30;
    bfd $BFD;
    ipv4 { import where net = $ANYCAST/32; export none; };
}
EOF
    done
} >"$WORK/router-bird.conf"
start router "$ROUTER" "$WORK/router-bird.stderr.log" \
    bird -f -c "$WORK/router-bird.conf" -s "$WORK/router.ctl"

# === ready ===

ready() { ip netns exec "$(node_ns "$1")" curl -sf -o /dev/null --max-time 1 http://127.0.0.1:9551/readyz; }
announced_by() {  # the node the router sends the anycast address to (empty: none)
    ip -n "$ROUTER" route show "$ANYCAST/32" 2>/dev/null |
        sed -n 's/.* via 198\.18\.\([0-9]\)\.2 .*/\1/p' | head -n1
}
all_ready() { local k; for k in $(seq "$NODES"); do ready "$k" || return 1; done; }
all_peered() {  # every node's route is in the router's table (one best, the others known)
    [ "$(birdc -s "$WORK/router.ctl" show route "$ANYCAST/32" all 2>/dev/null |
        grep -c 'BGP.as_path')" -eq "$NODES" ]
}
wait_for 180 "every frontend ready (a trusted root from the proof-cache)" all_ready
wait_for 30 "every node's route at the router" all_peered
some_route() { [ -n "$(announced_by)" ]; }
wait_for 10 "a route to $ANYCAST" some_route

start probe "$CLIENT" "$WORK/probe.stderr.log" python3 -B "$REPO/loadtest/anycast-lab/probe.py" \
    stream --server "$ANYCAST" --name "$QNAME" --type TXT --out "$PROBE_LOG" \
    --interval-ms 20 --timeout-ms 1000 --ttl-base 199
good_from() {  # good_from NODE SINCE_NS: a good answer from NODE received since SINCE_NS
    awk -v n="$1" -v t="$2" '$3 >= t && $4 == 0 && $5 > 0 && $6 == n { f = 1 } END { exit !f }' \
        "$PROBE_LOG" 2>/dev/null
}
t0=$(now_ns)
first=$(announced_by)
wait_for 20 "a good answer ($QNAME TXT) through the anycast address" good_from "$first" "$t0"
log "all $NODES nodes ready and announced; the router prefers node $first"

# === scenarios ===

# record SCENARIO JSON: prints the result line and keeps it for the report.
record() {
    local line
    line=$(jq -c --arg s "$1" '{scenario: $s} + .' <<<"$2")
    RESULTS+=("$line")
    printf '%s\n' "$line"
}

# failover SCENARIO NODE AT_NS: waits for another node's answer, checks the bound.
failover() {
    local scenario=$1 node=$2 at=$3 result
    other_answered() {
        awk -v n="$node" -v t="$at" '$3 >= t && $4 == 0 && $5 > 0 && $6 != n { f = 1 } END { exit !f }' \
            "$PROBE_LOG"
    }
    wait_for $((MAX_FAILOVER_MS / 1000 + 25)) "$scenario: an answer from another node" other_answered
    sleep 1.1  # the probe logs a lost query after its 1 s timeout
    result=$(python3 -B loadtest/anycast-lab/probe.py failover "$PROBE_LOG" --at "$at" --node "$node")
    record "$scenario" "$result"
    FAILOVER_MS=$(jq -r .failover_ms <<<"$result")
    LOST=$(jq -r .lost <<<"$result")
    BAD=$(jq -r .bad <<<"$result")
    AFTER=$(jq -r .answered_by_node_after <<<"$result")
    awk -v v="$FAILOVER_MS" -v m="$MAX_FAILOVER_MS" 'BEGIN { exit !(v <= m) }' ||
        die "$scenario: failover took ${FAILOVER_MS} ms (bound ${MAX_FAILOVER_MS} ms)"
}

# failback SCENARIO NODE SINCE_NS: the node is announced again and the client's queries reach
# it; none lost meanwhile.
failback() {
    local scenario=$1 node=$2 since=$3 back result
    routed_to() { [ "$(announced_by)" = "$1" ]; }
    wait_for 60 "$scenario: node $node announced again" routed_to "$node"
    wait_for 10 "$scenario: answers from node $node again" good_from "$node" "$since"
    back=$(now_ns)
    sleep 1.1
    result=$(python3 -B loadtest/anycast-lab/probe.py window "$PROBE_LOG" --from "$since" --to "$back")
    record "$scenario-failback" "$result"
    [ "$(jq -r '.lost + .bad' <<<"$result")" = 0 ] || die "$scenario: failback lost or failed queries: $result"
}

# No query without a good answer, none lost.
expect_no_loss() {
    [ "$LOST" = 0 ] || die "$1: $LOST queries lost (none may be)"
    expect_good "$1"
}
# Every answer a good one (a node that cannot resolve must not attract queries).
expect_good() {
    [ "$BAD" = 0 ] || die "$1: $BAD queries answered without the records (none may be)"
}

node=$(announced_by)
log "kill: kill -9 the frontend of node $node (BIRD and the health check stay up)"
at=$(now_ns)
kill -KILL "${PIDS[frontend$node]}"
{ wait "${PIDS[frontend$node]}" || true; } 2>/dev/null  # reaped here: no "Killed" notice
failover kill "$node" "$at"
expect_good kill
t=$(now_ns)
start_frontend "$node"
failback kill "$node" "$t"

node=$(announced_by)
log "hang-fe: SIGSTOP the frontend of node $node"
at=$(now_ns)
kill -STOP "${PIDS[frontend$node]}"
failover hang-fe "$node" "$at"
expect_good hang-fe
t=$(now_ns)
kill -CONT "${PIDS[frontend$node]}"
failback hang-fe "$node" "$t"

node=$(announced_by)
log "hang-host: SIGSTOP the frontend, BIRD and the health check of node $node (BFD $BFD, hold time ${HOLD}s)"
at=$(now_ns)
for what in frontend bird health; do kill -STOP "${PIDS[$what$node]}"; done
failover hang-host "$node" "$at"
expect_good hang-host
t=$(now_ns)
for what in bird health frontend; do kill -CONT "${PIDS[$what$node]}"; done
failback hang-host "$node" "$t"

node=$(announced_by)
log "bird-crash: kill -9 BIRD on node $node (the frontend stays up), then a new BIRD"
at=$(now_ns)
kill -KILL "${PIDS[bird$node]}"
{ wait "${PIDS[bird$node]}" || true; } 2>/dev/null
failover bird-crash "$node" "$at"
expect_no_loss bird-crash
t=$(now_ns)
# The new BIRD starts with the route disabled: the health check enables it again when it next
# writes the wanted state (every 5 s), without a change of readiness.
start "bird$node" "$(node_ns "$node")" "$WORK/n$node/bird.stderr.log" \
    bird -f -c "$WORK/n$node/bird.conf" -s "$WORK/n$node/bird.ctl"
failback bird-crash "$node" "$t"

node=$(announced_by)
log "unready: node $node loses its proof-cache (the frontend stays up and turns unready)"
lost_at=$(now_ns)
ip -n "$(node_ns "$node")" route add unreachable "$CACHE_ADDR/32"
unready() { ! ready "$1"; }
wait_for 40 "unready: node $node's /readyz failing" unready "$node"
at=$(now_ns)
log "unready: node $node unready $(((at - lost_at) / 1000000)) ms after losing its proof-cache"
failover unready "$node" "$at"
# A frontend without a trusted root answers SERVFAIL (EDE Not Ready) until the route moves:
# counted in "bad", not asserted. Nothing may be lost.
[ "$LOST" = 0 ] || die "unready: $LOST queries lost (none may be)"
t=$(now_ns)
ip -n "$(node_ns "$node")" route del unreachable "$CACHE_ADDR/32"
failback unready "$node" "$t"

node=$(announced_by)
log "sidecar: SIGTERM to node $node's health check (withdraws, then exits)"
at=$(now_ns)
kill -TERM "${PIDS[health$node]}"
failover sidecar "$node" "$at"
expect_no_loss sidecar
wait "${PIDS[health$node]}" || die "sidecar: the health check exited with status $?"
grep -q 'signal: withdrawn' "$WORK/n$node/health.log" || die "sidecar: no withdrawal logged"
t=$(now_ns)
start_health "$node"
failback sidecar "$node" "$t"

node=$(announced_by)
log "drain: SIGTERM to the frontend of node $node (unready at once, serves $DRAIN more, then 2 s grace)"
at=$(now_ns)
kill -TERM "${PIDS[frontend$node]}"
failover drain "$node" "$at"
expect_no_loss drain
[ "$AFTER" -gt 0 ] || log "drain: node $node got no query after SIGTERM (the route moved first)"
rc=0
wait "${PIDS[frontend$node]}" || rc=$?
[ $rc = 0 ] || die "drain: the frontend exited with status $rc"
exited=$(now_ns)
sleep 1.1
result=$(python3 -B loadtest/anycast-lab/probe.py window "$PROBE_LOG" --from $((at - 1000000000)) --to "$exited")
record drain-window "$result"
[ "$(jq -r '.lost + .bad' <<<"$result")" = 0 ] || die "drain: queries lost or failed between SIGTERM and exit: $result"
t=$(now_ns)
start_frontend "$node"
failback drain "$node" "$t"

# === report ===

total=$(python3 -B loadtest/anycast-lab/probe.py window "$PROBE_LOG" --from 0 --to "$(now_ns)")
record total "$total"
if [ -n "${ANYCAST_LAB_REPORT:-}" ]; then printf '%s\n' "${RESULTS[@]}" >>"$ANYCAST_LAB_REPORT"; fi
log "PASS (BFD $BFD): every failover within ${MAX_FAILOVER_MS} ms, no query lost where none may be"
printf '%-10s %12s %6s %6s  %s\n' scenario failover_ms lost bad "answered by the node after the event" >&2
for line in "${RESULTS[@]}"; do
    jq -r 'select(.failover_ms != null) | [.scenario, .failover_ms, .lost, .bad, .answered_by_node_after] | @tsv' \
        <<<"$line" | awk -F'\t' '{ printf "%-10s %12s %6s %6s  %s\n", $1, $2, $3, $4, $5 }' >&2
done
