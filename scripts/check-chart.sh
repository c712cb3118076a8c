#!/usr/bin/env bash
# The Helm chart (helm/hnsfleet) and the plain manifests (deploy/), offline:
#   helm lint --strict           default values and helm/hnsfleet/ci/production-values.yaml
#   helm template + kubernetes-validate --strict -k 1.33.0
#                                both, plus variants (DaemonSet frontends, root listener,
#                                Cilium/Calico annotations, TLS from an existing Secret, no
#                                NetworkPolicy egress, no generated keys), every object
#                                validated against the Kubernetes 1.33 schemas, with the CRD
#   scripts/check-chart.py       probes, security contexts, requests, grace periods vs the
#                                drain window, config keys vs README's tables, Services,
#                                NetworkPolicies, RBAC vs crates/watchdog-kube, Secrets, and
#                                custom resources (ReorgWatch against the CRD's schema)
#   values.schema.json           bad values fail `helm lint` with the schema's error
#   generated keys               two renders make different keys (generated, not fixed)
#   deploy/                      up to date with the chart (else: the command to regenerate),
#                                and `kubectl kustomize deploy/kustomize/base` builds
# Installs helm and kubectl (scripts/k8s-tools.sh) and a venv with kubernetes-validate
# (.cache/venv-chart) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

chart=helm/hnsfleet
production=$chart/ci/production-values.yaml
helm=tools/bin/helm
kubectl=tools/bin/kubectl
kube_version=1.33.0

bash scripts/k8s-tools.sh

# kubernetes-validate (its schemas for Kubernetes 1.25-1.37 are bundled), jsonschema, PyYAML.
venv=.cache/venv-chart
if ! "$venv/bin/python" -c 'import kubernetes_validate, jsonschema, yaml' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        kubernetes-validate==1.37.0 jsonschema==4.26.0 PyYAML==6.0.3
fi
python=$venv/bin/python

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Helm keeps no state between runs and never reads the user's repositories or plugins.
export HELM_CACHE_HOME=$work/helm-cache HELM_CONFIG_HOME=$work/helm-config \
    HELM_DATA_HOME=$work/helm-data

echo "== helm lint --strict (default values, production values)"
"$helm" lint --strict --kube-version "$kube_version" "$chart"
"$helm" lint --strict --kube-version "$kube_version" "$chart" -f "$production"

# render NAME [helm template flags...]: renders into $work/NAME.yaml (CRDs included).
render() {
    local name=$1
    shift
    "$helm" template hnsfleet "$chart" --namespace hnsfleet --kube-version "$kube_version" \
        --include-crds "$@" >"$work/$name.yaml"
}
render default --api-versions monitoring.coreos.com/v1
render production -f "$production" \
    --api-versions monitoring.coreos.com/v1 --api-versions cert-manager.io/v1
render daemonset --set frontend.kind=DaemonSet --set frontend.root.enabled=true \
    --set anycast.provider=cilium --set 'anycast.addresses={198.51.100.53}' \
    --set frontend.tls.existingSecret=resolver-tls --set frontend.tls.doq=false \
    --set frontend.config.doh3=false --set networkPolicy.egress.enabled=false
render calico --set anycast.provider=calico --set 'anycast.addresses={198.51.100.53}' \
    --set anycast.pool=anycast-pool --set frontend.autoscaling.enabled=false \
    --set frontend.sig0.generate=false --set chainFollower.attestationKeys.generate=false \
    --set reorgWatchdog.key.generate=false --set reorgWatchdog.unfreezeToken.generate=false \
    --set reorgWatchdog.publish.enabled=true --set network=testnet --set shutdown.preStopSleepSeconds=5
render bird --set frontend.kind=DaemonSet --set anycast.bird.enabled=true \
    --set anycast.bird.address=198.19.0.53 --set 'anycast.bird.peers={10.0.0.1,10.0.0.2}' \
    --set anycast.bird.passwordSecret=bgp-md5 --set frontend.tls.existingSecret=resolver-tls
