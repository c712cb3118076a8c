#!/usr/bin/env bash
# The frontend against hsd 8.0.0, side by side in one run, on a real regtest chain (names
# registered through real auctions, scripts/hsd/prepare-chain.sh), loopback only:
#
#   1. root authority: `hnsfleet up`'s root listener vs hsd's root server (--no-sig0), the same
#      query file (the manifest's names x NS/DS/TXT/A, absent names -> NXDOMAIN), cache-hot, DO;
#   2. recursion, cache-hot HNS names: `hnsfleet up`'s resolver vs hsd's recursive server
#      (native libunbound when the `unbound` npm module builds, else bns's pure-JS resolver;
#      the run says which), names hsd's root answers authoritatively;
#   3. SIG(0)-signed Do53: a second frontend (`hnsfleet frontend`, same proof-cache) with a
#      SIG(0) key and the budget raised, against the signing rate of the crate's criterion bench;
#   4. cold HNS answer latency of the root listener: proof fetched through the proof-cache from
#      the follower from hsd (cold), proof-cache hit with the root answer cache missing (another
#      qtype), root answer cache hit; hsd's root server after `resetrootcache` as the baseline.
#
# Method (shared/notes/benchmarking.md): servers pinned to CPU 1, dnsperf to CPU 0; each load
# run lasts BENCH_SECS (default 10, at most 30) with 10 clients x 200 outstanding; the server's
# utime+stime from /proc/PID/stat is read over the steady part (from second 2 to one second
# before the end) and queries/s of the same window come from dnsperf's per-second statistics,
# so "per server-core-second" = steady queries/s / server CPU share.
#
#   bash loadtest/frontend-vs-hsd.sh
#
# Environment: BENCH_SECS (10), BENCH_OUT (/tmp/hnsfleet-bench/frontend-vs-hsd: logs, query
# files, results.md, results.json), BENCH_HSD_OFFSET (970: hsd port offset),
# BENCH_CRITERION (1: run the crate's sig0/sign criterion bench for phase 3's baseline; 0:
# use the figure in docs/benchmarks.md), BENCH_PERF (1: record a perf profile of our server
# in each of our load runs when perf works).
# Never mainnet/testnet; hsd's root is only asked about the chain's fleet* names and the
# manifest's absent names; the fleet is given dead ICANN root hints (127.0.0.1:9).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SECS=${BENCH_SECS:-10}
if ! [[ $SECS =~ ^[0-9]+$ ]] || [ "$SECS" -lt 5 ] || [ "$SECS" -gt 30 ]; then
    echo "BENCH_SECS must be 5..30" >&2
    exit 2
