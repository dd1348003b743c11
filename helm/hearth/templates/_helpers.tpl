{{/* ------------------------------------------------------------------ names */}}

{{- define "hearth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hearth.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hearth.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of a component's Deployment (and gRPC Service): the monolith is just <fullname>.
     Input: dict root name */}}
{{- define "hearth.componentFullname" -}}
{{- if eq .name "monolith" }}
{{- include "hearth.fullname" .root }}
{{- else }}
{{- printf "%s-%s" (include "hearth.fullname" .root | trunc 50 | trimSuffix "-") .name }}
{{- end }}
{{- end }}

{{/* The gateway's HTTP Service, in both modes (what Ingress/HTTPRoute point at). */}}
{{- define "hearth.gatewayService" -}}
{{- printf "%s-gateway" (include "hearth.fullname" . | trunc 50 | trimSuffix "-") }}
{{- end }}

{{/* The Service that answers gRPC for a role: in monolithic mode one Service for all roles. */}}
{{- define "hearth.grpcService" -}}
{{- if eq .root.Values.mode "monolithic" }}
{{- printf "%s-grpc" (include "hearth.fullname" .root | trunc 50 | trimSuffix "-") }}
{{- else }}
{{- include "hearth.componentFullname" . }}
{{- end }}
{{- end }}