renders=(default production daemonset calico bird)

echo "== kubernetes-validate --strict -k $kube_version"
for name in "${renders[@]}"; do
    "$venv/bin/kubernetes-validate" --strict --quiet --no-warn -k "$kube_version" "$work/$name.yaml"
    echo "$name: every built-in object valid for Kubernetes $kube_version"
done

echo "== render checks (scripts/check-chart.py)"
for name in "${renders[@]}"; do
    "$python" scripts/check-chart.py "$work/$name.yaml" README.md "$chart"
done

echo "== what the variants render"
"$python" - "$work" <<'EOF'
import sys, yaml

work = sys.argv[1]

def load(name):
    return [d for d in yaml.safe_load_all(open(f"{work}/{name}.yaml", encoding="utf-8")) if d]

def one(docs, kind, name):
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]

def kinds(docs):
    return [d["kind"] for d in docs]

default, production = load("default"), load("production")
daemonset, calico, bird = load("daemonset"), load("calico"), load("bird")

# Defaults: a LoadBalancer with Local traffic policy mapping 53 onto the pod's 5353, the HPA,
# generated keys, no certificate (Do53 only), monitoring objects with the API.
svc = one(default, "Service", "hnsfleet-frontend")
assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["externalTrafficPolicy"] == "Local", svc["spec"]
assert {(p["port"], p["protocol"]) for p in svc["spec"]["ports"]} == {(53, "UDP"), (53, "TCP")}, svc["spec"]["ports"]
frontend = one(default, "Deployment", "hnsfleet-frontend")
ports = {p["name"]: p["containerPort"] for p in frontend["spec"]["template"]["spec"]["containers"][0]["ports"]}
assert ports["dns-udp"] == ports["dns-tcp"] == 5353, ports
assert "replicas" not in frontend["spec"], "the HPA owns the frontends' replicas"
assert kinds(default).count("HorizontalPodAutoscaler") == 1
assert kinds(default).count("Secret") == 4, "follower keys, SIG(0) key, watchdog key, unfreeze token"
assert kinds(default).count("ServiceMonitor") == 4 and kinds(default).count("PrometheusRule") == 2, "fleet and reorg-watchdog rules"
assert "Certificate" not in kinds(default)
assert one(default, "StatefulSet", "hnsfleet-chain-follower")["spec"]["replicas"] == 3
assert one(default, "Deployment", "hnsfleet-reorg-watchdog")["spec"]["replicas"] == 2
assert one(default, "Service", "hnsfleet-proof-cache")["spec"]["clusterIP"] == "None"
assert one(default, "CustomResourceDefinition", "reorgwatches.hnsfleet.io")

# Production: cert-manager certificates, existing Secrets only, MetalLB annotations, DoT/DoQ/DoH.
assert "Secret" not in kinds(production), "production uses existing Secrets"
assert kinds(production).count("Certificate") == 2
svc = one(production, "Service", "hnsfleet-frontend")
ann = svc["metadata"]["annotations"]
assert ann["metallb.universe.tf/loadBalancerIPs"] == "198.51.100.53", ann
assert ann["metallb.universe.tf/address-pool"] == "hnsfleet-anycast", ann
assert {(p["port"], p["protocol"]) for p in svc["spec"]["ports"]} == {
    (53, "UDP"), (53, "TCP"), (853, "TCP"), (853, "UDP"), (443, "TCP"), (443, "UDP")}, svc["spec"]["ports"]
sm = one(production, "ServiceMonitor", "hnsfleet-reorg-watchdog")
assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
tgp = one(production, "Deployment", "hnsfleet-frontend")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
assert tgp == 10 + 15 + 5, tgp

