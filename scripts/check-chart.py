#!/usr/bin/env python3
"""Checks on a rendered hnsfleet chart (scripts/check-chart.sh runs it on each render).

    check-chart.py RENDERED.yaml README.md CHART_DIR

Fails (exit 1, one line per problem) unless, in the render:
- every workload container has startup/liveness probes on /healthz and a readiness probe on
  /readyz, all on its `admin` port; runs non-root with a read-only root filesystem, no
  privilege escalation, every capability dropped and none added; has CPU and memory requests;
  every pod has a RuntimeDefault seccomp profile and topology spread constraints;
- terminationGracePeriodSeconds >= preStop sleep + shutdown_drain + shutdown_grace of the
  service's own config;
- every config file key (and HNSFLEET_* variable) is a key of that service's README table, and
  every file the config names (keys, certificates, token) lies in a mounted volume;
- every Service selects pods and targets ports that exist on them (name, number, protocol);
  PDBs, the HPA and NetworkPolicies select existing workloads, and NetworkPolicy named ports
  exist on the pods they guard;
- the service URLs in configs name rendered Services and ports (each follower replica);
- the watchdog's Role grants exactly what crates/watchdog-kube requests;
- generated key Secrets hold 64 hex digits (tokens: 32+ characters) and are kept on uninstall;
- custom resources are valid: the ReorgWatch against the CRD's openAPIV3Schema, the
  ServiceMonitors, PrometheusRule and Certificates structurally.
It also checks that values.schema.json allows exactly the README keys the chart leaves to
values (so a new service key is either managed by the chart or settable).
"""
import base64
import json
import re
import sys
import tomllib
from pathlib import Path

import jsonschema
import yaml

rendered_path, readme_path, chart_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
docs = [d for d in yaml.safe_load_all(open(rendered_path, encoding="utf-8")) if d]
problems = []


def problem(message):
    problems.append(f"{rendered_path}: {message}")


def by_kind(kind):
    return [d for d in docs if d["kind"] == kind]


def name(obj):
    return f"{obj['kind']}/{obj['metadata']['name']}"


# === README tables: the keys and env variables each service knows ===

SECTIONS = {
    "chain-follower": "The chain-follower",
    "proof-cache": "The proof-cache",
    "frontend": "The frontend",
    "reorg-watchdog": "The reorg-watchdog",
}
VALUES_KEY = {
    "chain-follower": "chainFollower",
    "proof-cache": "proofCache",
    "frontend": "frontend",
    "reorg-watchdog": "reorgWatchdog",
}
readme_keys, readme_env = {}, {}
section = None
for line in open(readme_path, encoding="utf-8"):
    if line.startswith("## "):
        section = line[3:].strip()
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if section and len(cells) >= 4 and cells[0].startswith("`"):
        keys = re.findall(r"`([a-z0-9_]+)`", cells[0])
        envs = re.findall(r"`(HNSFLEET_[A-Z0-9_]+)`", cells[2])
        readme_keys.setdefault(section, set()).update(keys)
        readme_env.setdefault(section, set()).update(envs)
for component, title in SECTIONS.items():
    if not readme_keys.get(title):
        problem(f"README.md has no key table under '## {title}'")


def duration_seconds(text):
    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)\s*(ms|s|m|h)", text):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


# === Workloads ===

workloads = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet")]
configmaps = {d["metadata"]["name"]: d for d in by_kind("ConfigMap")}
services = {d["metadata"]["name"]: d for d in by_kind("Service")}
namespace = next(d["metadata"]["namespace"] for d in docs if d["metadata"].get("namespace"))


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def pods_selected(match_labels):
    return [w for w in workloads if labels_match(match_labels, w["spec"]["template"]["metadata"]["labels"])]


def component_of(obj):
    return obj["metadata"]["labels"].get("app.kubernetes.io/component")


# Containers of the BIRD anycast set-up and the capabilities each needs (files/anycast/README.md).
ANYCAST_CAPABILITIES = {
    "anycast-address": {"NET_ADMIN"},
    "bird": {"NET_ADMIN", "NET_BIND_SERVICE"},
    "anycast-health": set(),
    "frontend": {"NET_BIND_SERVICE"},
}

configs = {}
if len(workloads) != 4:
    problem(f"expected 4 workloads, got {[name(w) for w in workloads]}")
