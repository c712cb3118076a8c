#!/usr/bin/env bash
# Self-test of the hsd test scripts: starts a regtest node, prepares the chain (or restores it
# from the cache), checks every manifest entry against the live node, restarts the node from the
# snapshot and checks again, then stops it. Exits non-zero on any mismatch.
#
#   selftest.sh [NAME] [PORT_OFFSET]     (defaults: hsd-selftest, ${HSD_PORT_OFFSET:-300})
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/hsd/hsd.sh
source "$HERE/hsd.sh"
NODE=${1:-hsd-selftest}
OFFSET=${2:-${HSD_PORT_OFFSET:-300}}
NDIR=$(node_dir "$NODE")
MANIFEST="$NDIR/names.json"
slog() { printf '[selftest] %s\n' "$*" >&2; }

trap 'cmd_stop "$NODE" || true' EXIT

# check: every manifest entry against the live node; prints the number of failures.
check() {
    local what=$1 fails=0 n want have st
    load_env "$NODE"
    for n in $(jq -r '.names | keys[]' "$MANIFEST"); do
        want=$(jq -c --arg n "$n" '.names[$n].resource' "$MANIFEST")
        have=$(call "$HSD_HTTP_PORT" getnameresource "\"$n\"" | jq -c .)
        if [ "$want" != "$have" ]; then
            slog "MISMATCH ($what) $n resource: manifest $want, live $have"
            fails=$((fails + 1))
        fi
        want=$(jq -r --arg n "$n" '.names[$n].state' "$MANIFEST")
        st=$(call "$HSD_HTTP_PORT" getnameinfo "\"$n\"" | jq -r '.info.state')
        if [ "$want" != "$st" ]; then
            slog "MISMATCH ($what) $n state: manifest $want, live $st"
            fails=$((fails + 1))
        fi
    done
    for n in $(jq -r '.absent[]' "$MANIFEST"); do
        have=$(call "$HSD_HTTP_PORT" getnameresource "\"$n\"" | jq -c .)
        if [ "$have" != null ]; then
            slog "MISMATCH ($what) $n should be absent, live $have"
            fails=$((fails + 1))
        fi
    done
    have=$(call "$HSD_HTTP_PORT" getblockcount)
    want=$(jq -r .tip.height "$MANIFEST")
    [ "$have" = "$want" ] || { slog "MISMATCH ($what) tip height: manifest $want, live $have"; fails=$((fails + 1)); }
    have=$(call "$HSD_HTTP_PORT" getbestblockhash | jq -r .)
    want=$(jq -r .tip.hash "$MANIFEST")
    [ "$have" = "$want" ] || { slog "MISMATCH ($what) tip hash: manifest $want, live $have"; fails=$((fails + 1)); }
    # Coverage: every record type appears in some final resource.
    for t in DS NS GLUE4 GLUE6 SYNTH4 SYNTH6 TXT; do
        jq -e --arg t "$t" '[.names[].resource // {records: []} | .records[].type] | index($t) != null' \
            "$MANIFEST" >/dev/null || { slog "manifest has no $t record"; fails=$((fails + 1)); }
    done
    local count
    count=$(jq '.names | length' "$MANIFEST")
    if [ $fails -eq 0 ]; then
        slog "ok ($what): $count names, $(jq '.absent | length' "$MANIFEST") absent, tip $(jq -c .tip "$MANIFEST")"
    fi
    return $fails
}

t0=$SECONDS
cmd_stop "$NODE"
cmd_start "$NODE" "$OFFSET" >/dev/null
bash "$HERE/prepare-chain.sh" "$NODE"
t1=$SECONDS
slog "start + prepare-chain: $((t1 - t0)) s"
rc=0
check "after prepare" || rc=1

# Restart from the cached snapshot and check again.
SNAP=$(bash "$HERE/prepare-chain.sh" --snapshot-path)
[ -f "$SNAP" ] || { slog "no snapshot at $SNAP"; exit 1; }
saved=$(jq -c . "$MANIFEST")
cmd_stop "$NODE"
cmd_start "$NODE" "$OFFSET" "$SNAP" >/dev/null
cmp -s <(jq -c . "$NDIR/data/hnsfleet-names.json") <(echo "$saved") || { slog "snapshot manifest differs"; rc=1; }
check "after restore" || rc=1
slog "restore + check: $((SECONDS - t1)) s; total $((SECONDS - t0)) s"
[ $rc -eq 0 ] && slog PASS || slog FAIL
exit $rc