# DaemonSet variant: no HPA, no PDB for it, Cilium's annotation, root listener, no DoQ/DoH3,
# no egress rules.
ds = one(daemonset, "DaemonSet", "hnsfleet-frontend")
assert "HorizontalPodAutoscaler" not in kinds(daemonset)
assert not [d for d in daemonset if d["kind"] == "PodDisruptionBudget" and d["metadata"]["name"] == "hnsfleet-frontend"]
svc = one(daemonset, "Service", "hnsfleet-frontend")
assert svc["metadata"]["annotations"]["lbipam.cilium.io/ips"] == "198.51.100.53"
assert {(p["port"], p["protocol"]) for p in svc["spec"]["ports"]} == {
    (53, "UDP"), (53, "TCP"), (853, "TCP"), (443, "TCP"), (5349, "UDP"), (5349, "TCP")}, svc["spec"]["ports"]
assert all("egress" not in d["spec"] for d in daemonset if d["kind"] == "NetworkPolicy")

# Calico variant: its annotations, fixed replicas, no Secrets and no key files, testnet ports,
# the publish Service, a preStop sleep counted in the grace period.
svc = one(calico, "Service", "hnsfleet-frontend")
assert svc["metadata"]["annotations"]["projectcalico.org/loadBalancerIPs"] == '["198.51.100.53"]'
assert svc["metadata"]["annotations"]["projectcalico.org/ipv4pools"] == '["anycast-pool"]'
assert one(calico, "Deployment", "hnsfleet-frontend")["spec"]["replicas"] == 2
assert "Secret" not in kinds(calico)
cm = one(calico, "ConfigMap", "hnsfleet-reorg-watchdog")["data"]["config.toml"]
assert "key_file" not in cm and "unfreeze_token_file" not in cm and 'publish_listen = "0.0.0.0:9562"' in cm, cm
follower_policy = one(calico, "NetworkPolicy", "hnsfleet-chain-follower")
assert {p["port"] for p in follower_policy["spec"]["egress"][0]["ports"]} == {13038, 45806}
one(calico, "Service", "hnsfleet-reorg-watchdog-publish")
pod = one(calico, "Deployment", "hnsfleet-proof-cache")["spec"]["template"]["spec"]
assert pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"] == 5
assert pod["terminationGracePeriodSeconds"] == 5 + 5 + 10 + 5
# BIRD variant: the frontends announce the anycast address themselves, on the node's network:
# no load balancer, listeners on the address's public ports, the sidecars configured from values.
assert not [d for d in bird if d["kind"] == "Service" and d["metadata"]["name"] == "hnsfleet-frontend"]
pod = one(bird, "DaemonSet", "hnsfleet-frontend")["spec"]["template"]["spec"]
assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
assert [c["name"] for c in pod["containers"]] == ["frontend", "bird", "anycast-health"]
assert pod["initContainers"][0]["name"] == "anycast-address"
assert pod["initContainers"][0]["command"][-1] == "up"
env = {c["name"]: {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}
       for c in pod["containers"]}
assert env["bird"]["ANYCAST_ADDRESS"] == "198.19.0.53" and env["bird"]["ANYCAST_PEERS"] == "10.0.0.1,10.0.0.2"
assert env["bird"]["ANYCAST_PASSWORD"] == {"secretKeyRef": {"name": "bgp-md5", "key": "password"}}
assert env["anycast-health"]["ANYCAST_READY_URL"] == "http://127.0.0.1:9551/readyz"
assert env["anycast-health"]["ANYCAST_PROTOCOLS"] == "anycast4"
ports = {p["name"]: p["containerPort"] for p in pod["containers"][0]["ports"]}
assert (ports["dns-udp"], ports["dot"], ports["doh"]) == (53, 853, 443), ports
cm = one(bird, "ConfigMap", "hnsfleet-frontend")["data"]["config.toml"]
for line in ('dns_listen = "198.19.0.53:53"', 'dot_listen = "198.19.0.53:853"', 'doh_listen = "198.19.0.53:443"'):
    assert line in cm, cm
