#!/usr/bin/env bash
# The main job on one machine, loopback only: a real hsd regtest node holding names registered
# through real auctions, an hnsfleet follower syncing and validating its chain, a proof-cache in
# front of it, and the CLI asking the follower for the tip and for every name (each answer
# verified from an Urkel proof against the follower's PoW-validated headers; compare with hsd's
# getnameresource), then every name again through the proof-cache (twice: a miss, then a hit;
# the printed JSON must be the follower's).
#
#   bash scripts/demo-follower.sh
#
# Never dials anything but 127.0.0.1. Stops hsd, the follower and the cache on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[demo] %s\n' "$*" >&2; }

bash scripts/setup.sh hsd
log "building hnsfleet (release)"
cargo build --release --locked -q -p hnsfleet
bin=target/release/hnsfleet

node=demo-follower
work=$(mktemp -d)
pid=
cache_pid=
cleanup() {
    [ -n "$cache_pid" ] && kill "$cache_pid" 2>/dev/null && wait "$cache_pid" 2>/dev/null
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    bash scripts/hsd/hsd.sh stop "$node" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

log "starting hsd (regtest, 127.0.0.1) with the prepared names"
bash scripts/hsd/prepare-chain.sh "$node" 900 >/dev/null
p2p=$(bash scripts/hsd/hsd.sh env "$node" | sed -n 's/^HSD_P2P_PORT=//p')
manifest=${HSD_RUN_DIR:-/tmp/hnsfleet-hsd}/$node/names.json

# wait_ready NAME TENTHS: waits for service NAME's listening line ($work/NAME.stdout), sets
# grpc and admin from it, then waits up to TENTHS × 0.1 s for its /readyz.
wait_ready() {
    local name=$1 tenths=$2
    for _ in $(seq 100); do
        [ -s "$work/$name.stdout" ] && break
        sleep 0.1
    done
    grpc=$(head -n1 "$work/$name.stdout" | jq -r .grpc)
    admin=$(head -n1 "$work/$name.stdout" | jq -r .admin)
    for _ in $(seq "$tenths"); do
        curl -sf "http://$admin/readyz" >/dev/null && return 0
        sleep 0.1
    done
    curl -sf "http://$admin/readyz" >/dev/null || { tail "$work/$name.log"; exit 1; }
}

log "starting the follower (peer 127.0.0.1:$p2p)"
"$bin" follower --network regtest --peer "127.0.0.1:$p2p" --data-dir "$work/data" \
    --grpc-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --checkpoint false \
    >"$work/follower.stdout" 2>"$work/follower.log" &
pid=$!
wait_ready follower 300

echo "== hnsfleet tip --follower http://$grpc"
"$bin" tip --follower "http://$grpc"
for name in $(jq -r '.names | keys[]' "$manifest") $(jq -r '.absent[]' "$manifest"); do
    echo "== hnsfleet lookup $name"
    "$bin" lookup "$name" --follower "http://$grpc"
done
echo "== metrics (http://$admin/metrics)"
curl -sf "http://$admin/metrics" | grep -E '^hnsfleet_follower_(tip_height|peers_connected|headers_validated_total|proofs_served_total)'

log "starting the proof-cache (follower http://$grpc)"
"$bin" proof-cache --network regtest --follower "http://$grpc" \
    --grpc-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    >"$work/cache.stdout" 2>"$work/cache.log" &
cache_pid=$!
follower_grpc=$grpc follower_admin=$admin
wait_ready cache 100
cache_grpc=$grpc cache_admin=$admin
grpc=$follower_grpc admin=$follower_admin
for name in $(jq -r '.names | keys[]' "$manifest") $(jq -r '.absent[]' "$manifest"); do
    echo "== hnsfleet lookup $name --cache http://$cache_grpc (twice)"
    direct=$("$bin" lookup "$name" --follower "http://$grpc")
    for _ in 1 2; do
        cached=$("$bin" lookup "$name" --cache "http://$cache_grpc")
        [ "$cached" = "$direct" ] || { echo "cache and follower differ for $name" >&2; exit 1; }
    done
    echo "$cached"
done
# The entry and size gauges are sampled once a second.
for _ in $(seq 30); do
    curl -sf "http://$cache_admin/metrics" | grep -q '^hnsfleet_cache_entries [1-9]' && break
    sleep 0.1
done
echo "== proof-cache metrics (http://$cache_admin/metrics)"
curl -sf "http://$cache_admin/metrics" |
    grep -E '^hnsfleet_cache_(hits_total|misses_total|entries|size_bytes|trusted_root_height) '
