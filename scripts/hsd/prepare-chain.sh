#!/usr/bin/env bash
# Prepares a regtest chain with real name auctions on hsd node NAME and writes the manifest
# ${HSD_RUN_DIR:-/tmp/hnsfleet-hsd}/NAME/names.json.
#
#   prepare-chain.sh NAME [PORT_OFFSET]
#   prepare-chain.sh --snapshot-path      prints the cache tar path for the current scripts
#
# NAME may be running already (a fresh node at height 0, see hsd.sh start) or not (it is started
# with PORT_OFFSET, default ${HSD_PORT_OFFSET:-0}). It is left running on success.
#
# Story (every step is one wallet `sendbatch` transaction, then one mined block, then the
# mempool must be empty): mine past the names' rollout heights; OPEN all names; BID; REVEAL;
# UPDATE with records (registers them) covering DS NS GLUE4 GLUE6 SYNTH4 SYNTH6 TXT; UPDATE
# fleetupd to new records; TRANSFER fleetxfer, wait transferLockup, FINALIZE; REVOKE fleetrevoke;
# then mine until the last change is committed in the tree plus two tree intervals plus one block
# (so even an SPV resolver on the safe root sees the final state).
#
# Cache: the prepared data dir (chain + wallet + manifest) is snapshotted to
# ${HNSFLEET_CACHE:-<repo>/.cache}/hsd-chain-<sha256 of these scripts + hsd lock>.tar and, when
# present, restored instead of re-running the auctions.
#
# Manifest (names.json):
#   { "network": "regtest", "hsd": "8.0.0", "treeInterval": 5,
#     "tip": {"height": N, "hash": "..."},
#     "lastChangeHeight": H, "lastCommitHeight": C,
#     "steps": [{"step": "OPEN", "height": h, "txid": "...", "names": [...]}, ...],
#     "names": { "<name>": { "state": "CLOSED"|"REVOKED"|..., "story": "...",
#                            "resource": <getnameresource result, null if none>,
#                            "info": <getnameinfo .info> }, ... },
#     "absent": ["<unregistered, unreserved name>", ...] }
set -euo pipefail
# shellcheck source=scripts/hsd/hsd.sh
source "$(dirname "${BASH_SOURCE[0]}")/hsd.sh"
LOGP='[prepare-chain]'
plog() { printf '%s %s\n' "$LOGP" "$*" >&2; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: prepare-chain.sh NAME [PORT_OFFSET] | --snapshot-path"
NODE=$1
[ "$NODE" != --snapshot-path ] || NODE=_
OFFSET=${2:-${HSD_PORT_OFFSET:-0}}
NDIR=$(node_dir "$NODE")
MANIFEST="$NDIR/names.json"
CACHE_DIR=${HNSFLEET_CACHE:-$HSD_REPO_DIR/.cache}
KEY=$(cat "$HSD_SCRIPTS_DIR/hsd.sh" "$HSD_SCRIPTS_DIR/prepare-chain.sh" "$HSD_PKG_DIR/package-lock.json" |
    sha256sum | cut -d' ' -f1)
SNAP="$CACHE_DIR/hsd-chain-$KEY.tar"
STEP_TIMEOUT=${HSD_STEP_TIMEOUT:-30}
if [ "$1" = --snapshot-path ]; then
    echo "$SNAP"
    exit 0
fi

TREE_INTERVAL=5
TRANSFER_LOCKUP=10

NAMES=(fleetns fleetglue fleetsynth fleettxt fleetds fleetupd fleetxfer fleetrevoke)
ABSENT=(fleetabsent fleetnothere fleetmissing)

# Records registered by the first UPDATE (hsd JSON form, hns-dns.md 1.2).
DS_DIGEST=2bb183af5f22588179a53b0a98631fad1a292118ea9e0e1f0ff4e6bc2a70f34e
declare -A RECORDS=(
    [fleetns]='[{"type":"NS","ns":"ns1.fleetns."},{"type":"NS","ns":"ns2.fleetns."}]'
    [fleetglue]='[{"type":"GLUE4","ns":"ns1.fleetglue.","address":"192.0.2.1"},{"type":"GLUE6","ns":"ns2.fleetglue.","address":"2001:db8::1"}]'
    [fleetsynth]='[{"type":"SYNTH4","address":"192.0.2.53"},{"type":"SYNTH6","address":"2001:db8::53"}]'
    [fleettxt]='[{"type":"TXT","txt":["hnsfleet e2e","second string"]},{"type":"TXT","txt":["v=spf1 -all"]}]'
    [fleetds]='[{"type":"DS","keyTag":57355,"algorithm":8,"digestType":2,"digest":"'$DS_DIGEST'"},{"type":"NS","ns":"ns1.fleetds."}]'
    [fleetupd]='[{"type":"NS","ns":"ns1.fleetupd."},{"type":"TXT","txt":["v1"]}]'
    [fleetxfer]='[{"type":"NS","ns":"ns1.fleetxfer."},{"type":"TXT","txt":["transfer me"]}]'
    [fleetrevoke]='[{"type":"TXT","txt":["revoke me"]}]'
)
UPD_NAME=fleetupd
UPD_RECORDS='[{"type":"GLUE4","ns":"ns1.fleetupd.","address":"192.0.2.2"},{"type":"SYNTH6","address":"2001:db8::2"},{"type":"TXT","txt":["v2"]}]'
XFER_NAME=fleetxfer
REVOKE_NAME=fleetrevoke
declare -A STORY=(
    [fleetns]=registered [fleetglue]=registered [fleetsynth]=registered [fleettxt]=registered
    [fleetds]=registered [fleetupd]=updated [fleetxfer]=transferred [fleetrevoke]=revoked
)

node_running() {
    [ -f "$NDIR/env" ] || return 1
    local HSD_PID=
    # shellcheck disable=SC1091
    source "$NDIR/env"
    alive "$HSD_PID"
}

# The manifest describes the node's current chain iff its tip hash is the node's tip hash.
manifest_matches_tip() {
    [ -f "$MANIFEST" ] || return 1
    local want have
    want=$(jq -r '.tip.hash' "$MANIFEST")
    have=$(call "$HSD_HTTP_PORT" getbestblockhash | jq -r .)
    [ "$want" = "$have" ]
}

restore() {
    if node_running; then
        cmd_stop "$NODE"
    fi
    cmd_start "$NODE" "$OFFSET" "$SNAP" >/dev/null
    load_env "$NODE"
    cp "$NDIR/data/hnsfleet-names.json" "$MANIFEST"
    manifest_matches_tip || die "restored chain tip does not match the cached manifest"
    plog "restored from cache: tip $(jq -c .tip "$MANIFEST")"
}

# ---- the auctions ------------------------------------------------------------------------------

rpc() { call "$HSD_HTTP_PORT" "$@"; }
wrpc() { call "$HSD_WALLET_PORT" "$@"; }
height() { rpc getblockcount; }
mine() { cmd_mine "$NODE" "$1"; }
name_state() { rpc getnameinfo "\"$1\"" | jq -r '.info.state // "NONE"'; }

wait_until() { # DESC CMD... : poll CMD until it succeeds, bounded by STEP_TIMEOUT
    local desc=$1 deadline=$((SECONDS + STEP_TIMEOUT))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || die "timed out after ${STEP_TIMEOUT}s waiting for $desc"
        sleep 0.1
    done
}
mempool_empty() { [ "$(rpc getrawmempool | jq length)" = 0 ]; }
in_mempool() { rpc getrawmempool | jq -e --arg t "$1" 'index($t) != null' >/dev/null; }

# mine_until_state NAME STATE MAXBLOCKS: mine one block at a time until NAME is in STATE.
mine_until_state() {
    local n=$1 want=$2 max=$3 i=0
    while [ "$(name_state "$n")" != "$want" ]; do
        [ $i -lt "$max" ] || die "$n not $want after $max blocks (state $(name_state "$n"))"
        mine 1
        i=$((i + 1))
    done
}

STEPS='[]'
# step LABEL ACTIONS_JSON NAMES...: one sendbatch tx, one block, empty mempool, tx confirmed.
step() {
    local label=$1 actions=$2
    shift 2
    local txid
    txid=$(wrpc sendbatch "$actions" | jq -r .hash)
    [ -n "$txid" ] && [ "$txid" != null ] || die "$label: sendbatch returned no tx"
    wait_until "$label tx $txid in mempool" in_mempool "$txid"
    mine 1
    wait_until "empty mempool after $label" mempool_empty
    # (hsd's wallet gettransaction has no "confirmations": a mined tx has a blockhash)
    wrpc gettransaction "\"$txid\"" | jq -e '.blockhash != null' >/dev/null ||
        die "$label: tx $txid not confirmed"
    local h
    h=$(height)
    plog "$label at height $h (tx $txid)"
    STEPS=$(jq -c --arg s "$label" --argjson h "$h" --arg t "$txid" \
        --args '. + [{step: $s, height: $h, txid: $t, names: $ARGS.positional}]' <<<"$STEPS" "$@")
    LAST_CHANGE=$h
}

batch() { # batch TEMPLATE(jq, $n = name) NAMES... -> JSON list of actions
    local tmpl=$1
    shift
    jq -cn --args "[\$ARGS.positional[] as \$n | $tmpl]" "$@"
}

prepare() {
    local h
    h=$(height)
    if [ "$h" != 0 ]; then
        if manifest_matches_tip; then
            plog "$NODE already prepared (tip $(jq -c .tip "$MANIFEST"))"
            return 0
        fi
        die "$NODE is at height $h: prepare-chain needs a fresh node (hsd.sh stop $NODE first)"
    fi
    rm -f "$MANIFEST"

    # Rollout: every name must be unreserved and openable; mine past the last rollout height
    # (and at least 20 blocks for funds; coinbase matures after 2 blocks on regtest).
    local target=20 n info
    for n in "${NAMES[@]}" "${ABSENT[@]}"; do
        info=$(rpc getnameinfo "\"$n\"")
        [ "$(jq -r .start.reserved <<<"$info")" = false ] || die "$n is reserved: pick another name"
        [ "$(jq -r .info <<<"$info")" = null ] || die "$n already exists on a fresh chain?"
        local s
        s=$(jq -r .start.start <<<"$info")
        [ "$s" -lt "$target" ] || target=$((s + 1))
    done
    plog "mining $target blocks (rollout + funds)"
    mine "$target"
    local bal
    bal=$(wrpc getbalance)
    plog "height $(height), balance $bal HNS"

    step OPEN "$(batch '["OPEN", $n]' "${NAMES[@]}")" "${NAMES[@]}"
    for n in "${NAMES[@]}"; do [ "$(name_state "$n")" = OPENING ] || die "$n not OPENING"; done
    mine_until_state "${NAMES[0]}" BIDDING $((TREE_INTERVAL + 2))

    # One bid per name (1 HNS, lockup 2 HNS); a second, losing bid on fleetns makes one real
    # second-price auction.
    local bids
    bids=$(batch '["BID", $n, 1, 2]' "${NAMES[@]}" | jq -c '. + [["BID", "fleetns", 0.5, 1]]')
    step BID "$bids" "${NAMES[@]}"
    mine_until_state "${NAMES[0]}" REVEAL 10

    step REVEAL "$(batch '["REVEAL", $n]' "${NAMES[@]}")" "${NAMES[@]}"
    mine_until_state "${NAMES[0]}" CLOSED 15
    for n in "${NAMES[@]}"; do [ "$(name_state "$n")" = CLOSED ] || die "$n not CLOSED"; done

    local regs='[]'
    for n in "${NAMES[@]}"; do
        regs=$(jq -c --arg n "$n" --argjson r "${RECORDS[$n]}" '. + [["UPDATE", $n, {records: $r}]]' <<<"$regs")
    done
    step REGISTER "$regs" "${NAMES[@]}"
    # The second bid on fleetns lost: get its coins back.
    step REDEEM '[["REDEEM","fleetns"]]' fleetns

    step UPDATE "$(jq -cn --arg n "$UPD_NAME" --argjson r "$UPD_RECORDS" '[["UPDATE", $n, {records: $r}]]')" "$UPD_NAME"
    RECORDS[$UPD_NAME]=$UPD_RECORDS

    local xaddr
    xaddr=$(wrpc getnewaddress | jq -r .)
    step TRANSFER "$(jq -cn --arg n "$XFER_NAME" --arg a "$xaddr" '[["TRANSFER", $n, $a]]')" "$XFER_NAME"
    local xfer_h=$LAST_CHANGE

    step REVOKE "$(jq -cn --arg n "$REVOKE_NAME" '[["REVOKE", $n]]')" "$REVOKE_NAME"

    local wait=$((xfer_h + TRANSFER_LOCKUP - $(height)))
    [ $wait -le 0 ] || mine "$wait"
    step FINALIZE "$(jq -cn --arg n "$XFER_NAME" '[["FINALIZE", $n]]')" "$XFER_NAME"

    # Committed at the next multiple of treeInterval; then two more intervals and one block, so
    # the header at the tip carries a root that already contains the last change even one
    # commit back (SPV safe root).
    local commit=$(((LAST_CHANGE + TREE_INTERVAL - 1) / TREE_INTERVAL * TREE_INTERVAL))
    local final=$((commit + 2 * TREE_INTERVAL + 1))
    mine $((final - $(height)))
    wait_until "empty mempool at the end" mempool_empty

    # Check hsd stored what we asked for, then write the manifest.
    local names_json='{}' res st inf
    for n in "${NAMES[@]}"; do
        res=$(rpc getnameresource "\"$n\"")
        inf=$(rpc getnameinfo "\"$n\"" | jq -c .info)
        st=$(jq -r .state <<<"$inf")
        if [ "$n" = "$REVOKE_NAME" ]; then
            [ "$st" = REVOKED ] || die "$n: state $st, want REVOKED"
        else
            [ "$st" = CLOSED ] || die "$n: state $st, want CLOSED"
            jq -e --argjson want "${RECORDS[$n]}" '.records == $want' <<<"$res" >/dev/null ||
                die "$n: resource $(jq -c . <<<"$res") differs from the records sent ${RECORDS[$n]}"
        fi
        if [ "$n" = "$XFER_NAME" ]; then
            [ "$(jq -r .transfer <<<"$inf")" = 0 ] || die "$n: transfer not finalized"
            local owner
            owner=$(jq -r .owner.hash <<<"$inf")
            # the owner outpoint is the FINALIZE tx
            [ "$owner" = "$(jq -r '.[-1].txid' <<<"$STEPS")" ] || die "$n: owner $owner is not the FINALIZE tx"
        fi
        names_json=$(jq -c --arg n "$n" --arg s "$st" --arg story "${STORY[$n]}" \
            --argjson r "$res" --argjson i "$inf" \
            '. + {($n): {state: $s, story: $story, resource: $r, info: $i}}' <<<"$names_json")
    done
    for n in "${ABSENT[@]}"; do
        [ "$(rpc getnameresource "\"$n\"")" = null ] || die "$n should be absent"
    done
    local tip_h tip_hash version
    tip_h=$(height)
    tip_hash=$(rpc getbestblockhash | jq -r .)
    version=$(jq -r .version "$HSD_PKG_DIR/node_modules/hsd/package.json")
    jq -n --arg v "$version" --argjson ti "$TREE_INTERVAL" --argjson th "$tip_h" --arg tx "$tip_hash" \
        --argjson lc "$LAST_CHANGE" --argjson cm "$commit" --argjson steps "$STEPS" \
        --argjson names "$names_json" --args \
        '{network: "regtest", hsd: $v, treeInterval: $ti, tip: {height: $th, hash: $tx},
          lastChangeHeight: $lc, lastCommitHeight: $cm, steps: $steps, names: $names,
          absent: $ARGS.positional}' "${ABSENT[@]}" >"$MANIFEST.tmp"
    mv "$MANIFEST.tmp" "$MANIFEST"
    plog "prepared: tip $(jq -c .tip "$MANIFEST"), manifest $MANIFEST"
}