for w in workloads:
    component = component_of(w)
    pod = w["spec"]["template"]["spec"]
    psc = pod.get("securityContext", {})
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem(f"{name(w)}: pod seccompProfile is not RuntimeDefault")
    if not pod.get("topologySpreadConstraints"):
        problem(f"{name(w)}: no topologySpreadConstraints")
    if "replicas" in w["spec"] and w["spec"]["replicas"] < 1:
        problem(f"{name(w)}: replicas < 1")
    # The BIRD anycast set-up (anycast.bird.enabled, frontends on the node's network) is the
    # one place root runs: each of its containers with exactly these capabilities and no other.
    anycast = pod.get("hostNetwork") is True
    if anycast and component != "frontend":
        problem(f"{name(w)}: only the frontends may use the node's network")
    for c in pod.get("initContainers", []) + pod["containers"]:
        where = f"{name(w)} container {c['name']}"
        sc = c.get("securityContext", {})
        caps = sc.get("capabilities", {})
        if anycast and c["name"] in ANYCAST_CAPABILITIES:
            if sc.get("runAsUser") != 0 or sc.get("runAsNonRoot") is not False:
                problem(f"{where}: the anycast containers run as root, explicitly")
            if caps.get("drop") != ["ALL"] or set(caps.get("add") or []) != ANYCAST_CAPABILITIES[c["name"]]:
                problem(f"{where}: capabilities must drop ALL and add exactly {sorted(ANYCAST_CAPABILITIES[c['name']])}")
        else:
            if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
                problem(f"{where}: not runAsNonRoot")
            if sc.get("runAsUser", psc.get("runAsUser", 0)) == 0:
                problem(f"{where}: runs as uid 0")
            if caps.get("drop") != ["ALL"] or caps.get("add"):
                problem(f"{where}: capabilities must drop ALL and add none")
        if sc.get("readOnlyRootFilesystem") is not True:
            problem(f"{where}: root filesystem not read-only")
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(f"{where}: allowPrivilegeEscalation not false")
        requests = c.get("resources", {}).get("requests", {})
        if not requests.get("cpu") or not requests.get("memory"):
            problem(f"{where}: no cpu and memory requests")
    containers = pod["containers"]
    expected = 3 if anycast else 1  # the service, plus bird and anycast-health
    if len(containers) != expected:
        problem(f"{name(w)}: expected {expected} containers, got {[c['name'] for c in containers]}")
        continue
    c = containers[0]
    where = f"{name(w)} container {c['name']}"
    port_names = {p["name"] for p in c.get("ports", [])}
    if "admin" not in port_names:
        problem(f"{where}: no port named admin")
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = c.get(probe, {}).get("httpGet", {})
        if get.get("path") != path or get.get("port") != "admin":
            problem(f"{where}: {probe} must GET {path} on the admin port, got {get}")
    # The service's config: --config FILE from the ConfigMap of the same name.
    if c.get("args", [])[:1] != ["--config"]:
        problem(f"{where}: not started with --config")
        continue
    config_path = c["args"][1]
    mounts = c.get("volumeMounts", [])
    mount = next((m for m in mounts if m["mountPath"] == config_path), None)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    if not mount or "configMap" not in volumes.get(mount["name"], {}):
        problem(f"{where}: {config_path} is not mounted from a ConfigMap")
        continue
    cm = configmaps.get(volumes[mount["name"]]["configMap"]["name"])
    if not cm:
        problem(f"{where}: its ConfigMap is not rendered")
        continue
    config = tomllib.loads(cm["data"][mount.get("subPath", "config.toml")])
    configs[component] = config
    title = SECTIONS.get(component)
    known = readme_keys.get(title, set())
    for key in config:
        if key not in known:
            problem(f"{name(cm)}: key `{key}` is not in README's '{title}' table (the service refuses it)")
    for env in c.get("env", []):
        if env["name"].startswith("HNSFLEET_") and env["name"] not in readme_env.get(title, set()):
            problem(f"{where}: env {env['name']} is not in README's '{title}' table")
    # Files named by the config (or env) must lie in a mounted volume.
    files = {k: v for k, v in config.items() if k in (
        "key_file", "sig0_key", "tls_cert", "tls_key", "unfreeze_token_file",
        "publish_tls_cert", "publish_tls_key")}
    files.update({e["name"]: e["value"] for e in c.get("env", []) if e["name"] == "HNSFLEET_KEY_FILE"})
    if "data_dir" in config:
        files["data_dir"] = config["data_dir"] + "/"
    for key, path in files.items():
        if not any(path.startswith(m["mountPath"].rstrip("/") + "/") for m in mounts):
            problem(f"{where}: `{key}` = {path} is not inside a mounted volume")
    # Grace period covers the drain window.
    grace = pod.get("terminationGracePeriodSeconds", 30)
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    need = pre_stop + duration_seconds(config.get("shutdown_drain", "5s")) + duration_seconds(
        config.get("shutdown_grace", "10s"))
    if grace < need:
        problem(f"{where}: terminationGracePeriodSeconds {grace} < preStop + drain + grace = {need}")
    # The admin listener is the admin port.
    admin = next((p for p in c["ports"] if p["name"] == "admin"), None)
    if admin and config.get("admin_listen", "").rsplit(":", 1)[-1] != str(admin["containerPort"]):
        problem(f"{where}: admin_listen {config.get('admin_listen')} is not the admin port")

