{{/* Helpers of the leakrange control-plane chart. Every helper is named leakrange.*. */}}

{{/* Chart name, overridable. */}}
{{- define "leakrange.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource-name prefix: <release>-<chart>, or the release name when it already holds it. */}}
{{- define "leakrange.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "leakrange.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels shared by every object (without component). */}}
{{- define "leakrange.labels" -}}
helm.sh/chart: {{ include "leakrange.chart" . }}
app.kubernetes.io/name: {{ include "leakrange.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: leakrange
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels: name + instance (callers add the component). */}}
{{- define "leakrange.selectorLabels" -}}
app.kubernetes.io/name: {{ include "leakrange.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Orchestrator: full labels and selector labels. */}}
{{- define "leakrange.orchestrator.labels" -}}
{{ include "leakrange.labels" . }}
app.kubernetes.io/component: orchestrator
{{- end -}}

{{- define "leakrange.orchestrator.selectorLabels" -}}
{{ include "leakrange.selectorLabels" . }}
app.kubernetes.io/component: orchestrator
{{- end -}}

{{/* MinIO: full labels and selector labels. */}}
{{- define "leakrange.minio.labels" -}}
{{ include "leakrange.labels" . }}
app.kubernetes.io/component: minio
{{- end -}}

{{- define "leakrange.minio.selectorLabels" -}}
{{ include "leakrange.selectorLabels" . }}
app.kubernetes.io/component: minio
{{- end -}}

{{- define "leakrange.orchestrator.fullname" -}}
{{- printf "%s-orchestrator" (include "leakrange.fullname" .) -}}
{{- end -}}

{{- define "leakrange.minio.fullname" -}}
{{- printf "%s-minio" (include "leakrange.fullname" .) -}}
{{- end -}}

{{- define "leakrange.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "leakrange.orchestrator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* An image reference: repository@digest when a digest is set (immutable), else repository:tag. */}}
{{- define "leakrange.imageRef" -}}
{{- if .digest -}}
{{- printf "%s@%s" .repository .digest -}}
{{- else -}}
{{- printf "%s:%s" .repository .tag -}}
{{- end -}}
{{- end -}}

{{- define "leakrange.orchestrator.image" -}}
{{- $img := .Values.orchestrator.image -}}
{{- include "leakrange.imageRef" (dict "repository" $img.repository "tag" (default .Chart.AppVersion $img.tag) "digest" $img.digest) -}}
{{- end -}}

{{- define "leakrange.minio.image" -}}
{{- include "leakrange.imageRef" .Values.minio.image -}}
{{- end -}}

{{/* API token Secret: name and key. */}}
{{/* The one Secret holding every exercise's tokens (two keys per exercise, set by the
     orchestrator); the orchestrator's Role names it, and no other Secret. */}}
{{- define "leakrange.exerciseTokens.secretName" -}}
{{- printf "%s-exercise-tokens" (include "leakrange.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "leakrange.auth.secretName" -}}
{{- default (printf "%s-api-token" (include "leakrange.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{/* Artifact-store credentials Secret: name, access-key key, secret-key key. */}}
{{- define "leakrange.store.secretName" -}}
{{- if .Values.externalS3.enabled -}}
{{- .Values.externalS3.existingSecret -}}
{{- else -}}
{{- default (printf "%s-minio" (include "leakrange.fullname" .)) .Values.minio.auth.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "leakrange.store.accessKeyKey" -}}
{{- if .Values.externalS3.enabled -}}{{ .Values.externalS3.accessKeyKey }}{{- else -}}root-user{{- end -}}
{{- end -}}

{{- define "leakrange.store.secretKeyKey" -}}
{{- if .Values.externalS3.enabled -}}{{ .Values.externalS3.secretKeyKey }}{{- else -}}root-password{{- end -}}
{{- end -}}

{{/* Adversary store credentials Secret: name (keys are always access-key / secret-key). */}}
{{- define "leakrange.adversaryStore.secretName" -}}
{{- if .Values.externalS3.enabled -}}
{{- .Values.externalS3.adversaryExistingSecret -}}
{{- else -}}
{{- default (printf "%s-minio-adversary" (include "leakrange.fullname" .)) .Values.minio.adversary.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "leakrange.adversaryStore.accessKeyKey" -}}
{{- if .Values.externalS3.enabled -}}{{ .Values.externalS3.accessKeyKey }}{{- else -}}access-key{{- end -}}
{{- end -}}

{{- define "leakrange.adversaryStore.secretKeyKey" -}}
{{- if .Values.externalS3.enabled -}}{{ .Values.externalS3.secretKeyKey }}{{- else -}}secret-key{{- end -}}
{{- end -}}

{{- define "leakrange.adversaryStore.prefix" -}}
{{- if .Values.externalS3.enabled -}}{{ .Values.externalS3.adversaryPrefix }}{{- else -}}{{ .Values.minio.adversary.prefix }}{{- end -}}
{{- end -}}

{{- define "leakrange.store.bucket" -}}
{{- if .Values.externalS3.enabled -}}{{ .Values.externalS3.bucket }}{{- else -}}{{ .Values.minio.bucket }}{{- end -}}
{{- end -}}

{{/* The adversaries' store URL: the range store URL with the adversary prefix. */}}
{{- define "leakrange.adversaryStore.url" -}}
{{- $url := include "leakrange.store.url" . -}}
{{- $bucket := include "leakrange.store.bucket" . -}}
{{- printf "s3://%s/%s?%s" $bucket (include "leakrange.adversaryStore.prefix" .) (splitList "?" $url | rest | join "?") -}}
{{- end -}}

{{/* The LEAKRANGE_STORE URL: s3://<bucket>?endpoint=<host:port>&secure=<bool>. */}}
{{- define "leakrange.store.url" -}}
{{- if .Values.externalS3.enabled -}}
{{- printf "s3://%s?endpoint=%s&secure=%t" .Values.externalS3.bucket .Values.externalS3.endpoint .Values.externalS3.secure -}}
{{- with .Values.externalS3.region }}{{ printf "&region=%s" . }}{{ end -}}
{{- else -}}
{{- printf "s3://%s?endpoint=%s.%s.svc:%d&secure=false" .Values.minio.bucket (include "leakrange.minio.fullname" .) .Release.Namespace (int .Values.minio.port) -}}
{{- end -}}
{{- end -}}

{{/* Keep a generated secret value stable across upgrades: reuse what the cluster holds.
     Call with (dict "ctx" $ "name" SECRET "key" KEY "given" VALUE "length" N). */}}
{{- define "leakrange.secretValue" -}}
{{- if .given -}}
{{- .given -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .name -}}
{{- if and $existing (hasKey (default dict $existing.data) .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum (int .length) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Egress peers + ports for the artifact store (MinIO pods or external CIDRs). */}}
{{- define "leakrange.store.egressRule" -}}
{{- if .Values.minio.enabled }}
- to:
    - podSelector:
        matchLabels:
          {{- include "leakrange.minio.selectorLabels" . | nindent 10 }}
  ports:
    - protocol: TCP
      port: {{ .Values.minio.port }}
{{- else }}
- to:
    {{- range .Values.externalS3.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    - protocol: TCP
      port: {{ .Values.externalS3.port }}
{{- end }}
{{- end -}}

{{/* CIDRs of the Kubernetes API server: networkPolicy.apiServer.cidrs, else the addresses of
     the default/kubernetes EndpointSlice looked up at install time (/32 or /128 each). Empty
     when neither is known (offline `helm template`): validateValues then fails. */}}
{{- define "leakrange.apiServerCidrs" -}}
{{- $cidrs := .Values.networkPolicy.apiServer.cidrs -}}
{{- if not $cidrs -}}
{{- $slice := lookup "discovery.k8s.io/v1" "EndpointSlice" "default" "kubernetes" -}}
{{- range ($slice.endpoints | default list) -}}
{{- range .addresses -}}
{{- $cidrs = append $cidrs (printf "%s/%s" . (ternary "128" "32" (contains ":" .))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $cidrs -}}
{{- end -}}

{{/* Egress rule to the cluster DNS (UDP and TCP 53). */}}
{{- define "leakrange.dnsEgressRule" -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ .Values.networkPolicy.dns.namespace }}
      podSelector:
        matchLabels:
          {{- toYaml .Values.networkPolicy.dns.podLabels | nindent 10 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end -}}

{{/* LEAKRANGE_SECRET_<NAME>: the variable prefix of an endpoint credentials Secret (the code's
     secret_env_name). Call with the Secret name. */}}
{{- define "leakrange.endpointSecretEnv" -}}
{{- printf "LEAKRANGE_SECRET_%s" (regexReplaceAll "[^A-Z0-9]" (upper .) "_") -}}
{{- end -}}

{{/* Egress to the inference servers of target.endpoint exercises (endpoints.egress). */}}
{{- define "leakrange.endpointEgressRule" -}}
{{- with .Values.endpoints.egress -}}
{{- if gt (int .port) 0 -}}
- to:
    {{- if .podLabels }}
    - podSelector:
        matchLabels:
          {{- toYaml .podLabels | nindent 10 }}
      {{- with .namespace }}
      namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ . }}
      {{- end }}
    {{- end }}
    {{- range .cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    - protocol: TCP
      port: {{ .port }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Container securityContext shared by every container of the chart. */}}
{{- define "leakrange.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pod securityContext shared by every pod of the chart. */}}
{{- define "leakrange.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Fail rendering on impossible value combinations. */}}
{{- define "leakrange.validateValues" -}}
{{- $errors := list -}}
{{- if eq .Values.minio.enabled .Values.externalS3.enabled -}}
{{- $errors = append $errors "exactly one of minio.enabled and externalS3.enabled must be true" -}}
{{- end -}}
{{- if .Values.externalS3.enabled -}}
{{- if not .Values.externalS3.endpoint -}}
{{- $errors = append $errors "externalS3.endpoint is required when externalS3.enabled is true" -}}
{{- end -}}
{{- if not .Values.externalS3.existingSecret -}}
{{- $errors = append $errors "externalS3.existingSecret is required when externalS3.enabled is true" -}}
{{- end -}}
{{- if not .Values.externalS3.adversaryExistingSecret -}}
{{- $errors = append $errors "externalS3.adversaryExistingSecret is required when externalS3.enabled is true" -}}
{{- else if eq .Values.externalS3.adversaryExistingSecret .Values.externalS3.existingSecret -}}
{{- $errors = append $errors "externalS3.adversaryExistingSecret must differ from externalS3.existingSecret" -}}
{{- end -}}
{{- if and .Values.networkPolicy.enabled (not .Values.externalS3.cidrs) -}}
{{- $errors = append $errors "externalS3.cidrs is required when networkPolicy.enabled is true" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.networkPolicy.enabled (not (include "leakrange.apiServerCidrs" . | fromJsonArray)) -}}
{{- $errors = append $errors "networkPolicy.apiServer.cidrs is required: the API server's addresses could not be looked up" -}}
{{- end -}}
{{- $prefix := include "leakrange.adversaryStore.prefix" . -}}
{{- if not (regexMatch "^[a-z0-9][a-z0-9-]{0,62}$" $prefix) -}}
{{- $errors = append $errors "the adversary prefix must be one path segment of [a-z0-9-]" -}}
{{- end -}}
{{- if and .Values.minio.enabled .Values.minio.adversary.existingSecret (eq .Values.minio.adversary.existingSecret .Values.minio.auth.existingSecret) -}}
{{- $errors = append $errors "minio.adversary.existingSecret must differ from minio.auth.existingSecret" -}}
{{- end -}}
{{- range $name := list "requests" "limits" -}}
{{- if not (index $.Values.orchestrator.resources $name) -}}
{{- $errors = append $errors (printf "orchestrator.resources.%s is required" $name) -}}
{{- end -}}
{{- if and $.Values.minio.enabled (not (index $.Values.minio.resources $name)) -}}
{{- $errors = append $errors (printf "minio.resources.%s is required" $name) -}}
{{- end -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- if not .Values.tls.orchestratorSecretName -}}
{{- $errors = append $errors "tls.orchestratorSecretName is required when tls.enabled is true" -}}
{{- end -}}
{{- if not .Values.tls.exerciseSecretName -}}
{{- $errors = append $errors "tls.exerciseSecretName is required when tls.enabled is true" -}}
{{- end -}}
{{- if not .Values.tls.adversarySecretName -}}
{{- $errors = append $errors "tls.adversarySecretName is required when tls.enabled is true" -}}
{{- else if eq .Values.tls.adversarySecretName .Values.tls.exerciseSecretName -}}
{{- $errors = append $errors "tls.adversarySecretName must differ from tls.exerciseSecretName" -}}
{{- end -}}
{{- if eq (int .Values.tls.healthPort) (int .Values.orchestrator.port) -}}
{{- $errors = append $errors "tls.healthPort must differ from orchestrator.port" -}}
{{- end -}}
{{- end -}}
{{- $endpointVars := dict -}}
{{- $rangeSecrets := list (include "leakrange.store.secretName" .) (include "leakrange.adversaryStore.secretName" .) (include "leakrange.auth.secretName" .) (include "leakrange.exerciseTokens.secretName" .) -}}
{{- range $i, $s := .Values.endpoints.credentialsSecrets -}}
{{- $var := include "leakrange.endpointSecretEnv" $s.name -}}
{{- if hasKey $endpointVars $var -}}
{{- $errors = append $errors (printf "endpoints.credentialsSecrets[%d].name: %s is listed twice (or maps to the same %s)" $i $s.name $var) -}}
{{- end -}}
{{- $_ := set $endpointVars $var true -}}
{{- if has $s.name $rangeSecrets -}}
{{- $errors = append $errors (printf "endpoints.credentialsSecrets[%d].name: %s is one of the range's own Secrets" $i $s.name) -}}
{{- end -}}
{{- end -}}
{{- with .Values.endpoints.egress -}}
{{- if and (gt (int .port) 0) (not .podLabels) (not .cidrs) -}}
{{- $errors = append $errors "endpoints.egress.port needs endpoints.egress.podLabels or endpoints.egress.cidrs" -}}
{{- end -}}
{{- if and (eq (int .port) 0) (or .podLabels .cidrs) -}}
{{- $errors = append $errors "endpoints.egress.port is required with endpoints.egress.podLabels or cidrs" -}}
{{- end -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\nVALUES VALIDATION:\n%s" (join "\n" $errors)) -}}
{{- end -}}
{{- end -}}