fi
OUT=${BENCH_OUT:-/tmp/hnsfleet-bench/frontend-vs-hsd}
OFFSET=${BENCH_HSD_OFFSET:-970}
CRITERION=${BENCH_CRITERION:-1}
PERF=${BENCH_PERF:-1}
SERVER_CPU=1
LOAD_CPU=0
NODE=bench-fvh
export HSD_RUN_DIR="$OUT/hsd"
CACHE_DIR=${HNSFLEET_CACHE:-$REPO/.cache}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
BIN="$CARGO_TARGET_DIR/release/hnsfleet"
LATENCY="$CARGO_TARGET_DIR/release/examples/root_latency"
HSD_PKG="$REPO/tests/e2e/hsd"
HSD_BIN="$HSD_PKG/node_modules/hsd/bin/node"
CLK_TCK=$(getconf CLK_TCK)

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# ---- processes: every one started here is in PIDS and stopped on exit -------------------------
PIDS=()
cleanup() {
    local rc=$? pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- tools --------------------------------------------------------------------------------------
apt_install() {
    local missing=() p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
apt_install dnsperf jq curl bind9-dnsutils libunbound-dev
bash scripts/setup.sh hsd >/dev/null
# hsd's recursive server uses bns's UnboundResolver when the optional `unbound` npm module
# loads; npm skipped it when libunbound-dev was missing. Build it once, outside hsd's install,
# and hand it to hsd through NODE_PATH.
UB_DIR="$CACHE_DIR/hsd-unbound"
if [ ! -d "$HSD_PKG/node_modules/unbound" ] && [ ! -d "$UB_DIR/node_modules/unbound" ]; then
    log "building the unbound npm module (libunbound binding) into $UB_DIR"
    mkdir -p "$UB_DIR"
    (cd "$UB_DIR" && npm install --no-save --no-audit --no-fund --loglevel=error --prefix . unbound@0.4.3 >/dev/null) ||
        log "unbound npm module did not build: hsd falls back to bns's pure-JS resolver"
fi
export NODE_PATH="$UB_DIR/node_modules"
RS_IMPL=$(cd "$HSD_PKG" && node -e "
  const R = require('bns/lib/resolver/unbound');
  console.log(R.name === 'UnboundResolver' ? 'native libunbound ' + require('unbound').version() : 'bns RecursiveResolver (pure JS)');
" 2>/dev/null) || RS_IMPL=unknown
log "hsd's recursive server will use: $RS_IMPL"

log "building hnsfleet (release) and the root_latency example"
nice -n 19 cargo build --release --quiet -p hnsfleet --bin hnsfleet
nice -n 19 cargo build --release --quiet -p hnsfleet-frontend --example root_latency

SIGN_BENCH=39100 SIGN_SRC="docs/benchmarks.md (criterion, 2026-11-23)"
if [ "$CRITERION" = 1 ]; then
    log "criterion: hnsfleet-hns sig0/sign (same machine, same run)"
    crit=$(nice -n 19 cargo bench --quiet -p hnsfleet-hns --bench sig0 -- 'sig0/sign' \
        --warm-up-time 1 --measurement-time 3 2>/dev/null | tr -d '\r') || crit=
    # "time:   [25.1 µs 25.3 µs 25.6 µs]": the middle value is criterion's estimate.
    mid=$(grep -A2 '^sig0/sign' <<<"$crit" | sed -n 's/.*time: *\[[^ ]* [^ ]* \([0-9.]*\) \([nµu]s\).*/\1 \2/p' | head -1)
    if [ -n "$mid" ]; then
        SIGN_BENCH=$(awk -v v="${mid% *}" -v u="${mid#* }" 'BEGIN { s = (u == "ns") ? v / 1e9 : v / 1e6; printf "%d", 1 / s }')
        SIGN_SRC="criterion sig0/sign in this run (${mid} per signature)"
    else
        log "criterion output not understood; using the documented figure"
    fi
fi
log "SIG(0) sign baseline: $SIGN_BENCH/s ($SIGN_SRC)"

mkdir -p "$OUT"
rm -rf "$OUT/fleet" "$OUT/frontend-sig0" "$OUT"/*.log "$OUT"/*.txt "$OUT"/*.json "$OUT"/perf-*
mkdir -p "$OUT/fleet"
echo "127.0.0.1:9" >"$OUT/no-icann.hints"

# ---- hsd: the prepared chain, restarted with the root and recursive servers, no SIG(0) ---------
log "preparing the regtest chain (restored from $CACHE_DIR when cached)"
bash scripts/hsd/prepare-chain.sh "$NODE" "$OFFSET" >/dev/null
MANIFEST="$HSD_RUN_DIR/$NODE/names.json"
cp "$MANIFEST" "$OUT/names.json"
bash scripts/hsd/hsd.sh stop "$NODE" >/dev/null
HDIR="$HSD_RUN_DIR/$NODE"
P2P=$((14038 + OFFSET)) HTTP=$((14037 + OFFSET)) NS=$((25349 + OFFSET)) RS=$((25350 + OFFSET))
BRONT=$((26806 + OFFSET))
unset_args=()
while IFS= read -r v; do unset_args+=(-u "$v"); done < <(env | sed -n 's/^\(HSD_[A-Za-z0-9_]*\)=.*/\1/p')
log "starting hsd (regtest, --no-sig0, root ns :$NS, recursive rs :$RS) on CPU $SERVER_CPU"
env "${unset_args[@]}" taskset -c $SERVER_CPU node "$HSD_BIN" \
    --network=regtest --prefix="$HDIR/data" \
    --host=127.0.0.1 --port=$P2P --brontide-port=$BRONT --listen=true --upnp=false \
    --http-host=127.0.0.1 --http-port=$HTTP --api-key=hnsfleet-regtest-key --no-wallet=true \
    --no-dns=false --no-rs=false --no-sig0=true \
    --ns-host=127.0.0.1 --ns-port=$NS --rs-host=127.0.0.1 --rs-port=$RS \
    --workers=false --log-level=info </dev/null >"$OUT/hsd.log" 2>&1 &
HSD_PID=$!
PIDS+=("$HSD_PID")
hsd_rpc() {
    curl -sS --max-time 30 -u x:hnsfleet-regtest-key -H 'Content-Type: application/json' \
        --data-binary "{\"method\":\"$1\",\"params\":[]}" "http://127.0.0.1:$HTTP/"
}
deadline=$((SECONDS + 60))
until hsd_rpc getblockcount 2>/dev/null | grep -q '"result"'; do
    kill -0 $HSD_PID 2>/dev/null || die "hsd exited (log $OUT/hsd.log)"
    [ $SECONDS -lt $deadline ] || die "hsd did not answer RPC in 60 s"
    sleep 0.2
done
[ "$(hsd_rpc getbestblockhash | jq -r .result)" = "$(jq -r .tip.hash "$MANIFEST")" ] ||
    die "restarted hsd is not at the manifest's tip"

# ---- the fleet: hnsfleet up on CPU 1 -------------------------------------------------------------
# dnsperf sends from one address, far above any client's fair share: response rate limiting off.
log "starting hnsfleet up on CPU $SERVER_CPU"
taskset -c $SERVER_CPU "$BIN" up --network regtest --peer "127.0.0.1:$P2P" \
    --data-dir "$OUT/fleet" --dns-listen 127.0.0.1:0 --root-listen 127.0.0.1:0 \
    --admin-listen 127.0.0.1:0 --icann-root-hints "$OUT/no-icann.hints" --log-format json \
    --rrl-rate 0 >"$OUT/up.stdout" 2>"$OUT/up.log" &
UP_PID=$!
PIDS+=("$UP_PID")
listening() { # FILE KEY -> address from the listening line
    grep -m1 '"event":"listening"' "$1" 2>/dev/null | jq -r ".$2"
}
deadline=$((SECONDS + 60))
until grep -q '"event":"listening"' "$OUT/up.stdout" 2>/dev/null; do
    kill -0 $UP_PID 2>/dev/null || die "hnsfleet up exited (log $OUT/up.log)"
    [ $SECONDS -lt $deadline ] || die "hnsfleet up did not listen in 60 s"
    sleep 0.1
done
UP_DNS=$(listening "$OUT/up.stdout" dns)
UP_ROOT=$(listening "$OUT/up.stdout" root)
UP_CACHE=$(listening "$OUT/up.stdout" cache_grpc)
# Ready = the root listener answers from the chain's tip (fleettxt's TXT is there).
wait_answer() { # ADDR NAME TYPE RD(+rec|+norec) TEXT
    local deadline=$((SECONDS + 90))
    until dig +tries=1 +time=2 "$4" -p "${1##*:}" "@${1%:*}" "$2" "$3" 2>/dev/null | grep -q "$5"; do
        [ $SECONDS -lt $deadline ] || die "$1 did not answer $2 $3 with '$5' in 90 s"
        sleep 0.2
    done
}
wait_answer "$UP_ROOT" fleettxt. TXT +norec 'hnsfleet e2e'
log "fleet ready: resolver $UP_DNS, root $UP_ROOT, proof-cache $UP_CACHE"

# ---- measuring ---------------------------------------------------------------------------------
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
PERF_OK=0
if [ "$PERF" = 1 ] && command -v perf >/dev/null &&
    timeout 5 perf record -q -o "$OUT/perf-probe.data" -p $UP_PID -- sleep 0.5 >/dev/null 2>&1; then
    PERF_OK=1
fi
rm -f "$OUT/perf-probe.data"
log "perf profiles: $([ $PERF_OK = 1 ] && echo on || echo off)"
RESULTS=()

# load LABEL SERVER_PID ADDR QUERY_FILE PERF(0|1) [dnsperf args...]: one bounded dnsperf run;
# appends a JSON result to RESULTS.
load() {
    local label=$1 pid=$2 addr=$3 file=$4 prof=$5
    shift 5
    local tag
    tag=$(tr -c 'A-Za-z0-9' _ <<<"$label")
    # Warm the caches: every query of the file a few times.
    taskset -c $LOAD_CPU dnsperf -s "${addr%:*}" -p "${addr##*:}" -d "$file" -n 3 -c 1 -q 20 \
        -t 5 "$@" >"$OUT/warm-$tag.txt" 2>&1 || true
    log "load: $label (${SECS}s)"
    taskset -c $LOAD_CPU dnsperf -s "${addr%:*}" -p "${addr##*:}" -d "$file" -l "$SECS" \
        -c 10 -q 200 -t 5 -S 1 "$@" >"$OUT/dnsperf-$tag.txt" 2>&1 &
    local dp=$!
    sleep 2
    local c0 t0 c1 t1 perf_pid=
    c0=$(cpu_ticks "$pid")
    t0=$(date +%s.%N)
    if [ "$prof" = 1 ] && [ $PERF_OK = 1 ]; then
        perf record -q -F 499 -o "$OUT/perf-$tag.data" -p "$pid" -- sleep $((SECS - 4)) \
            >/dev/null 2>&1 &
        perf_pid=$!
    fi
    sleep $((SECS - 3))
    c1=$(cpu_ticks "$pid")
    t1=$(date +%s.%N)
    wait $dp || die "dnsperf failed: $(tail -3 "$OUT/dnsperf-$tag.txt")"
    [ -z "$perf_pid" ] || wait "$perf_pid" || true
    local share qps_all qps_steady lost avg_lat
    share=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" -v hz="$CLK_TCK" \
        'BEGIN { printf "%.3f", (b - a) / hz / (e - s) }')
    qps_all=$(sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p' "$OUT/dnsperf-$tag.txt")
    # Interval lines of -S 1: "1796468181.682481: 2309.542647" (wall clock: queries/s of the
    # second before); the first ends one second after the start. Keep the seconds 2..SECS-1.
    qps_steady=$(awk -v secs="$SECS" '/^ *[0-9.]+: [0-9.]+ *$/ {
            t = $1 + 0; if (!n0) { base = t - 1; n0 = 1 }
            if (t - base > 2.5 && t - base < secs - 0.5) { s += $2; n++ } }
        END { if (n) printf "%.0f", s / n }' "$OUT/dnsperf-$tag.txt")
    [ -n "$qps_steady" ] || qps_steady=${qps_all%.*}
    lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$OUT/dnsperf-$tag.txt")
    avg_lat=$(sed -n 's/^ *Average Latency (s): *\([0-9.]*\).*/\1/p' "$OUT/dnsperf-$tag.txt")
    local rcodes
    rcodes=$(sed -n 's/^ *Response codes: *//p' "$OUT/dnsperf-$tag.txt")
    local json
    json=$(jq -cn --arg run "$label" --arg qps "$qps_steady" --arg all "${qps_all:-0}" \
        --arg share "$share" --arg lost "${lost:-0}" --arg lat "${avg_lat:-0}" --arg rc "$rcodes" \
        '{"label": $run, qps: ($qps | tonumber), qps_whole_run: ($all | tonumber),
          cpu_share: ($share | tonumber), lost: ($lost | tonumber),
          avg_latency_ms: (($lat | tonumber) * 1000), rcodes: $rc,
          per_core_second: (if ($share | tonumber) > 0 then (($qps | tonumber) / ($share | tonumber)) else null end)}')
    log "  $json"
    RESULTS+=("$json")
    if [ "$prof" = 1 ] && [ -f "$OUT/perf-$tag.data" ]; then
        perf report -q -i "$OUT/perf-$tag.data" --stdio --no-children --percent-limit 1 \
            --sort dso,symbol -g none 2>/dev/null | grep '%' | sed 's/ *- *- *$//; s/ *$//' |
            head -25 >"$OUT/perf-$tag.top.txt" || true
    fi
}

# ---- phase 4 first (the caches are still cold) --------------------------------------------------
# The machine is shared: the load average before and after says whether other work ran.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "phase 4: cold root answer latency"
for i in $(seq -w 1 200); do echo "benchcolddo$i"; done >"$OUT/cold-do.txt"
for i in $(seq -w 1 200); do echo "benchcoldnodo$i"; done >"$OUT/cold-nodo.txt"
jq -r '(.names | keys[]), .absent[]' "$MANIFEST" >"$OUT/manifest-names.txt"
LAT=()
while IFS= read -r line; do LAT+=("$line"); done < <(
    "$LATENCY" "$UP_ROOT" "$OUT/cold-do.txt" A,TXT,A --do --label "ours, new absent names, DO"
    "$LATENCY" "$UP_ROOT" "$OUT/cold-nodo.txt" A,TXT,A --label "ours, new absent names, no DO"
    "$LATENCY" "$UP_ROOT" "$OUT/manifest-names.txt" A,NS,DS,TXT --do --label "ours, manifest names, DO"
    hsd_rpc resetrootcache >/dev/null
    "$LATENCY" "127.0.0.1:$NS" "$OUT/manifest-names.txt" A,NS,DS,TXT,A --do --label "hsd root, manifest names, DO, after resetrootcache"
)
printf '%s\n' "${LAT[@]}" >"$OUT/latency.json"
for l in "${LAT[@]}"; do log "  $l"; done

# ---- phase 1: root authority --------------------------------------------------------------------
while IFS= read -r n; do
    for t in NS DS TXT A; do echo "$n. $t"; done
done <"$OUT/manifest-names.txt" >"$OUT/q-root.txt"
log "phase 1: root authority ($(wc -l <"$OUT/q-root.txt") queries in the file, DO)"
load "hsd root server (--no-sig0)" $HSD_PID "127.0.0.1:$NS" "$OUT/q-root.txt" 1 -D
load "hnsfleet root listener (no SIG(0))" $UP_PID "$UP_ROOT" "$OUT/q-root.txt" 1 -D

# ---- phase 2: recursion -------------------------------------------------------------------------
# Names hsd's root answers itself (no child zone to reach): fleettxt's TXT, the apex, and the
# absent names (NXDOMAIN, negatively cached).
{
    echo "fleettxt. TXT"
    echo ". SOA"
    echo ". NS"
    jq -r '.absent[] | "\(.). A"' "$MANIFEST"
} >"$OUT/q-rec.txt"
wait_answer "127.0.0.1:$RS" fleettxt. TXT +rec 'hnsfleet e2e'
wait_answer "$UP_DNS" fleettxt. TXT +rec 'hnsfleet e2e'
log "phase 2: recursion ($(wc -l <"$OUT/q-rec.txt") queries in the file, RD, DO)"
load "hsd recursive server (--no-sig0, $RS_IMPL)" $HSD_PID "127.0.0.1:$RS" "$OUT/q-rec.txt" 1 -D
load "hnsfleet resolver (no SIG(0))" $UP_PID "$UP_DNS" "$OUT/q-rec.txt" 1 -D

# ---- phase 3: SIG(0)-signed Do53 ----------------------------------------------------------------
# Two stand-alone frontends on the fleet's proof-cache, alike but for the SIG(0) key (budget
# raised far above the load), so the difference between them is the signing.
FE_PID='' FE_DNS=''
start_frontend() { # NAME [extra flags...] -> FE_PID, FE_DNS
    local name=$1
    shift
    mkdir -p "$OUT/$name"
    taskset -c $SERVER_CPU "$BIN" frontend --network regtest --cache "http://$UP_CACHE" \
        --dns-listen 127.0.0.1:0 --root-listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
        --icann-root-hints "$OUT/no-icann.hints" --log-format json --rrl-rate 0 "$@" \
        >"$OUT/$name/stdout" 2>"$OUT/$name/log" &
    FE_PID=$!
    PIDS+=("$FE_PID")
    local deadline=$((SECONDS + 60))
    until grep -q '"event":"listening"' "$OUT/$name/stdout" 2>/dev/null; do
        kill -0 $FE_PID 2>/dev/null || die "hnsfleet frontend $name exited (log $OUT/$name/log)"
        [ $SECONDS -lt $deadline ] || die "hnsfleet frontend $name did not listen in 60 s"
        sleep 0.1
    done
    FE_DNS=$(listening "$OUT/$name/stdout" dns)
    wait_answer "$FE_DNS" fleettxt. TXT +rec 'hnsfleet e2e'
}
log "phase 3: stand-alone frontends with and without SIG(0) on CPU $SERVER_CPU"
mkdir -p "$OUT/frontend-sig0"
"$BIN" sig0 keygen "$OUT/frontend-sig0/sig0.key" >/dev/null
start_frontend frontend-sig0 --sig0-key "$OUT/frontend-sig0/sig0.key" \
    --sig0-client-rate 10000000 --sig0-client-burst 10000000 --sig0-global-rate 10000000
SIG_PID=$FE_PID SIG_DNS=$FE_DNS
start_frontend frontend-plain
PLAIN_PID=$FE_PID PLAIN_DNS=$FE_DNS
dig +tries=1 +time=2 -p "${SIG_DNS##*:}" "@${SIG_DNS%:*}" fleettxt. TXT +dnssec >"$OUT/sig0-sample.txt" 2>&1 || true
grep -Eq 'SIG0 PSEUDOSECTION|ANY[[:space:]]+SIG[[:space:]]' "$OUT/sig0-sample.txt" || die "the SIG(0) frontend's answer carries no SIG (see $OUT/sig0-sample.txt)"
load "stand-alone frontend resolver, no SIG(0)" $PLAIN_PID "$PLAIN_DNS" "$OUT/q-rec.txt" 1 -D
load "stand-alone frontend resolver, SIG(0) on every response" $SIG_PID "$SIG_DNS" "$OUT/q-rec.txt" 1 -D

# ---- results ------------------------------------------------------------------------------------
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
printf '%s\n' "${RESULTS[@]}" | jq -s --arg rs "$RS_IMPL" --arg lb "$LOAD_BEFORE" --arg la "$LOAD_AFTER" --argjson sign "$SIGN_BENCH" \
    --arg signsrc "$SIGN_SRC" --slurpfile lat "$OUT/latency.json" --arg secs "$SECS" \
    '{date: (now | todate), load_seconds: ($secs | tonumber), hsd_recursive: $rs,
      loadavg_before: $lb, loadavg_after: $la,
      sig0_sign_baseline: {per_second: $sign, source: $signsrc}, load: ., latency: $lat}' \
    >"$OUT/results.json"
{
    echo "| run | queries/s (steady) | server CPU | per server-core-second | avg latency | lost |"
    echo "| --- | --- | --- | --- | --- | --- |"
    jq -r '.load[] | "| \(.label) | \(.qps) | \(.cpu_share * 100 | round) % | \(.per_core_second // 0 | round) | \(.avg_latency_ms * 1000 | round) µs | \(.lost) |"' "$OUT/results.json"
    echo
    echo "| latency series | qtype | n | p50 | p99 | max | rcodes |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    jq -r '.latency[] | "| \(.label) | \(.qtype) | \(.answered)/\(.queries) | \(.p50_us) µs | \(.p99_us) µs | \(.max_us) µs | \(.rcodes | to_entries | map("\(.key) \(.value)") | join(", ")) |"' "$OUT/results.json"
    echo
    jq -r '.load as $l
      | def pcs(f): ($l[] | select(.label | startswith(f)) | .per_core_second);
      "ratios (per server-core-second):",
      "  root: hnsfleet / hsd = \(pcs("hnsfleet root") / pcs("hsd root") * 100 | round / 100)x (target >= 8)",
      "  recursion: hnsfleet / hsd = \(pcs("hnsfleet resolver") / pcs("hsd recursive") * 100 | round / 100)x (target >= 100)",
      "  SIG(0): signed resolver / crate sign bench = \(pcs("stand-alone frontend resolver, SIG(0)") / .sig0_sign_baseline.per_second * 100 | round / 100)x (target >= 0.85; baseline \(.sig0_sign_baseline.per_second)/s, \(.sig0_sign_baseline.source))",
      "  SIG(0) cost in the server: \((1e6 / pcs("stand-alone frontend resolver, SIG(0)") - 1e6 / pcs("stand-alone frontend resolver, no SIG(0)")) * 10 | round / 10) µs of core time per response (crate bench: \(1e6 / .sig0_sign_baseline.per_second * 10 | round / 10) µs per signature)",
      "hsd recursive server: \(.hsd_recursive)",
      "load average before / after: \(.loadavg_before) / \(.loadavg_after)"' "$OUT/results.json"
} | tee "$OUT/results.md"
for f in "$OUT"/perf-*.top.txt; do
    [ -f "$f" ] || continue
    echo
    echo "== $(basename "$f" .top.txt)"
    head -15 "$f"
done | tee -a "$OUT/results.md"
log "done: $OUT/results.md, $OUT/results.json"