# === values.schema.json allows exactly the README keys the chart leaves to values ===

schema = json.load(open(chart_dir / "values.schema.json", encoding="utf-8"))
for component, values_key in VALUES_KEY.items():
    allowed = set(schema["properties"][values_key]["properties"]["config"]["properties"])
    known = readme_keys.get(SECTIONS[component], set())
    managed = set(configs.get(component, {})) - allowed
    if allowed - known:
        problem(f"values.schema.json {values_key}.config allows keys not in README: {sorted(allowed - known)}")
    missing = known - allowed - managed - {"key_file", "data_dir", "shutdown_drain", "shutdown_grace",
                                           "root_listen", "dot_listen", "doh_listen", "doq_listen",
                                           "tls_cert", "tls_key", "sig0_key", "publish_listen",
                                           "publish_tls_cert", "publish_tls_key", "attesters",
                                           "unfreeze_token_file"}
    if missing:
        problem(f"README keys of {component} neither set by the chart nor allowed in "
                f"{values_key}.config: {sorted(missing)}")

# === Services, and the URLs the configs name ===

for svc in services.values():
    selector = svc["spec"].get("selector", {})
    selected = pods_selected(selector)
    if not selected:
        problem(f"{name(svc)}: selects no pods")
        continue
    for port in svc["spec"]["ports"]:
        target = port.get("targetPort", port["port"])
        proto = port.get("protocol", "TCP")
        for w in selected:
            ports = [p for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])]
            if not any((p.get("name") == target or p["containerPort"] == target)
                       and p.get("protocol", "TCP") == proto for p in ports):
                problem(f"{name(svc)}: port {port['name']} targets {target}/{proto}, not a port of {name(w)}")


def check_url(where, url):
    m = re.fullmatch(r"http://([a-z0-9.-]+):([0-9]+)", url)
    if not m:
        problem(f"{where}: {url} is not http://HOST:PORT")
        return
    host, port = m.group(1), int(m.group(2))
    suffix = f".{namespace}.svc.cluster.local"
    if not host.endswith(suffix):
        problem(f"{where}: {url} is not a Service of namespace {namespace}")
        return
    labels = host[: -len(suffix)].split(".")
    svc = services.get(labels[-1])
    if not svc or not any(p["port"] == port for p in svc["spec"]["ports"]):
        problem(f"{where}: {url}: no Service {labels[-1]} with port {port}")
        return
    if len(labels) == 2:  # <pod>.<headless service>
        pod, sts = labels[0], [w for w in workloads if w["kind"] == "StatefulSet"
                               and w["spec"]["serviceName"] == labels[1]]
        ordinal = pod.rsplit("-", 1)
        if not sts or ordinal[0] != sts[0]["metadata"]["name"] or not ordinal[1].isdigit() \
                or int(ordinal[1]) >= sts[0]["spec"]["replicas"]:
            problem(f"{where}: {url} names no replica of a StatefulSet behind {labels[1]}")


for component, config in configs.items():
    urls = []
    for key in ("followers", "caches"):
        urls += config.get(key, [])
    if "watchdog" in config:
        urls.append(config["watchdog"])
    for url in urls:
        check_url(f"{component} config", url)
    for key in ("followers",):
        if key in config:
            sts = next(w for w in workloads if w["kind"] == "StatefulSet")
            if len(config[key]) != sts["spec"]["replicas"]:
                problem(f"{component} config: {len(config[key])} followers, {sts['spec']['replicas']} replicas")

