#!/usr/bin/env bash
# The one test command: sets everything up (idempotently) and runs every test suite.
#   unit + property + integration tests (real vectors, the CLI binary), the anycast lab (BIRD
#   and the frontend in network namespaces, needs root), the alert rules' unit tests and the
#   chart's PrometheusRules, the Helm chart and deploy/ (scripts/check-chart.sh), the
#   Containerfile's build stage (its release build, run here), then a short coverage-guided
#   fuzz run of every decoder of untrusted bytes. The end-to-end suites (real hsd, Knot,
#   dig/kdig/curl, bns) are integration tests of the cargo run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== cargo test (workspace)"
cargo test --workspace --locked

# The binary cargo test built (target/debug/hnsfleet) serves the lab; about a minute. It runs
# everywhere it can (root with network namespaces: CI); elsewhere it says why it is skipped.
echo "== anycast lab (BIRD, BGP + BFD, frontends in network namespaces)"
lab=0
bash loadtest/anycast-lab/run.sh || lab=$?
case $lab in
    0) ;;
    77) echo "anycast lab SKIPPED: needs root and network namespaces (see the line above)" ;;
    *) exit "$lab" ;;
esac

echo "== alert rules and chart (promtool, helm)"
bash scripts/check-alerts.sh

echo "== Helm chart and deploy/ manifests (helm lint, kubernetes-validate, render checks)"
bash scripts/check-chart.sh

echo "== Containerfile (its build stage's release build, the runtime stage's needs)"
bash scripts/check-containerfile.sh

echo "== fuzz smoke run"
bash scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-20}"