# ---- main --------------------------------------------------------------------------------------

STARTED=0
cleanup() {
    local rc=$?
    if [ $rc -ne 0 ] && [ $STARTED = 1 ]; then
        plog "failed (exit $rc): stopping $NODE"
        cmd_stop "$NODE" || true
    fi
}
trap cleanup EXIT

if node_running; then
    load_env "$NODE"
    OFFSET=$((HSD_HTTP_PORT - 14037))
    if manifest_matches_tip; then
        plog "$NODE already prepared (tip $(jq -c .tip "$MANIFEST"))"
        exit 0
    fi
    # Never throw away a chain the caller built: only a fresh node gets prepared or restored.
    h=$(call "$HSD_HTTP_PORT" getblockcount)
    [ "$h" = 0 ] || die "$NODE is at height $h: prepare-chain needs a fresh node (hsd.sh stop $NODE first)"
fi

if [ -f "$SNAP" ]; then
    STARTED=1
    restore
    exit 0
fi

if ! node_running; then
    cmd_start "$NODE" "$OFFSET" >/dev/null
    STARTED=1
fi
load_env "$NODE"
prepare
cp "$MANIFEST" "$NDIR/data/hnsfleet-names.json"
STARTED=1
cmd_snapshot "$NODE" "$SNAP"
restore