scripts = one(bird, "ConfigMap", "hnsfleet-frontend-anycast")["data"]
assert set(scripts) == {"anycast-address.sh", "anycast-health.sh", "bird-config.sh"}, set(scripts)
assert all(text.startswith("#!/bin/sh") for text in scripts.values())
print("defaults, production, DaemonSet/Cilium, Calico and BIRD variants render as intended")
EOF

echo "== generated keys differ between installs"
render again --api-versions monitoring.coreos.com/v1
"$python" - "$work/default.yaml" "$work/again.yaml" <<'EOF'
import sys, yaml

def secrets(path):
    return {d["metadata"]["name"]: d["data"] for d in yaml.safe_load_all(open(path)) if d and d["kind"] == "Secret"}

first, second = secrets(sys.argv[1]), secrets(sys.argv[2])
assert first.keys() == second.keys() and first
for name in first:
    for key in first[name]:
        assert first[name][key] != second[name][key], f"{name}/{key} is the same in two renders"
print(f"{sum(len(v) for v in first.values())} generated values, all fresh per install "
      "(kept across upgrades by lookup)")
EOF

echo "== values.schema.json rejects bad values"
bad_values=(
    "chainFollower.replicas=-1"
    "proofCache.replicas=0"
    "network=mainnet"
    "frontend.ports.dns=70000"
    "reorgWatchdog.ports.grpc=0"
    "frontend.kind=StatefulSet"
    "unknownKey=1"
    "frontend.config.no_such_key=1"
    "frontend.config.dns_listen=0.0.0.0:53"
    "proofCache.config.cache_ttl=forever"
    "shutdown.drainSeconds=-5"
    "anycast.provider=bgp"
    "image.pullPolicy=Sometimes"
    "reorgWatchdog.attesters={https://x.example}"
    "anycast.bird.enabled=true"
    "anycast.bird.address=198.19.0.300"
    "anycast.bird.bfd.multiplier=0"
)
for bad in "${bad_values[@]}"; do
    if out=$("$helm" lint --strict "$chart" --set "$bad" 2>&1); then
        echo "helm lint accepted the bad value $bad" >&2
        exit 1
    fi
    if ! grep -q "values don't meet the specifications of the schema" <<<"$out"; then
        echo "helm lint refused $bad, but not with the schema's error:" >&2
        echo "$out" >&2
        exit 1
    fi
    echo "refused $bad: $(grep -m1 -o "at '[^']*'.*" <<<"$out")"
done

echo "== deploy/ is the chart's render"
bash scripts/render-manifests.sh "$work/manifests" 2>/dev/null
for file in hnsfleet.yaml monitoring.yaml reorgwatch-crd.yaml; do
    if ! diff -u "deploy/manifests/$file" "$work/manifests/$file" >"$work/diff" 2>&1; then
        head -40 "$work/diff" >&2
        echo "deploy/manifests/$file is out of date: run  bash scripts/render-manifests.sh" >&2
        exit 1
    fi
done
"$venv/bin/kubernetes-validate" --strict --quiet --no-warn -k "$kube_version" \
    deploy/manifests/hnsfleet.yaml deploy/manifests/reorgwatch-crd.yaml
echo "deploy/manifests: up to date and valid"

echo "== kubectl kustomize deploy/kustomize/base"
"$kubectl" kustomize deploy/kustomize/base >"$work/kustomized.yaml"
"$python" - "$work/kustomized.yaml" <<'EOF'
import sys, yaml

docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {d["kind"] for d in docs}
for kind in ("Namespace", "CustomResourceDefinition", "StatefulSet", "Deployment", "Role", "NetworkPolicy"):
    assert kind in kinds, f"the kustomize base has no {kind}"
assert all(d["metadata"].get("namespace", "hnsfleet") == "hnsfleet" for d in docs)
print(f"deploy/kustomize/base: {len(docs)} objects")
EOF
