#!/usr/bin/env bash
# The main job on one machine, loopback only: a real hsd regtest node holding names registered
# through real auctions, an hnsfleet follower syncing and validating its chain, and the CLI
# asking the follower for the tip and for every name (each answer verified from an Urkel proof
# against the follower's PoW-validated headers; compare with hsd's getnameresource).
#
#   bash scripts/demo-follower.sh
#
# Never dials anything but 127.0.0.1. Stops hsd and the follower on exit.
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
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    bash scripts/hsd/hsd.sh stop "$node" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

log "starting hsd (regtest, 127.0.0.1) with the prepared names"
bash scripts/hsd/prepare-chain.sh "$node" 900 >/dev/null
p2p=$(bash scripts/hsd/hsd.sh env "$node" | sed -n 's/^HSD_P2P_PORT=//p')
manifest=${HSD_RUN_DIR:-/tmp/hnsfleet-hsd}/$node/names.json

log "starting the follower (peer 127.0.0.1:$p2p)"
"$bin" follower --network regtest --peer "127.0.0.1:$p2p" --data-dir "$work/data" \
    --grpc-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --checkpoint false \
    >"$work/stdout" 2>"$work/follower.log" &
pid=$!
for _ in $(seq 100); do
    [ -s "$work/stdout" ] && break
    sleep 0.1
done
grpc=$(head -n1 "$work/stdout" | jq -r .grpc)
admin=$(head -n1 "$work/stdout" | jq -r .admin)
for _ in $(seq 300); do
    curl -sf "http://$admin/readyz" >/dev/null && break
    sleep 0.1
done
curl -sf "http://$admin/readyz" >/dev/null || { tail "$work/follower.log"; exit 1; }

echo "== hnsfleet tip --follower http://$grpc"
"$bin" tip --follower "http://$grpc"
for name in $(jq -r '.names | keys[]' "$manifest") $(jq -r '.absent[]' "$manifest"); do
    echo "== hnsfleet lookup $name"
    "$bin" lookup "$name" --follower "http://$grpc"
done
echo "== metrics (http://$admin/metrics)"
curl -sf "http://$admin/metrics" | grep -E '^hnsfleet_follower_(tip_height|peers_connected|headers_validated_total|proofs_served_total)'