# === PDBs, HPA, NetworkPolicies ===

for pdb in by_kind("PodDisruptionBudget"):
    if not pods_selected(pdb["spec"]["selector"]["matchLabels"]):
        problem(f"{name(pdb)}: selects no pods")
for hpa in by_kind("HorizontalPodAutoscaler"):
    ref = hpa["spec"]["scaleTargetRef"]
    target = next((w for w in workloads if w["kind"] == ref["kind"] and w["metadata"]["name"] == ref["name"]), None)
    if not target:
        problem(f"{name(hpa)}: scales {ref['kind']}/{ref['name']}, which is not rendered")
    elif "replicas" in target["spec"]:
        problem(f"{name(hpa)}: {name(target)} sets replicas, which every upgrade would reset")
    if hpa["spec"]["minReplicas"] < 2:
        problem(f"{name(hpa)}: minReplicas < 2")
policies = by_kind("NetworkPolicy")
guarded = set()
for np in policies:
    selected = pods_selected(np["spec"]["podSelector"].get("matchLabels", {}))
    if not selected or not np["spec"]["podSelector"].get("matchLabels"):
        problem(f"{name(np)}: selects no workload")
        continue
    guarded.update(name(w) for w in selected)
    pod_ports = [p for w in selected for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])]
    for rule in np["spec"].get("ingress", []):
        for peer in rule.get("from", []):
            if "podSelector" in peer and "namespaceSelector" not in peer:
                if not pods_selected(peer["podSelector"].get("matchLabels", {})):
                    problem(f"{name(np)}: an ingress peer selects no pods")
        for port in rule.get("ports", []):
            if isinstance(port["port"], str) and not any(
                    p["name"] == port["port"] and p.get("protocol", "TCP") == port.get("protocol", "TCP")
                    for p in pod_ports):
                problem(f"{name(np)}: ingress port {port['port']} is not a port of its pods")
    for rule in np["spec"].get("egress", []):
        for peer in rule.get("to", []):
            if "podSelector" in peer and "namespaceSelector" not in peer:
                if not pods_selected(peer["podSelector"].get("matchLabels", {})):
                    problem(f"{name(np)}: an egress peer selects no pods")
if policies and guarded != {name(w) for w in workloads}:
    problem(f"NetworkPolicies leave {sorted({name(w) for w in workloads} - guarded)} unguarded")

# === The watchdog's RBAC: exactly what crates/watchdog-kube requests ===

roles = by_kind("Role")
expected = {
    ("coordination.k8s.io", "leases", "create"),
    ("coordination.k8s.io", "leases", "get"),
    ("coordination.k8s.io", "leases", "update"),
    ("hnsfleet.io", "reorgwatches", "create"),
    ("hnsfleet.io", "reorgwatches/status", "patch"),
    ("events.k8s.io", "events", "create"),
}
if len(roles) != 1:
    problem(f"expected one Role, got {len(roles)}")
else:
    granted = {(g, r, v) for rule in roles[0]["rules"] for g in rule["apiGroups"]
               for r in rule["resources"] for v in rule["verbs"]}
    if granted != expected:
        problem(f"{name(roles[0])}: grants {sorted(granted - expected)} too many, "
                f"{sorted(expected - granted)} missing")
    watchdog = configs.get("reorg-watchdog", {})
    for rule in roles[0]["rules"]:
        names = rule.get("resourceNames")
        if names and rule["resources"] == ["leases"] and names != [watchdog.get("kube_lease")]:
            problem(f"{name(roles[0])}: Lease rule names {names}, config kube_lease {watchdog.get('kube_lease')}")
        if names and rule["resources"] == ["reorgwatches/status"] and names != [watchdog.get("kube_resource")]:
            problem(f"{name(roles[0])}: status rule names {names}, config kube_resource {watchdog.get('kube_resource')}")
    bindings = [b for b in by_kind("RoleBinding") if b["roleRef"]["name"] == roles[0]["metadata"]["name"]]
    sa = next((w["spec"]["template"]["spec"].get("serviceAccountName") for w in workloads
               if component_of(w) == "reorg-watchdog"), None)
    if not bindings or bindings[0]["subjects"][0]["name"] != sa:
        problem(f"{name(roles[0])}: not bound to the watchdog's service account {sa}")

# === Generated Secrets ===

