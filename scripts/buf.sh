#!/usr/bin/env bash
# The gRPC contract gates, with the buf CLI pinned in tools/buf (npm @bufbuild/buf):
#   buf lint      proto/ is STANDARD-clean (proto/buf.yaml)
#   buf breaking  proto/ keeps every v1 contract compatible (FILE rules) with the frozen
#                 baseline image proto/v1.binpb (committed, so a shallow CI clone works).
# A new major version (v2) gets its own directory and, when frozen, its own baseline; the v1
# baseline is never regenerated.
set -euo pipefail
cd "$(dirname "$0")/.."

buf=tools/buf/node_modules/.bin/buf
[ -x "$buf" ] || bash scripts/setup.sh buf

echo "== buf lint (proto/)"
"$buf" lint proto
echo "== buf breaking (proto/ against proto/v1.binpb)"
"$buf" breaking proto --against proto/v1.binpb
