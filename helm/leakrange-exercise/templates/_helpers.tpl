{{/* Helpers of the leakrange-exercise chart. Every helper is named leakrange-exercise.*. */}}

{{- define "leakrange-exercise.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name prefix of every object: ex-<exercise id>. */}}
{{- define "leakrange-exercise.fullname" -}}
{{- printf "ex-%s" .Values.exercise.id -}}
{{- end -}}

{{- define "leakrange-exercise.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object (callers add the component). */}}
{{- define "leakrange-exercise.labels" -}}
helm.sh/chart: {{ include "leakrange-exercise.chart" . }}
app.kubernetes.io/name: {{ include "leakrange-exercise.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: leakrange
app.kubernetes.io/managed-by: {{ .Release.Service }}
leakrange.io/exercise: {{ .Values.exercise.id | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels: name + instance (+ component, added by callers). */}}
{{- define "leakrange-exercise.selectorLabels" -}}
app.kubernetes.io/name: {{ include "leakrange-exercise.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "leakrange-exercise.target.selectorLabels" -}}
{{ include "leakrange-exercise.selectorLabels" . }}
app.kubernetes.io/component: target
{{- end -}}

{{- define "leakrange-exercise.adversary.selectorLabels" -}}
{{ include "leakrange-exercise.selectorLabels" . }}
app.kubernetes.io/component: adversary
{{- end -}}

{{- define "leakrange-exercise.target.image" -}}
{{- $img := .Values.target.image -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* Default image of an attack family. Call with (dict "ctx" $ "family" F). */}}
{{- define "leakrange-exercise.adversary.defaultImage" -}}
{{- $img := .ctx.Values.adversaryImage -}}
{{- printf "%s%s:%s" $img.repositoryPrefix .family (default .ctx.Chart.AppVersion $img.tag) -}}
{{- end -}}

{{/* GPU count of a values item as an integer; validateValues has checked it. */}}
{{- define "leakrange-exercise.gpuCount" -}}
{{- if . -}}{{- int64 . -}}{{- else -}}0{{- end -}}
{{- end -}}

{{/* Container resources with nvidia.com/gpu in requests and limits when gpu > 0.
     Call with (dict "resources" R "gpu" G). */}}
{{- define "leakrange-exercise.resources" -}}
{{- $res := deepCopy .resources -}}
{{- $gpu := int64 (include "leakrange-exercise.gpuCount" .gpu) -}}
{{- if gt $gpu 0 -}}
{{- $_ := set $res.requests "nvidia.com/gpu" $gpu -}}
{{- $_ := set $res.limits "nvidia.com/gpu" $gpu -}}
{{- end -}}
{{- toYaml $res -}}
{{- end -}}

{{/* Keys of this exercise in the tokens Secret: the values, or <exercise.id>.client-tokens /
     <exercise.id>.service-token (the keys the orchestrator writes) when they are empty. */}}
{{- define "leakrange-exercise.clientTokensKey" -}}
{{- default (printf "%s.client-tokens" .Values.exercise.id) .Values.target.tokensSecret.clientTokensKey -}}
{{- end -}}

{{- define "leakrange-exercise.serviceTokenKey" -}}
{{- default (printf "%s.service-token" .Values.exercise.id) .Values.target.tokensSecret.serviceTokenKey -}}
{{- end -}}

{{/* Store credentials as env vars. Call with the credentials-secret values object. */}}
{{- define "leakrange-exercise.storeEnv" -}}
- name: LEAKRANGE_S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .accessKeyKey }}
- name: LEAKRANGE_S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .secretKeyKey }}
{{- end -}}

{{/* Native gRPC probes of a range service. */}}
{{/* Drain on pod deletion: preStop sleep, then --drain-delay (LEAKRANGE_DRAIN_DELAY) after SIGTERM. */}}
{{- define "leakrange-exercise.lifecycle" -}}
{{- if gt (int .Values.drain.preStopSleepSeconds) 0 -}}
lifecycle:
  preStop:
    sleep:
      seconds: {{ int .Values.drain.preStopSleepSeconds }}
{{- end }}
{{- end -}}

{{/* Port of the native gRPC probes: the plaintext health-only port under TLS (kubelet's gRPC
     probes cannot do TLS), else the gRPC port itself. */}}
{{- define "leakrange-exercise.probePort" -}}
{{- if .Values.tls.enabled -}}{{ .Values.tls.healthPort }}{{- else -}}{{ .Values.grpcPort }}{{- end -}}
{{- end -}}

{{/* Server TLS flags of a range service (certificates of the tls Secret). */}}
{{- define "leakrange-exercise.tlsArgs" -}}
{{- if .Values.tls.enabled }}
- --tls-cert
- /etc/leakrange-tls/tls.crt
- --tls-key
- /etc/leakrange-tls/tls.key
{{- if .Values.tls.clientAuth }}
- --tls-client-ca
- /etc/leakrange-tls/ca.crt
{{- end }}
- --health-port
- {{ .Values.tls.healthPort | quote }}
{{- end }}
{{- end -}}

{{/* Client TLS of an adversary calling the target: verify it with ca.crt, present tls.crt. */}}
{{- define "leakrange-exercise.clientTlsEnv" -}}
{{- if .Values.tls.enabled }}
- name: LEAKRANGE_CLIENT_TLS_CA
  value: /etc/leakrange-tls/ca.crt
{{- if .Values.tls.clientAuth }}
- name: LEAKRANGE_CLIENT_TLS_CERT
  value: /etc/leakrange-tls/tls.crt
- name: LEAKRANGE_CLIENT_TLS_KEY
  value: /etc/leakrange-tls/tls.key
{{- end }}
{{- end }}
{{- end -}}

{{- define "leakrange-exercise.tlsMount" -}}
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: /etc/leakrange-tls
  readOnly: true
{{- end }}
{{- end -}}

{{/* The TLS Secret volume. Call with (dict "ctx" $ "secret" NAME). */}}
{{- define "leakrange-exercise.tlsVolume" -}}
{{- if .ctx.Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ .secret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "leakrange-exercise.grpcProbes" -}}
startupProbe:
  grpc:
    port: {{ include "leakrange-exercise.probePort" . }}
  periodSeconds: 5
  failureThreshold: {{ .Values.probes.startupFailureThreshold }}
livenessProbe:
  grpc:
    port: {{ include "leakrange-exercise.probePort" . }}
  periodSeconds: {{ .Values.probes.livenessPeriodSeconds }}
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  grpc:
    port: {{ include "leakrange-exercise.probePort" . }}
  periodSeconds: {{ .Values.probes.readinessPeriodSeconds }}
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{- define "leakrange-exercise.containerSecurityContext" -}}
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

{{- define "leakrange-exercise.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Writable scratch: /tmp and a memory-backed /dev/shm. */}}
{{- define "leakrange-exercise.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
- name: shm
  emptyDir:
    medium: Memory
    sizeLimit: {{ .Values.shmSizeLimit }}
{{- end -}}

{{- define "leakrange-exercise.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: shm
  mountPath: /dev/shm
{{- end -}}

{{/* Scheduling of a pod from a values item: nodeSelector, tolerations, runtimeClassName. */}}
{{- define "leakrange-exercise.scheduling" -}}
{{- with .runtimeClassName }}
runtimeClassName: {{ . }}
{{- end }}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* NetworkPolicy peer: the orchestrator pods. */}}
{{- define "leakrange-exercise.orchestratorPeer" -}}
- podSelector:
    matchLabels:
      {{- toYaml .Values.orchestrator.podLabels | nindent 6 }}
  {{- with .Values.orchestrator.namespace }}
  namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ . }}
  {{- end }}
{{- end -}}

{{/* NetworkPolicy egress rule: the artifact store (in-cluster pods and/or external CIDRs). */}}
{{- define "leakrange-exercise.storeEgressRule" -}}
{{- $egress := .Values.store.egress -}}
- to:
    {{- if $egress.podLabels }}
    - podSelector:
        matchLabels:
          {{- toYaml $egress.podLabels | nindent 10 }}
      {{- with $egress.namespace }}
      namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ . }}
      {{- end }}
    {{- end }}
    {{- range $egress.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    - protocol: TCP
      port: {{ $egress.port }}
{{- end -}}

{{/* NetworkPolicy egress rule: the cluster DNS on UDP and TCP 53. */}}
{{- define "leakrange-exercise.dnsEgressRule" -}}
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

{{/* True when a value is a whole non-negative number (YAML int, or float with no fraction). */}}
{{- define "leakrange-exercise.isCount" -}}
{{- if or (kindIs "int" .) (kindIs "int64" .) (kindIs "float64" .) -}}
{{- if and (ge (float64 .) 0.0) (eq (float64 .) (floor .)) -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* Fail rendering on missing or impossible values. */}}
{{- define "leakrange-exercise.validateValues" -}}
{{- $errors := list -}}
{{- $families := list "mia" "inversion" "federated" "synthetic" -}}
{{- $id := toString .Values.exercise.id -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$" $id) -}}
{{- $errors = append $errors "exercise.id is required: lower-case letters, digits and '-', at most 40 characters, starting and ending with a letter or digit" -}}
{{- end -}}
{{- if not .Values.store.url -}}
{{- $errors = append $errors "store.url is required" -}}
{{- end -}}
{{- if not .Values.store.credentialsSecret.name -}}
{{- $errors = append $errors "store.credentialsSecret.name is required" -}}
{{- end -}}
{{- if and .Values.target.enabled (not .Values.target.model) -}}
{{- $errors = append $errors "target.model is required (or target.enabled: false)" -}}
{{- end -}}
{{- if not .Values.target.tokensSecret.name -}}
{{- $errors = append $errors "target.tokensSecret.name is required" -}}
{{- end -}}
{{- if not (has (toString .Values.target.output) (list "logits" "probabilities" "topk" "label")) -}}
{{- $errors = append $errors "target.output must be one of logits, probabilities, topk, label" -}}
{{- end -}}
{{- if not (include "leakrange-exercise.isCount" .Values.target.gpu) -}}
{{- $errors = append $errors "target.gpu must be a non-negative integer" -}}
{{- end -}}
{{- if and (not .Values.adversaries) (not .Values.federation.enabled) -}}
{{- $errors = append $errors "adversaries must list at least one adversary" -}}
{{- end -}}
{{- $seen := dict -}}
{{- range $i, $adv := .Values.adversaries -}}
{{- $family := toString $adv.family -}}
{{- if not (has $family $families) -}}
{{- $errors = append $errors (printf "adversaries[%d].family must be one of mia, inversion, federated, synthetic" $i) -}}
{{- else if hasKey $seen $family -}}
{{- $errors = append $errors (printf "adversaries[%d].family is listed twice" $i) -}}
{{- end -}}
{{- $_ := set $seen $family true -}}
{{- if not (include "leakrange-exercise.isCount" (default 0 $adv.gpu)) -}}
{{- $errors = append $errors (printf "adversaries[%d].gpu must be a non-negative integer" $i) -}}
{{- end -}}
{{- if not (and $adv.resources $adv.resources.requests $adv.resources.limits) -}}
{{- $errors = append $errors (printf "adversaries[%d].resources needs requests and limits" $i) -}}
{{- end -}}
{{- end -}}
{{- if not .Values.store.adversaryUrl -}}
{{- $errors = append $errors "store.adversaryUrl is required" -}}
{{- else if eq .Values.store.adversaryUrl .Values.store.url -}}
{{- $errors = append $errors "store.adversaryUrl must differ from store.url" -}}
{{- end -}}
{{- $advSecret := toString .Values.store.adversaryCredentialsSecret.name -}}
{{- if not $advSecret -}}
{{- $errors = append $errors "store.adversaryCredentialsSecret.name is required" -}}
{{- else if eq $advSecret (toString .Values.store.credentialsSecret.name) -}}
{{- $errors = append $errors "store.adversaryCredentialsSecret.name must differ from store.credentialsSecret.name" -}}
{{- else if eq $advSecret (toString .Values.target.tokensSecret.name) -}}
{{- $errors = append $errors "store.adversaryCredentialsSecret.name must differ from target.tokensSecret.name" -}}
{{- end -}}
{{- if .Values.networkPolicy.enabled -}}
{{- if not (or .Values.store.egress.podLabels .Values.store.egress.cidrs) -}}
{{- $errors = append $errors "store.egress needs podLabels or cidrs when networkPolicy.enabled is true" -}}
{{- end -}}
{{- if not .Values.orchestrator.podLabels -}}
{{- $errors = append $errors "orchestrator.podLabels must not be empty" -}}
{{- end -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- if not .Values.tls.secretName -}}
{{- $errors = append $errors "tls.secretName is required when tls.enabled is true" -}}
{{- end -}}
{{- if not .Values.tls.adversarySecretName -}}
{{- $errors = append $errors "tls.adversarySecretName is required when tls.enabled is true" -}}
{{- else if eq .Values.tls.adversarySecretName .Values.tls.secretName -}}
{{- $errors = append $errors "tls.adversarySecretName must differ from tls.secretName (adversaries never hold the target's key)" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.tls.enabled (eq (int .Values.tls.healthPort) (int .Values.grpcPort)) -}}
{{- $errors = append $errors "tls.healthPort must differ from grpcPort" -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\nVALUES VALIDATION:\n%s" (join "\n" $errors)) -}}
{{- end -}}
{{- end -}}
