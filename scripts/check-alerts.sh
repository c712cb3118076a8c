#!/usr/bin/env bash
# The alert rules and the chart that ships them:
#   promtool check rules + test rules   helm/hnsfleet/files/alerts/*.rules.yaml and their unit
#                                       tests (tests/NAME.test.yaml for NAME.rules.yaml: each
#                                       alert fires, and a near miss does not)
#   annotations                         every alert has a severity, a summary, a description
#                                       and a runbook naming a heading of a docs/*.md file
#   helm lint --strict                  helm/hnsfleet
#   helm template                       each PrometheusRule's groups are its rules file's, and
#                                       nothing is rendered without the monitoring.coreos.com/v1
#                                       API or with prometheusRule.enabled=false
# Installs promtool (scripts/setup.sh alerts) and helm (scripts/k8s-tools.sh) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

chart=helm/hnsfleet
rules_files=("$chart"/files/alerts/*.rules.yaml)
helm=tools/bin/helm

command -v promtool >/dev/null 2>&1 || bash scripts/setup.sh alerts
bash scripts/k8s-tools.sh

# PyYAML for the comparisons: the system's if it has one, else a private venv.
python=python3
if ! python3 -c 'import yaml' 2>/dev/null; then
    venv=.cache/venv-alerts
    if ! "$venv/bin/python" -c 'import yaml' 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check PyYAML==6.0.3
    fi
    python=$venv/bin/python
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Helm keeps no state between runs and never reads the user's repositories or plugins.
export HELM_CACHE_HOME=$work/helm-cache HELM_CONFIG_HOME=$work/helm-config \
    HELM_DATA_HOME=$work/helm-data

echo "== promtool check rules"
promtool check rules "${rules_files[@]}"

echo "== promtool test rules"
for rules in "${rules_files[@]}"; do
    tests=$chart/files/alerts/tests/$(basename "$rules" .rules.yaml).test.yaml
    [[ -f $tests ]] || { echo "$rules has no unit tests ($tests)" >&2; exit 1; }
    promtool test rules "$tests"
done

echo "== alert annotations and runbooks"
"$python" - "${rules_files[@]}" <<'EOF'
import os, re, sys, yaml

def anchors(doc_path):
    """GitHub's anchors of the doc's headings."""
    doc = open(doc_path, encoding="utf-8").read()
    return {
        re.sub(r"[^a-z0-9 _-]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in doc.splitlines()
        if line.startswith("#")
    }

problems = []
alerts = 0
names = set()
for rules_path in sys.argv[1:]:
  for group in yaml.safe_load(open(rules_path, encoding="utf-8"))["groups"]:
    for rule in group["rules"]:
        if "alert" not in rule:
            continue
        alerts += 1
        name = rule["alert"]
        if name in names:
            problems.append(f"{name}: defined twice")
        names.add(name)
        if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
            problems.append(f"{name}: severity must be critical or warning")
        annotations = rule.get("annotations", {})
        for key in ("summary", "description", "runbook"):
            if not annotations.get(key):
                problems.append(f"{name}: no {key} annotation")
        runbook = annotations.get("runbook", "")
        path, _, anchor = runbook.partition("#")
        if not (path.startswith("docs/") and os.path.isfile(path) and anchor in anchors(path)):
            problems.append(f"{name}: runbook {runbook!r} is not a heading of a docs/ file")
if alerts == 0:
    problems.append("no alerts")
for problem in problems:
    print(problem, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

echo "== helm lint --strict $chart"
"$helm" lint --strict "$chart"

echo "== helm template $chart (PrometheusRule)"
"$helm" template hnsfleet "$chart" --namespace fleet \
    --api-versions monitoring.coreos.com/v1 \
    --set-string prometheusRule.labels.release=prometheus >"$work/with-api.yaml"
"$helm" template hnsfleet "$chart" --namespace fleet >"$work/without-api.yaml"
"$helm" template hnsfleet "$chart" --namespace fleet \
    --api-versions monitoring.coreos.com/v1 \
    --set prometheusRule.enabled=false >"$work/disabled.yaml"
"$python" - "$work" "${rules_files[@]}" <<'EOF'
import os, sys, yaml

work, rules_paths = sys.argv[1], sys.argv[2:]

def documents(name):
    with open(f"{work}/{name}", encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]

rendered = {
    d["metadata"]["name"]: d
    for d in documents("with-api.yaml")
    if d.get("kind") == "PrometheusRule"
}
assert len(rendered) == len(rules_paths), f"{len(rendered)} PrometheusRules for {len(rules_paths)} files"
for rules_path in rules_paths:
    name = "hnsfleet-" + os.path.basename(rules_path).removesuffix(".rules.yaml")
    rule = rendered[name]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1", rule["apiVersion"]
    assert rule["metadata"]["namespace"] == "fleet", rule["metadata"]
    assert rule["metadata"]["labels"].get("release") == "prometheus", rule["metadata"]["labels"]
    rules = yaml.safe_load(open(rules_path, encoding="utf-8"))
    assert rule["spec"] == rules, f"{name}: the spec differs from {rules_path}"
    print(f"PrometheusRule {name}: "
          f"{sum(len(g['rules']) for g in rule['spec']['groups'])} rules, as in {rules_path}")
for name in ("without-api.yaml", "disabled.yaml"):
    docs = documents(name)
    assert not any(d.get("kind") == "PrometheusRule" for d in docs), f"{name}: a PrometheusRule"
print("none without the API or when disabled")
EOF
