#!/usr/bin/env bash
# Runs every cargo-fuzz target of the workspace (fuzz/, bodies in crates/fuzz-bodies) for a few
# seconds each (stable toolchain, so no sanitizer: `-s none`), seeded with the real vectors in
# fuzz/seeds/<target>. Any crash fails the run; libFuzzer leaves the input in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
fuzz_dir=fuzz
targets=$(cargo fuzz list --fuzz-dir "$fuzz_dir")
cargo fuzz build -s none --fuzz-dir "$fuzz_dir" >/dev/null
for t in $targets; do
    corpus=$(mktemp -d)
    seeds="$fuzz_dir/seeds/$t"
    mkdir -p "$seeds"
    echo "-- fuzz $t for ${seconds}s"
    log="$corpus.log"
    if ! cargo fuzz run -s none --fuzz-dir "$fuzz_dir" "$t" "$corpus" "$seeds" -- \
        -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz target $t crashed (input saved under $fuzz_dir/artifacts/$t)" >&2
        exit 1
    fi
    grep -E 'stat::number_of_executed_units' "$log" || true
    rm -f "$log"
    rm -rf "$corpus"
done
echo "fuzz: all $(echo "$targets" | wc -w) targets ran without a crash"