for secret in by_kind("Secret"):
    if secret["metadata"].get("annotations", {}).get("helm.sh/resource-policy") != "keep":
        problem(f"{name(secret)}: generated Secret without helm.sh/resource-policy: keep")
    for key, value in secret.get("data", {}).items():
        text = base64.b64decode(value).decode()
        if key.endswith(".key") and not re.fullmatch(r"[0-9a-f]{64}", text):
            problem(f"{name(secret)}: {key} is not 64 hex digits")
        if key == "token" and len(text) < 32:
            problem(f"{name(secret)}: token shorter than 32 characters")

# === Custom resources ===

crd = yaml.safe_load(open(chart_dir / "crds/reorgwatch.yaml", encoding="utf-8"))


def openapi_to_jsonschema(node):
    """OpenAPI v3 `nullable` as JSON Schema types; everything else is JSON Schema already."""
    if isinstance(node, dict):
        out = {k: openapi_to_jsonschema(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") and "type" in node:
            out["type"] = [node["type"], "null"]
        return out
    if isinstance(node, list):
        return [openapi_to_jsonschema(v) for v in node]
    return node


version = crd["spec"]["versions"][0]
crd_schema = openapi_to_jsonschema(version["schema"]["openAPIV3Schema"])
for rw in by_kind("ReorgWatch"):
    if rw["apiVersion"] != f"{crd['spec']['group']}/{version['name']}":
        problem(f"{name(rw)}: apiVersion {rw['apiVersion']} is not the CRD's")
    body = {k: v for k, v in rw.items() if k not in ("apiVersion", "kind", "metadata")}
    for error in jsonschema.Draft7Validator(crd_schema).iter_errors(body):
        problem(f"{name(rw)}: {error.message} at {list(error.path)}")
    if rw["metadata"]["name"] != configs.get("reorg-watchdog", {}).get("kube_resource"):
        problem(f"{name(rw)}: not the watchdog's kube_resource")

for sm in by_kind("ServiceMonitor"):
    spec = sm["spec"]
    svcs = [s for s in services.values() if labels_match(spec["selector"]["matchLabels"], s["metadata"]["labels"])]
    for ep in spec["endpoints"]:
        if set(ep) - {"port", "path", "interval", "scrapeTimeout"} or ep.get("path") != "/metrics":
            problem(f"{name(sm)}: unexpected endpoint {ep}")
        if not any(p["name"] == ep["port"] for s in svcs for p in s["spec"]["ports"]):
            problem(f"{name(sm)}: no selected Service has a port named {ep['port']}")
    if set(spec) - {"selector", "namespaceSelector", "endpoints"}:
        problem(f"{name(sm)}: unexpected spec fields {set(spec)}")
for rule in by_kind("PrometheusRule"):
    for group in rule["spec"].get("groups", []):
        if not group.get("name") or not group.get("rules"):
            problem(f"{name(rule)}: a group without name or rules")
        for r in group["rules"]:
            if not isinstance(r.get("expr"), str) or not (r.get("alert") or r.get("record")):
                problem(f"{name(rule)}: a rule without expr, alert or record")
cert_fields = {"secretName", "issuerRef", "dnsNames", "duration", "renewBefore", "privateKey", "commonName",
               "usages", "ipAddresses"}
for cert in by_kind("Certificate"):
    spec = cert["spec"]
    if cert["apiVersion"] != "cert-manager.io/v1" or set(spec) - cert_fields:
        problem(f"{name(cert)}: unexpected apiVersion or fields {sorted(set(spec) - cert_fields)}")
    if not spec.get("secretName") or not spec.get("dnsNames") or not spec.get("issuerRef", {}).get("name"):
        problem(f"{name(cert)}: secretName, dnsNames and issuerRef.name are required")
    if spec.get("issuerRef", {}).get("kind") not in ("Issuer", "ClusterIssuer"):
        problem(f"{name(cert)}: issuerRef.kind must be Issuer or ClusterIssuer")
    mounted = {v["secret"]["secretName"] for w in workloads for v in w["spec"]["template"]["spec"].get("volumes", [])
               if "secret" in v}
    if spec.get("secretName") not in mounted:
        problem(f"{name(cert)}: its Secret {spec.get('secretName')} is mounted by no workload")

for p in problems:
    print(p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"{rendered_path}: {len(docs)} objects, {len(workloads)} workloads: probes, security, requests, "
      f"grace periods, config keys, Services, policies, RBAC, Secrets and custom resources OK")
