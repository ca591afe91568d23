{{/*
Names and labels shared by every template. Kubernetes names are limited to 63 characters
(DNS-1123 labels), so every name is truncated and stripped of a trailing dash.
*/}}

{{/* Chart name, or nameOverride. */}}
{{- define "okami-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: fullnameOverride, else the release name when it already contains the chart name,
else "<release>-<chart>".
*/}}
{{- define "okami-operator.fullname" -}}
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

{{/* "<fullname>-<suffix>", still within 63 characters. Call with (list . "suffix"). */}}
{{- define "okami-operator.suffixedName" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- $base := include "okami-operator.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{/* Chart label value: name-version. */}}
{{- define "okami-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object of the release, without a component. */}}
{{- define "okami-operator.commonLabels" -}}
helm.sh/chart: {{ include "okami-operator.chart" . }}
app.kubernetes.io/name: {{ include "okami-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: okami
{{- end }}

{{/* Labels on the operator's objects. */}}
{{- define "okami-operator.labels" -}}
{{ include "okami-operator.commonLabels" . }}
app.kubernetes.io/component: operator
{{- end }}

{{/* Labels that select the operator Pods; never change them (Deployment selectors are immutable). */}}
{{- define "okami-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "okami-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* ServiceAccount the operator runs as. */}}
{{- define "okami-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "okami-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Secret holding the backup signing key. */}}
{{- define "okami-operator.signingKeySecretName" -}}
{{- if .Values.backupSigningKey.existingSecret }}
{{- .Values.backupSigningKey.existingSecret }}
{{- else }}
{{- include "okami-operator.suffixedName" (list . "backup-signing-key") }}
{{- end }}
{{- end }}

{{/* Operator image reference: repository:tag, or repository@digest when a digest is set. */}}
{{- define "okami-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The port /metrics is exposed on at the Pod's address, or "" when metrics.bindAddress keeps it on
the loopback (127.x.x.x, localhost, [::1]) or turns it off ("0"): then no container port, Service
port or ServiceMonitor points at it.
*/}}
{{- define "okami-operator.exposedMetricsPort" -}}
{{- $address := toString .Values.metrics.bindAddress }}
{{- $host := regexReplaceAll ":[0-9]+$" $address "" }}
{{- if and (ne $address "0") (not (regexMatch `^(127\.[0-9.]+|localhost|\[::1\])$` $host)) }}
{{- regexFind "[0-9]+$" $address }}
{{- end }}
{{- end }}

{{/*
The operator's rules in the namespaces it watches (a ClusterRole, or a Role per namespace).
Persistent volume claims have no "delete": the operator never deletes user data. OkamiBackups
get "create" for the final backup a migration takes (spec.upgrade.finalBackup).
*/}}
{{- define "okami-operator.managerRules" -}}
- apiGroups: ["okami.io"]
  resources: ["okamistacks", "okamibackups"]
  verbs: ["get", "list", "watch", "update", "patch"]
- apiGroups: ["okami.io"]
  resources: ["okamibackups"]
  verbs: ["create", "delete"]
- apiGroups: ["okami.io"]
  resources: ["okamistacks/status", "okamibackups/status"]
  verbs: ["get", "update", "patch"]
- apiGroups: ["okami.io"]
  resources: ["okamistacks/finalizers", "okamibackups/finalizers"]
  verbs: ["update"]
- apiGroups: ["apps"]
  resources: ["statefulsets", "deployments"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "configmaps"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
# Secrets: only the Chroma token Secret the operator creates, then deletes when no Chroma needs it.
# It lists and watches Secrets as metadata (PartialObjectMetadata) and never receives their data,
# but RBAC cannot grant list/watch without the data: this role can read the Secrets it covers.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["list", "watch", "create", "delete"]
# Jobs run with no API token; only the Job ServiceAccount, Role and RoleBinding an older
# version created are deleted (when they carry the operator's labels): no create, no update.
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["get", "delete"]
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["get", "list", "watch", "create", "update", "patch"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["get", "delete"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch", "update"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