{{- define "hearth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "hearth.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "hearth.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Components this release runs, space-separated, in a fixed order. */}}
{{- define "hearth.componentNames" -}}
{{- if eq .Values.mode "monolithic" }}
{{- print "monolith" }}
{{- else }}
{{- $names := list }}
{{- range $n := list "gateway" "identity" "rooms" "chat" "polls" "recommendations" "provider" }}
{{- if (index $.Values.components $n).enabled }}
{{- $names = append $names $n }}
{{- end }}
{{- end }}
{{- join " " $names }}
{{- end }}
{{- end }}

{{/* The values block of a component. Input: dict root name. Output: YAML (use fromYaml). */}}
{{- define "hearth.componentValues" -}}
{{- if eq .name "monolith" }}
{{- toYaml .root.Values.monolithic }}
{{- else }}
{{- toYaml (index .root.Values.components .name) }}
{{- end }}
{{- end }}

{{/* Does the component serve the gateway's HTTP port / a gRPC port? (A gateway-only process opens no gRPC port.) */}}
{{- define "hearth.hasHttp" -}}
{{- if or (eq .name "monolith") (eq .name "gateway") }}true{{ end }}
{{- end }}
{{- define "hearth.hasGrpc" -}}
{{- if ne .name "gateway" }}true{{ end }}
{{- end }}

{{/* ------------------------------------------------------------------ labels */}}

{{- define "hearth.labels" -}}
helm.sh/chart: {{ include "hearth.chart" . }}
{{ include "hearth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: hearth
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "hearth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hearth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of a component's resources. Input: dict root name */}}
{{- define "hearth.componentLabels" -}}
{{ include "hearth.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{- define "hearth.componentSelectorLabels" -}}
{{ include "hearth.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* ------------------------------------------------------------------ dependencies */}}

{{- define "hearth.postgresql.fullname" -}}
{{- printf "%s-postgresql" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "hearth.redis.fullname" -}}
{{- printf "%s-redis" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "hearth.nats.fullname" -}}
{{- printf "%s-nats" .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fails rendering with a clear message when a required setting is missing or contradictory.
     Called from the ConfigMap, which every rendering includes. */}}
{{- define "hearth.validate" -}}
{{- $v := .Values }}
{{- $pg := add (ternary 1 0 (ne $v.postgres.url "")) (ternary 1 0 (ne $v.postgres.existingSecret "")) (ternary 1 0 $v.postgresql.enabled) }}
{{- if ne (int $pg) 1 }}
{{- fail (printf "hearth: PostgreSQL: set exactly one of postgres.url, postgres.existingSecret or postgresql.enabled=true (bundled, quick start only); got %d" (int $pg)) }}
{{- end }}
{{- $rd := add (ternary 1 0 (ne $v.redis.url "")) (ternary 1 0 (gt (len $v.redis.clusterUrls) 0)) (ternary 1 0 (ne $v.redis.existingSecret "")) (ternary 1 0 $v.redis.enabled) }}
{{- if ne (int $rd) 1 }}
{{- fail (printf "hearth: Redis: set exactly one of redis.url, redis.clusterUrls, redis.existingSecret or redis.enabled=true (bundled, quick start only); got %d" (int $rd)) }}
{{- end }}
{{- if and $v.redis.cluster (eq $v.redis.existingSecret "") }}
{{- fail "hearth: redis.cluster=true only applies to redis.existingSecret (for inline seed nodes use redis.clusterUrls)" }}
{{- end }}
{{- $nt := add (ternary 1 0 (gt (len $v.nats.urls) 0)) (ternary 1 0 (ne $v.nats.existingSecret "")) (ternary 1 0 $v.nats.enabled) }}
{{- if ne (int $nt) 1 }}
{{- fail (printf "hearth: NATS: set exactly one of nats.urls, nats.existingSecret or nats.enabled=true (bundled, quick start only); got %d" (int $nt)) }}
{{- end }}
{{- if eq (add (ternary 1 0 (ne $v.auth.signingKey.value "")) (ternary 1 0 (ne $v.auth.signingKey.existingSecret ""))) 0 }}
{{- fail "hearth: auth.signingKey.existingSecret (or auth.signingKey.value) is required: every pod must sign and verify with the same Ed25519 key (openssl genpkey -algorithm ed25519), and pods cannot write a development key" }}
{{- end }}
{{- if and (ne $v.auth.signingKey.value "") (ne $v.auth.signingKey.existingSecret "") }}
{{- fail "hearth: set only one of auth.signingKey.value and auth.signingKey.existingSecret" }}
{{- end }}
{{- range $k := list "apiKey" "ingestKey" }}
{{- $s := index $v.provider $k }}
{{- if and (ne $s.value "") (ne $s.existingSecret "") }}
{{- fail (printf "hearth: set only one of provider.%s.value and provider.%s.existingSecret" $k $k) }}
{{- end }}
{{- end }}
{{- if and $v.providerAdapter.enabled (eq $v.providerAdapter.playlist "") }}
{{- fail "hearth: providerAdapter.enabled needs providerAdapter.playlist (an M3U URL)" }}
{{- end }}
{{- if eq $v.mode "microservices" }}
{{- range $n := list "gateway" "identity" "rooms" "chat" "polls" }}
{{- if not (index $v.components $n).enabled }}
{{- fail (printf "hearth: components.%s.enabled=false: the %s role is required in microservices mode" $n $n) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (eq $v.pod.gatewayPreStop "native") (semverCompare "<1.30.0-0" .Capabilities.KubeVersion.Version) }}
{{- fail (printf "hearth: pod.gatewayPreStop=native needs Kubernetes >= 1.30 (the preStop sleep action); this cluster is %s (use auto)" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- $need := add $v.pod.shutdownGracePeriodSeconds $v.pod.gatewayPreStopSleepSeconds }}
{{- if le (int $v.pod.terminationGracePeriodSeconds) (int $need) }}
{{- fail (printf "hearth: pod.terminationGracePeriodSeconds (%d) must exceed pod.shutdownGracePeriodSeconds + pod.gatewayPreStopSleepSeconds (%d), or Kubernetes kills pods before they drain" (int $v.pod.terminationGracePeriodSeconds) (int $need)) }}
{{- end }}
{{- end }}

{{/* ------------------------------------------------------------------ TOML */}}

{{/* One TOML value. Helm reads numbers from YAML as float64, so whole numbers are printed
     as integers (Hearth's integer keys reject 20.0); strings are JSON-quoted, which is valid
     TOML basic-string syntax. */}}
{{- define "hearth.tomlValue" -}}
{{- $k := kindOf . }}
{{- if eq $k "string" }}{{ toJson . }}
{{- else if eq $k "bool" }}{{ ternary "true" "false" . }}
{{- else if or (eq $k "float64") (eq $k "float32") }}{{ if eq (float64 (int64 .)) (float64 .) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else if hasPrefix "int" $k }}{{ . }}
{{- else if eq $k "slice" }}[{{ range $i, $e := . }}{{ if $i }}, {{ end }}{{ include "hearth.tomlValue" $e }}{{ end }}]
{{- else if eq $k "map" }}{ {{- range $i, $key := keys . | sortAlpha }}{{ if $i }},{{ end }} {{ $key }} = {{ include "hearth.tomlValue" (index $ $key) }}{{ end }} }
{{- else }}{{ fail (printf "hearth: cannot write a %s to TOML" $k) }}
{{- end }}
{{- end }}

{{/* The effective Hearth configuration: values' `config` plus the keys the chart manages. */}}
{{- define "hearth.configDict" -}}
{{- $c := deepCopy .Values.config }}
{{- $set := dict }}
{{- $_ := set $set "shutdown" (dict "grace_period" (printf "%ds" (int .Values.pod.shutdownGracePeriodSeconds))) }}
{{- $tel := dict "json_logs" .Values.telemetry.jsonLogs }}
{{- with .Values.telemetry.otlpEndpoint }}{{ $_ := set $tel "otlp_endpoint" . }}{{ end }}
{{- $_ := set $set "telemetry" $tel }}
{{- $public := include "hearth.publicUrl" . }}
{{- if $public }}{{ $_ := set $set "rooms" (dict "public_url" $public) }}{{ end }}
{{- $auth := dict }}
{{- with .Values.auth.signingKeyId }}{{ $_ := set $auth "signing_key_id" . }}{{ end }}
{{- $_ := set $set "auth" $auth }}
{{- $provider := include "hearth.providerUrl" . }}
{{- if $provider }}{{ $_ := set $set "provider" (dict "url" $provider) }}{{ end }}
{{- if .Values.nats.credentials.existingSecret }}
{{- $_ := set $set "nats" (dict "credentials_file" (printf "/etc/hearth/nats/%s" .Values.nats.credentials.key)) }}
{{- end }}
{{- toYaml (mustMergeOverwrite $c $set) }}
{{- end }}

{{/* hearth.toml: one [section] per non-empty table, keys sorted (stable output). */}}
{{- define "hearth.configToml" -}}
# Rendered by the hearth Helm chart from values `config` (+ chart-managed keys).
# Secrets are not here: they come from Secrets as HEARTH_* env vars.
{{- $c := include "hearth.configDict" . | fromYaml }}
{{- range $section := keys $c | sortAlpha }}
{{- $table := index $c $section }}
{{- if $table }}

[{{ $section }}]
{{- range $key := keys $table | sortAlpha }}
{{ $key }} = {{ include "hearth.tomlValue" (index $table $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hearth.publicUrl" -}}
{{- if .Values.publicUrl }}
{{- .Values.publicUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- $tls := false }}
{{- range .Values.ingress.tls }}{{ if has $host .hosts }}{{ $tls = true }}{{ end }}{{ end }}
{{- printf "%s://%s" (ternary "https" "http" $tls) $host }}
{{- end }}
{{- end }}

{{- define "hearth.providerUrl" -}}
{{- if .Values.provider.url }}
{{- .Values.provider.url }}
{{- else if .Values.providerAdapter.enabled }}
{{- printf "http://%s:50070" (include "hearth.providerAdapter.fullname" .) }}
{{- end }}
{{- end }}

{{- define "hearth.providerAdapter.fullname" -}}
{{- printf "%s-provider-m3u" (include "hearth.fullname" . | trunc 49 | trimSuffix "-") }}
{{- end }}

{{/* ------------------------------------------------------------------ secrets */}}

{{/* Data of the chart-managed Secret: only what was given inline in values or points at a
     bundled dependency. Empty when everything comes from existing Secrets. */}}
{{- define "hearth.secretData" -}}
{{- $v := .Values }}
{{- if $v.postgres.url }}
database-url: {{ $v.postgres.url | b64enc | quote }}
{{- end }}
{{- if $v.redis.url }}
redis-url: {{ $v.redis.url | b64enc | quote }}
{{- else if $v.redis.clusterUrls }}
redis-cluster-urls: {{ include "hearth.tomlValue" $v.redis.clusterUrls | b64enc | quote }}
{{- else if $v.redis.enabled }}
redis-url: {{ printf "redis://%s:6379" (include "hearth.redis.fullname" .) | b64enc | quote }}
{{- end }}
{{- if $v.nats.urls }}
nats-url: {{ join "," $v.nats.urls | b64enc | quote }}
{{- else if $v.nats.enabled }}
nats-url: {{ printf "nats://%s:4222" (include "hearth.nats.fullname" .) | b64enc | quote }}
{{- end }}
{{- with $v.auth.signingKey.value }}
signing-key.pem: {{ . | b64enc | quote }}
{{- end }}
{{- with $v.provider.apiKey.value }}
provider-api-key: {{ . | b64enc | quote }}
{{- end }}
{{- with $v.provider.ingestKey.value }}
provider-ingest-key: {{ . | b64enc | quote }}
{{- end }}
{{- end }}

{{/* env entry from a Secret key. Input: dict name secret key */}}
{{- define "hearth.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}

{{/* Connection env vars (database, redis, nats). Input: root context. The migration Job passes
     its own Secret name (the hook copy) as .secretName. Input: dict root secretName */}}
{{- define "hearth.env.database" -}}
{{- $v := .root.Values }}
{{- if $v.postgres.existingSecret }}
{{ include "hearth.secretEnv" (dict "name" "HEARTH_DATABASE__URL" "secret" $v.postgres.existingSecret "key" $v.postgres.existingSecretKey) }}
{{- else if $v.postgres.url }}
{{ include "hearth.secretEnv" (dict "name" "HEARTH_DATABASE__URL" "secret" .secretName "key" "database-url") }}
{{- else }}
{{- /* Bundled PostgreSQL: its password lives in the subchart's Secret; Kubernetes expands
       $(BUNDLED_POSTGRES_PASSWORD) (declared first) into the URL. The name is not HEARTH_*,
       so Hearth does not read it as a setting. The generated password is alphanumeric. */}}
{{ include "hearth.secretEnv" (dict "name" "BUNDLED_POSTGRES_PASSWORD" "secret" (include "hearth.postgresql.fullname" .root) "key" "password") }}
- name: HEARTH_DATABASE__URL
  value: {{ printf "postgres://%s:$(BUNDLED_POSTGRES_PASSWORD)@%s:5432/%s" $v.postgresql.auth.username (include "hearth.postgresql.fullname" .root) $v.postgresql.auth.database | quote }}
{{- end }}
{{- end }}

{{- define "hearth.env.connections" -}}
{{- $v := .root.Values }}
{{- include "hearth.env.database" . }}
{{- if $v.redis.existingSecret }}
{{ include "hearth.secretEnv" (dict "name" (ternary "HEARTH_REDIS__CLUSTER_URLS" "HEARTH_REDIS__URL" $v.redis.cluster) "secret" $v.redis.existingSecret "key" $v.redis.existingSecretKey) }}
{{- else if $v.redis.clusterUrls }}
{{ include "hearth.secretEnv" (dict "name" "HEARTH_REDIS__CLUSTER_URLS" "secret" .secretName "key" "redis-cluster-urls") }}
{{- else }}
{{ include "hearth.secretEnv" (dict "name" "HEARTH_REDIS__URL" "secret" .secretName "key" "redis-url") }}
{{- end }}
{{- if $v.nats.existingSecret }}
{{ include "hearth.secretEnv" (dict "name" "HEARTH_NATS__URL" "secret" $v.nats.existingSecret "key" $v.nats.existingSecretKey) }}
{{- else }}
{{ include "hearth.secretEnv" (dict "name" "HEARTH_NATS__URL" "secret" .secretName "key" "nats-url") }}
{{- end }}
{{- if $v.auth.signingKey.existingSecret }}
{{ include "hearth.secretEnv" (dict "name" "HEARTH_AUTH__SIGNING_KEY" "secret" $v.auth.signingKey.existingSecret "key" $v.auth.signingKey.existingSecretKey) }}
{{- else }}
{{ include "hearth.secretEnv" (dict "name" "HEARTH_AUTH__SIGNING_KEY" "secret" .secretName "key" "signing-key.pem") }}
{{- end }}
{{- end }}

{{/* Provider keys: only for the pods that run the provider role (least privilege).
     Input: dict root secretName envName (api key's variable name) */}}
{{- define "hearth.env.providerKeys" -}}
{{- $v := .root.Values }}
{{- $api := $v.provider.apiKey }}
{{- if $api.existingSecret }}
{{ include "hearth.secretEnv" (dict "name" .apiKeyEnv "secret" $api.existingSecret "key" $api.existingSecretKey) }}
{{- else if $api.value }}
{{ include "hearth.secretEnv" (dict "name" .apiKeyEnv "secret" .secretName "key" "provider-api-key") }}
{{- end }}
{{- if .ingest }}
{{- $ing := $v.provider.ingestKey }}
{{- if $ing.existingSecret }}
{{ include "hearth.secretEnv" (dict "name" "HEARTH_PROVIDER__INGEST_KEY" "secret" $ing.existingSecret "key" $ing.existingSecretKey) }}
{{- else if $ing.value }}
{{ include "hearth.secretEnv" (dict "name" "HEARTH_PROVIDER__INGEST_KEY" "secret" .secretName "key" "provider-ingest-key") }}
{{- end }}
{{- end }}
{{- end }}

{{/* Downward API + OpenTelemetry identity. Input: dict root serviceName */}}
{{- define "hearth.env.identity" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: HEARTH_TELEMETRY__SERVICE_NAME
  value: {{ .serviceName | quote }}
{{- $attrs := list "service.instance.id=$(POD_NAME)" "k8s.pod.name=$(POD_NAME)" "k8s.namespace.name=$(POD_NAMESPACE)" }}
{{- range $k := keys .root.Values.telemetry.resourceAttributes | sortAlpha }}
{{- $attrs = append $attrs (printf "%s=%v" $k (index $.root.Values.telemetry.resourceAttributes $k)) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
- name: OTEL_METRIC_EXPORT_INTERVAL
  value: {{ .root.Values.telemetry.metricExportIntervalMs | int | toString | quote }}
{{- end }}

{{/* All env vars of a Hearth component container. Input: dict root name values */}}
{{- define "hearth.env" -}}
{{- $root := .root }}
{{- $secret := include "hearth.fullname" $root }}
{{- include "hearth.env.identity" (dict "root" $root "serviceName" (ternary "hearth" (printf "hearth-%s" .name) (eq .name "monolith"))) }}
{{- if include "hearth.hasHttp" . }}
{{- /* Unique per gateway: presence leases show which pod holds which connections. */}}
- name: HEARTH_GATEWAY__INSTANCE_ID
  value: "$(POD_NAME)"
{{- end }}
{{- include "hearth.env.connections" (dict "root" $root "secretName" $secret) }}
{{- if or (eq .name "monolith") (eq .name "provider") }}
{{- include "hearth.env.providerKeys" (dict "root" $root "secretName" $secret "apiKeyEnv" "HEARTH_PROVIDER__API_KEY" "ingest" true) }}
{{- end }}
{{- if eq $root.Values.mode "microservices" }}
{{- /* Roles find each other through their Services. A disabled optional role gets "" (its
       features answer "unsupported" / no catalog). In monolithic mode the defaults (the
       process itself) are right, so nothing is set. */}}
{{- range $n := list "identity" "rooms" "chat" "polls" "recommendations" "provider" }}
- name: HEARTH_SERVICES__{{ upper $n }}_URL
  value: {{ ternary (printf "http://%s:50051" (include "hearth.componentFullname" (dict "root" $root "name" $n))) "" (index $root.Values.components $n).enabled | quote }}
{{- end }}
{{- end }}
{{- with $root.Values.pod.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with .values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* ------------------------------------------------------------------ pod pieces */}}

{{/* Pod template annotations that roll the pods when the config or the chart's Secret change. */}}
{{- define "hearth.checksums" -}}
checksum/config: {{ include "hearth.configToml" . | sha256sum }}
{{- with include "hearth.secretData" . }}
checksum/secret: {{ . | sha256sum }}
{{- end }}
{{- end }}

{{- define "hearth.volumeMounts" -}}
- name: config
  mountPath: /etc/hearth
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- if .Values.nats.credentials.existingSecret }}
- name: nats-credentials
  mountPath: /etc/hearth/nats
  readOnly: true
{{- end }}
{{- end }}

{{/* Input: dict root configMap */}}
{{- define "hearth.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .root.Values.pod.tmpSizeLimit }}
{{- if .root.Values.nats.credentials.existingSecret }}
- name: nats-credentials
  secret:
    secretName: {{ .root.Values.nats.credentials.existingSecret }}
    defaultMode: 0400
    items:
      - key: {{ .root.Values.nats.credentials.key }}
        path: {{ .root.Values.nats.credentials.key }}
{{- end }}
{{- end }}

{{/* Probes. Gateway (and monolith): HTTP /healthz and /readyz. Services: native gRPC health on 50051. Input: dict root name */}}
{{- define "hearth.probes" -}}
{{- $p := .root.Values.pod.probes }}
{{- if include "hearth.hasHttp" . }}
startupProbe:
  httpGet:
    path: /healthz
    port: http
  {{- toYaml $p.startup | nindent 2 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  {{- toYaml $p.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  {{- toYaml $p.readiness | nindent 2 }}
{{- else }}
startupProbe:
  grpc:
    port: 50051
  {{- toYaml $p.startup | nindent 2 }}
livenessProbe:
  grpc:
    port: 50051
    {{- with $p.grpcLivenessService }}
    service: {{ . | quote }}
    {{- end }}
  {{- toYaml $p.liveness | nindent 2 }}
readinessProbe:
  grpc:
    port: 50051
  {{- toYaml $p.readiness | nindent 2 }}
{{- end }}
{{- end }}

{{/* Zone and node spread for one component's pods. Input: dict root name */}}
{{- define "hearth.topologySpread" -}}
{{- $t := .root.Values.pod.topologySpread }}
{{- if $t.enabled }}
topologySpreadConstraints:
{{- range $key := list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: {{ $t.maxSkew }}
    topologyKey: {{ $key }}
    whenUnsatisfiable: {{ $t.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "hearth.componentSelectorLabels" $ | nindent 8 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Pod-level fields shared by every Hearth pod. */}}
{{- define "hearth.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
{{- with .Values.pod.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
securityContext:
  {{- toYaml .Values.pod.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Egress rules when networkPolicy.egress.restrict: DNS, this release's pods, extra rules. */}}
{{- define "hearth.networkPolicy.egress" -}}
egress:
  - ports:
      - port: 53
        protocol: UDP
      - port: 53
        protocol: TCP
  - to:
      - podSelector:
          matchLabels:
            app.kubernetes.io/instance: {{ .Release.Name }}
  {{- with .Values.networkPolicy.egress.rules }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* The gateway's preStop sleep as it will run: native, exec or none. The image is distroless
     (no `sleep` binary), so `auto` uses the kubelet's sleep action where it exists (1.30+). */}}
{{- define "hearth.preStopMode" -}}
{{- $mode := .Values.pod.gatewayPreStop }}
{{- if le (int .Values.pod.gatewayPreStopSleepSeconds) 0 }}
{{- $mode = "none" }}
{{- else if eq $mode "auto" }}
{{- $mode = ternary "native" "none" (semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- $mode }}
{{- end }}
