{{/*
Shared pieces of the hnsfleet chart. Components are named chain-follower, proof-cache, frontend
and reorg-watchdog; every object is `<prefix>-<component>` (prefix: fullnameOverride, else the
release name), which the alert rules' job matcher (`.*reorg-watchdog.*`) relies on.
*/}}

{{- define "hnsfleet.prefix" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end }}

{{/* <prefix>-<component>; call with (dict "root" $ "component" "frontend"). */}}
{{- define "hnsfleet.name" -}}
{{- printf "%s-%s" (include "hnsfleet.prefix" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "hnsfleet.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "hnsfleet.labels" -}}
{{ include "hnsfleet.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: hnsfleet
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "hnsfleet.image" -}}
{{- $image := .Values.image -}}
{{- if $image.digest -}}
{{ $image.repository }}@{{ $image.digest }}
{{- else -}}
{{ $image.repository }}:{{ default .Chart.AppVersion $image.tag }}
{{- end -}}
{{- end }}

{{/* The cluster-internal DNS name of a Service: (dict "root" $ "component" "proof-cache"). */}}
{{- define "hnsfleet.serviceHost" -}}
{{- printf "%s.%s.svc.%s" (include "hnsfleet.name" .) .root.Release.Namespace .root.Values.clusterDomain -}}
{{- end }}

{{/* Every follower replica's gRPC URL, one per line (they vote one by one, so each is named). */}}
{{- define "hnsfleet.followerUrls" -}}
{{- $name := include "hnsfleet.name" (dict "root" . "component" "chain-follower") -}}
{{- $host := include "hnsfleet.serviceHost" (dict "root" . "component" "chain-follower") -}}
{{- range $i := until (int .Values.chainFollower.replicas) }}
{{ printf "http://%s-%d.%s:%d" $name $i $host (int $.Values.chainFollower.ports.grpc) }}
{{- end }}
{{- end }}

{{- define "hnsfleet.watchdogUrl" -}}
{{- printf "http://%s:%d" (include "hnsfleet.serviceHost" (dict "root" . "component" "reorg-watchdog")) (int .Values.reorgWatchdog.ports.grpc) -}}
{{- end }}

{{/* The shared shutdown keys of every service's config. */}}
{{- define "hnsfleet.shutdownConfig" -}}
shutdown_drain: {{ printf "%ds" (int .Values.shutdown.drainSeconds) }}
shutdown_grace: {{ printf "%ds" (int .Values.shutdown.graceSeconds) }}
{{- end }}

{{- define "hnsfleet.terminationGracePeriodSeconds" -}}
{{- $s := .Values.shutdown -}}
{{- add (int $s.preStopSleepSeconds) (int $s.drainSeconds) (int $s.graceSeconds) (int $s.marginSeconds) -}}
{{- end }}

{{- define "hnsfleet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "hnsfleet.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* Probes on the admin port (named `admin`): /healthz for liveness, /readyz for readiness. */}}
{{- define "hnsfleet.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: admin
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet:
    path: /healthz
    port: admin
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: admin
  periodSeconds: 2
  timeoutSeconds: 2
  failureThreshold: 2
  successThreshold: 1
{{- end }}

{{- define "hnsfleet.lifecycle" -}}
{{- if gt (int .Values.shutdown.preStopSleepSeconds) 0 }}
lifecycle:
  preStop:
    sleep:
      seconds: {{ int .Values.shutdown.preStopSleepSeconds }}
{{- end }}
{{- end }}

{{/*
Topology spread: the component's own constraints, else one over nodes and one over zones,
both preferred (ScheduleAnyway), so small clusters still schedule everything.
(dict "root" $ "component" "frontend" "values" .Values.frontend)
*/}}
{{- define "hnsfleet.topologySpread" -}}
{{- if .values.topologySpreadConstraints }}
{{- toYaml .values.topologySpreadConstraints }}
{{- else }}
{{- range $key := list "kubernetes.io/hostname" "topology.kubernetes.io/zone" }}
- maxSkew: 1
  topologyKey: {{ $key }}
  whenUnsatisfiable: ScheduleAnyway
  nodeTaintsPolicy: Honor
  labelSelector:
    matchLabels:
      {{- include "hnsfleet.selectorLabels" $ | nindent 6 }}
{{- end }}
{{- end }}
{{- end }}

{{/* nodeSelector, tolerations, affinity, pull secrets of a pod spec. */}}
{{- define "hnsfleet.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
topologySpreadConstraints:
  {{- include "hnsfleet.topologySpread" . | trim | nindent 2 }}
{{- end }}

{{/*
A Secret made once: every key of the live object when it exists (lookup; nothing under `helm
template`), plus the given fresh data for keys it lacks (a follower added by scaling up); kept on uninstall (resource-policy keep) so keys
survive a reinstall. (dict "root" $ "name" NAME "component" C "data" (dict KEY VALUE))
*/}}
{{- define "hnsfleet.generatedSecret" -}}
{{- $live := lookup "v1" "Secret" .root.Release.Namespace .name -}}
{{- $data := dict -}}
{{- if and $live $live.data }}
{{- $data = deepCopy $live.data }}
{{- end }}
{{- range $key, $value := .data }}
{{- if not (hasKey $data $key) }}
{{- $_ := set $data $key ($value | b64enc) }}
{{- end }}
{{- end }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "hnsfleet.labels" . | nindent 4 }}
  annotations:
    helm.sh/resource-policy: keep
type: Opaque
data:
  {{- range $key, $value := $data }}
  {{ $key }}: {{ $value | quote }}
  {{- end }}
{{- end }}

{{/*
A fresh secp256k1 secret key as 64 hex digits: SHA-256 of 32 random bytes (crypto/rand). Any
256-bit value below the curve order n is a valid key; a value at or above n (or zero) comes
with probability under 2^-127, which the services would refuse at start.
*/}}
{{- define "hnsfleet.newSecp256k1Key" -}}
{{- randBytes 32 | sha256sum -}}
{{- end }}

{{/* Names of the key Secrets in use (generated or existing); empty when none. */}}
{{- define "hnsfleet.followerKeysSecret" -}}
{{- $k := .Values.chainFollower.attestationKeys -}}
{{- if $k.existingSecret }}{{ $k.existingSecret }}{{ else if $k.generate }}{{ include "hnsfleet.name" (dict "root" . "component" "chain-follower-keys") }}{{ end -}}
{{- end }}

{{- define "hnsfleet.sig0Secret" -}}
{{- $k := .Values.frontend.sig0 -}}
{{- if $k.existingSecret }}{{ $k.existingSecret }}{{ else if $k.generate }}{{ include "hnsfleet.name" (dict "root" . "component" "frontend-sig0") }}{{ end -}}
{{- end }}

{{- define "hnsfleet.watchdogKeySecret" -}}
{{- $k := .Values.reorgWatchdog.key -}}
{{- if $k.existingSecret }}{{ $k.existingSecret }}{{ else if $k.generate }}{{ include "hnsfleet.name" (dict "root" . "component" "reorg-watchdog-key") }}{{ end -}}
{{- end }}

{{- define "hnsfleet.unfreezeTokenSecret" -}}
{{- $k := .Values.reorgWatchdog.unfreezeToken -}}
{{- if $k.existingSecret }}{{ $k.existingSecret }}{{ else if $k.generate }}{{ include "hnsfleet.name" (dict "root" . "component" "reorg-watchdog-unfreeze") }}{{ end -}}
{{- end }}

{{/* The TLS Secret of the frontends / the publish endpoint; empty: no TLS. */}}
{{- define "hnsfleet.frontendTlsSecret" -}}
{{- $t := .Values.frontend.tls -}}
{{- if $t.existingSecret }}{{ $t.existingSecret }}{{ else if $t.certManager.enabled }}{{ include "hnsfleet.name" (dict "root" . "component" "frontend-tls") }}{{ end -}}
{{- end }}

{{- define "hnsfleet.publishTlsSecret" -}}
{{- $t := .Values.reorgWatchdog.publish.tls -}}
{{- if $t.existingSecret }}{{ $t.existingSecret }}{{ else if $t.certManager.enabled }}{{ include "hnsfleet.name" (dict "root" . "component" "reorg-watchdog-publish-tls") }}{{ end -}}
{{- end }}

{{/* A cert-manager Certificate: (dict "root" $ "component" C "name" SECRET "tls" VALUES). */}}
{{- define "hnsfleet.certificate" -}}
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "hnsfleet.labels" . | nindent 4 }}
spec:
  secretName: {{ .name }}
  issuerRef:
    name: {{ required (printf "%s: tls.certManager.issuerRef.name is required" .component) .tls.certManager.issuerRef.name }}
    kind: {{ .tls.certManager.issuerRef.kind }}
    group: {{ .tls.certManager.issuerRef.group }}
  dnsNames:
    {{- required (printf "%s: tls.certManager.dnsNames is required" .component) .tls.certManager.dnsNames | toYaml | nindent 4 }}
  duration: {{ .tls.certManager.duration }}
  renewBefore: {{ .tls.certManager.renewBefore }}
  privateKey:
    algorithm: ECDSA
    size: 256
    rotationPolicy: Always
{{- end }}

{{/*
A flat TOML document from a map (the services' configs are flat): keys sorted, strings as JSON
strings (valid TOML basic strings), whole numbers as integers (YAML values arrive as float64,
which Helm's toToml would write as `512.0`, a TOML float the services refuse), lists inline.
*/}}
{{- define "hnsfleet.toml" -}}
{{- range $key := keys . | sortAlpha }}
{{ $key }} = {{ include "hnsfleet.tomlValue" (index $ $key) }}
{{- end }}
{{- end }}

{{- define "hnsfleet.tomlValue" -}}
{{- $kind := kindOf . -}}
{{- if eq $kind "string" -}}
{{ toJson . }}
{{- else if eq $kind "bool" -}}
{{ printf "%t" . }}
{{- else if or (eq $kind "float64") (eq $kind "float32") -}}
{{- if eq (float64 (int64 .)) (float64 .) }}{{ int64 . }}{{ else }}{{ . }}{{ end -}}
{{- else if or (eq $kind "int") (eq $kind "int64") (eq $kind "int32") -}}
{{ . }}
{{- else if eq $kind "slice" -}}
{{- $items := list -}}
{{- range . }}{{ $items = append $items (include "hnsfleet.tomlValue" .) }}{{ end -}}
[{{ join ", " $items }}]
{{- else -}}
{{- fail (printf "config value %v: a %s cannot be written as a flat TOML value" . $kind) -}}
{{- end -}}
{{- end }}

{{/* The BIRD sidecar's image (anycast.bird.image, tag defaulting to the appVersion). */}}
{{- define "hnsfleet.anycastImage" -}}
{{- $i := .Values.anycast.bird.image -}}
{{- printf "%s:%s" $i.repository (default .Chart.AppVersion $i.tag) -}}
{{- end }}

{{/* The anycast address(es) and interface, for anycast-address.sh and bird-config.sh. */}}
{{- define "hnsfleet.anycastAddressEnv" -}}
{{- $b := .Values.anycast.bird -}}
- name: ANYCAST_ADDRESS
  value: {{ $b.address | quote }}
- name: ANYCAST_ADDRESS6
  value: {{ $b.address6 | quote }}
- name: ANYCAST_INTERFACE
  value: {{ $b.interface | quote }}
{{- end }}

{{/* A container of the anycast set-up: root (BIRD's control socket is root's; capabilities
reach no other user) with only the capabilities listed, a read-only root filesystem, no
privilege escalation. */}}
{{- define "hnsfleet.anycastSecurityContext" -}}
runAsUser: 0
runAsNonRoot: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
  {{- if . }}
  add:
  {{- range . }}
    - {{ . }}
  {{- end }}
  {{- end }}
{{- end }}
