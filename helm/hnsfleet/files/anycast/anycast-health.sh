#!/bin/sh
# Announces the node's anycast route while its frontend is ready, and withdraws it when not.
#
# Polls the frontend's /readyz; after ANYCAST_FAIL_THRESHOLD failed probes in a row it disables
# the BIRD static protocols holding the anycast route(s) (`birdc disable anycast4`: BGP
# withdraws the route from every router at once), after ANYCAST_RISE_THRESHOLD good probes in
# a row it enables them again. It starts withdrawn. On SIGTERM or SIGINT it withdraws first,
# then exits 0, so a node being shut down stops attracting queries while its frontend drains.
#
# Environment (defaults in brackets; README.md next to this file says why):
#   ANYCAST_READY_URL          [http://127.0.0.1:9551/readyz] the frontend's readiness
#   ANYCAST_CHECK_INTERVAL_MS  [100]  pause between two probes
#   ANYCAST_CHECK_TIMEOUT_MS   [250]  a probe without a 200 within this long has failed
#   ANYCAST_FAIL_THRESHOLD     [2]    failed probes in a row that withdraw the route
#   ANYCAST_RISE_THRESHOLD     [3]    good probes in a row that announce it again
#   ANYCAST_PROTOCOLS          [anycast4] BIRD static protocols to enable/disable (space list)
#   ANYCAST_BIRD_SOCKET        [/run/bird/bird.ctl] BIRD's control socket
#   ANYCAST_RECONCILE_MS       [5000] the wanted state is written to BIRD again this often (a
#                                     restarted BIRD starts with the route disabled)
#
# Logs one line per change on stderr. Needs curl and birdc.
set -eu

url=${ANYCAST_READY_URL:-http://127.0.0.1:9551/readyz}
interval_ms=${ANYCAST_CHECK_INTERVAL_MS:-100}
timeout_ms=${ANYCAST_CHECK_TIMEOUT_MS:-250}
fail_threshold=${ANYCAST_FAIL_THRESHOLD:-2}
rise_threshold=${ANYCAST_RISE_THRESHOLD:-3}
protocols=${ANYCAST_PROTOCOLS:-anycast4}
socket=${ANYCAST_BIRD_SOCKET:-/run/bird/bird.ctl}
reconcile_ms=${ANYCAST_RECONCILE_MS:-5000}

log() { printf '%s anycast-health: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$*" >&2; }
die() { log "error: $*"; exit 64; }

positive() { case $1 in '' | *[!0-9]* | 0) return 1 ;; *) return 0 ;; esac; }
for v in interval_ms timeout_ms fail_threshold rise_threshold reconcile_ms; do
    eval "value=\$$v"
    # shellcheck disable=SC2154 # set by the eval above
    positive "$value" || die "$v must be a positive integer, got '$value'"
done
[ -n "$protocols" ] || die "ANYCAST_PROTOCOLS is empty"

# Milliseconds as the decimal seconds sleep and curl take.
seconds() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
interval=$(seconds "$interval_ms")
timeout=$(seconds "$timeout_ms")
# Ticks between two reconciliations (a tick is at least one interval).
reconcile_ticks=$(((reconcile_ms + interval_ms - 1) / interval_ms))

# bird ACTION: enable or disable every protocol; true only if BIRD confirmed each one, else
# BIRD's words are left in $bird_error.
bird_error=''
bird() {
    action=$1
    for p in $protocols; do
        out=$(birdc -s "$socket" "$action" "$p" 2>&1) || true
        case $out in
            *"$p: ${action}d"* | *"$p: already ${action}d"*) ;;
            *) bird_error="birdc $action $p: $(printf '%s' "$out" | tr '\n' ' ')"; return 1 ;;
        esac
    done
}

wanted=withdrawn applied='' failing='' fails=0 goods=0 ticks=0 sleeper=''

stop() {
    [ -z "$sleeper" ] || kill "$sleeper" 2>/dev/null || true
    if bird disable; then
        log "signal: withdrawn ($protocols), exiting"
    else
        log "signal: could not withdraw through $socket (BIRD down?), exiting"
    fi
    exit 0
}
trap stop TERM INT

log "probing $url every ${interval_ms} ms (timeout ${timeout_ms} ms): withdraw after $fail_threshold failures, announce after $rise_threshold successes"
while :; do
    if curl -fsS -o /dev/null --connect-timeout "$timeout" --max-time "$timeout" "$url" 2>/dev/null; then
        goods=$((goods + 1)) fails=0
        if [ "$wanted" = withdrawn ] && [ "$goods" -ge "$rise_threshold" ]; then
            wanted=announced
            log "frontend ready ($goods probes in a row): announcing"
        fi
    else
        fails=$((fails + 1)) goods=0
        if [ "$wanted" = announced ] && [ "$fails" -ge "$fail_threshold" ]; then
            wanted=withdrawn
            log "frontend not ready ($fails probes in a row): withdrawing"
        fi
    fi
    ticks=$((ticks + 1))
    if [ "$wanted" != "$applied" ] || [ "$ticks" -ge "$reconcile_ticks" ]; then
        ticks=0
        if [ "$wanted" = announced ]; then action=enable; else action=disable; fi
        if bird "$action"; then
            [ "$wanted" = "$applied" ] || log "$wanted ($protocols)"
            applied=$wanted failing=''
        else
            # Logged once per failure streak; tried again on every probe.
            if [ -z "$failing" ]; then log "$bird_error (retrying)"; fi
            applied='' failing=yes
        fi
    fi
    # In the background, so that a signal is handled at once rather than after the sleep.
    sleep "$interval" &
    sleeper=$!
    wait "$sleeper" || true
    sleeper=''
done
