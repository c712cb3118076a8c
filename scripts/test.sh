#!/usr/bin/env bash
# The one test command: sets everything up (idempotently) and runs every test suite.
#   unit + property + integration tests (real vectors, the CLI binary), the alert rules' unit
#   tests and the chart's PrometheusRules, the Helm chart and deploy/ (scripts/check-chart.sh),
#   the Containerfile's build stage (its release build, run here), then a short
#   coverage-guided fuzz run of every decoder of untrusted bytes. The end-to-end suites (real
#   hsd, Knot, dig/kdig/curl, bns) are integration tests of the cargo run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== cargo test (workspace)"
cargo test --workspace --locked

echo "== alert rules and chart (promtool, helm)"
bash scripts/check-alerts.sh

echo "== Helm chart and deploy/ manifests (helm lint, kubernetes-validate, render checks)"
bash scripts/check-chart.sh

echo "== Containerfile (its build stage's release build, the runtime stage's needs)"
bash scripts/check-containerfile.sh

echo "== fuzz smoke run"
bash scripts/fuzz-smoke.sh "${FUZZ_SECONDS:-20}"
