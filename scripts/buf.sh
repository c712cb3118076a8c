#!/usr/bin/env bash
# The gRPC contract gates, with the buf CLI pinned in tools/buf (npm @bufbuild/buf):
#   buf lint      proto/ is STANDARD-clean (proto/buf.yaml)
#   buf breaking  proto/ keeps every frozen contract compatible (FILE rules) with its baseline
#                 image (committed, so a shallow CI clone works): proto/v1.binpb for
#                 hnsfleet.follower.v1, proto/cache-v1.binpb for hnsfleet.cache.v1.
# A new API or major version gets its own directory and, when frozen, its own baseline
# (`buf build proto --path proto/hnsfleet/<api>/<v>/... --exclude-source-info -o ...`); a
# baseline is never regenerated.
set -euo pipefail
cd "$(dirname "$0")/.."

buf=tools/buf/node_modules/.bin/buf
[ -x "$buf" ] || bash scripts/setup.sh buf

echo "== buf lint (proto/)"
"$buf" lint proto
for baseline in proto/v1.binpb proto/cache-v1.binpb; do
    echo "== buf breaking (proto/ against $baseline)"
    "$buf" breaking proto --against "$baseline"
done
