{{/* Chart name. */}}
{{- define "firebreak.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, shortened to 63 characters. */}}
{{- define "firebreak.fullname" -}}
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

{{- define "firebreak.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries; each adds its component. */}}
{{- define "firebreak.commonLabels" -}}
helm.sh/chart: {{ include "firebreak.chart" . }}
app.kubernetes.io/name: {{ include "firebreak.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: firebreak
{{- end }}

{{/* The bot's labels. */}}
{{- define "firebreak.labels" -}}
{{ include "firebreak.commonLabels" . }}
app.kubernetes.io/component: bot
{{- end }}

{{- define "firebreak.selectorLabels" -}}
app.kubernetes.io/name: {{ include "firebreak.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: bot
{{- end }}

{{- define "firebreak.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "firebreak.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "firebreak.secretName" -}}
{{- default (include "firebreak.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/* The credential keys to mount: the existing Secret's listed keys, or the non-empty values. */}}
{{- define "firebreak.secretKeys" -}}
{{- if .Values.secret.existingSecret }}
{{- range .Values.secret.existingSecretKeys }}
- {{ . }}
{{- end }}
{{- else }}
{{- range $k, $v := .Values.secret.values }}
{{- if $v }}
- {{ $k }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "firebreak.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "firebreak.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A string escaped for a part of a URL (user, password, path): urlquery, with a space as %20. */}}
{{- define "firebreak.urlPart" -}}
{{- . | urlquery | replace "+" "%20" }}
{{- end }}

{{/* The pods a rolling update adds beside replicaCount: rollingUpdate.maxSurge, a number or a percentage of
replicaCount rounded up, as Kubernetes reads it. */}}
{{- define "firebreak.surgePods" -}}
{{- $surge := toString .Values.rollingUpdate.maxSurge }}
{{- if hasSuffix "%" $surge }}
{{- div (add (mul (int .Values.replicaCount) (int (trimSuffix "%" $surge))) 99) 100 }}
{{- else }}
{{- int $surge }}
{{- end }}
{{- end }}

{{/* The old pods a rolling update stops at once: rollingUpdate.maxUnavailable, a number or a percentage of
replicaCount rounded down, as Kubernetes reads it. */}}
{{- define "firebreak.unavailablePods" -}}
{{- $unavailable := toString .Values.rollingUpdate.maxUnavailable }}
{{- if hasSuffix "%" $unavailable }}
{{- div (mul (int .Values.replicaCount) (int (trimSuffix "%" $unavailable))) 100 }}
{{- else }}
{{- int $unavailable }}
{{- end }}
{{- end }}

{{/* The bundled PostgreSQL's max_connections: the value given, else 41 for each bot pod (its two pools of 20,
and the job engine's listener, which holds one more of its own) that a rolling update may run at once, plus
20 for the rest, and at least PostgreSQL's default, 100. Those pods are replicaCount, the pods the update
adds (maxSurge), and the old pods still shutting down, which Kubernetes counts in neither: up to a surge's
and maxUnavailable's worth, holding their connections for their grace period. */}}
{{- define "firebreak.postgresql.maxConnections" -}}
{{- if .Values.postgresql.maxConnections }}
{{- .Values.postgresql.maxConnections }}
{{- else }}
{{- $surge := int (include "firebreak.surgePods" .) }}
{{- $pods := add (int .Values.replicaCount) (mul 2 $surge) (int (include "firebreak.unavailablePods" .)) }}
{{- max 100 (add (mul 41 $pods) 20) }}
{{- end }}
{{- end }}

{{/* True when the bot uses PostgreSQL (bundled or external) rather than SQLite. */}}
{{- define "firebreak.usesPostgres" -}}
{{- if or .Values.postgresql.enabled .Values.database.existingSecret }}true{{- end }}
{{- end }}

{{/* The bundled PostgreSQL's password: the given one, the one already in the cluster, or a new one. */}}
{{- define "firebreak.postgresql.password" -}}
{{- if .Values.postgresql.password }}
{{- .Values.postgresql.password }}
{{- else }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "firebreak.postgresql.fullname" .) }}
{{- if and $existing $existing.data (index $existing.data "POSTGRES_PASSWORD") }}
{{- index $existing.data "POSTGRES_PASSWORD" | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}
{{- end }}

{{/* Refuse combinations that cannot work. */}}
{{- define "firebreak.validate" -}}
{{- if not (has .Values.slack.mode (list "socket" "http")) }}
{{- fail (printf "slack.mode: %q is not socket or http" .Values.slack.mode) }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not (include "firebreak.usesPostgres" .)) }}
{{- fail "replicaCount > 1 needs PostgreSQL: set postgresql.enabled=true or database.existingSecret; replicas cannot share the embedded SQLite file" }}
{{- end }}
{{- if and (eq (toString .Values.rollingUpdate.maxSurge) "0") (eq (toString .Values.rollingUpdate.maxUnavailable) "0") }}
{{- fail "rollingUpdate: maxSurge and maxUnavailable cannot both be 0: an update could then replace no pod" }}
{{- end }}
{{- if and .Values.postgresql.enabled .Values.database.existingSecret }}
{{- fail "set either postgresql.enabled or database.existingSecret, not both" }}
{{- end }}
{{- if and .Values.ingress.enabled (ne .Values.slack.mode "http") }}
{{- $public := false }}
{{- range $k, $v := .Values.secret.values }}{{ if and $v (or (hasSuffix "WEBHOOK_SECRET" $k) (hasSuffix "WEBHOOK_TOKEN" $k) (eq "SLACK_CLIENT_SECRET" $k)) }}{{ $public = true }}{{ end }}{{ end }}
{{- if and (not $public) (not .Values.secret.existingSecret) }}
{{- fail "ingress.enabled routes the public port, which in Socket Mode serves only webhooks and the web view: use slack.mode=http, or configure a webhook secret or token, or the web view (SLACK_CLIENT_SECRET)" }}
{{- end }}
{{- end }}
{{- if .Values.secret.existingSecret }}
{{- $need := list "SLACK_BOT_TOKEN" (ternary "SLACK_APP_TOKEN" "SLACK_SIGNING_SECRET" (eq .Values.slack.mode "socket")) }}
{{- range $need }}
{{- if not (has . $.Values.secret.existingSecretKeys) }}
{{- fail (printf "slack.mode=%s needs %s from secret.existingSecret: list the Secret's keys in secret.existingSecretKeys, such as [%s]" $.Values.slack.mode . (join ", " $need)) }}
{{- end }}
{{- end }}
{{- end }}
{{- $clientSecret := ternary (has "SLACK_CLIENT_SECRET" .Values.secret.existingSecretKeys) .Values.secret.values.SLACK_CLIENT_SECRET (not (empty .Values.secret.existingSecret)) }}
{{- $clientID := index .Values.env "SLACK_CLIENT_ID" }}
{{- if and $clientSecret (not $clientID) }}
{{- fail "the web view needs both the Slack app's client id and secret: set env.SLACK_CLIENT_ID (Basic Information → App Credentials → Client ID) with SLACK_CLIENT_SECRET, or leave SLACK_CLIENT_SECRET out" }}
{{- end }}
{{- if and $clientID (not $clientSecret) }}
{{- fail "env.SLACK_CLIENT_ID turns on the web view, which needs SLACK_CLIENT_SECRET too: set secret.values.SLACK_CLIENT_SECRET, or list it in secret.existingSecretKeys" }}
{{- end }}
{{- if and $clientID (not .Values.publicURL) }}
{{- fail "env.SLACK_CLIENT_ID turns on the web view, which needs publicURL: its address, whose /auth/callback is the Slack app's redirect URL" }}
{{- end }}
{{- if and (eq .Values.slack.mode "socket") (not .Values.secret.existingSecret) .Values.secret.values.SLACK_BOT_TOKEN (not .Values.secret.values.SLACK_APP_TOKEN) }}
{{- fail "slack.mode=socket needs secret.values.SLACK_APP_TOKEN (xapp-...)" }}
{{- end }}
{{- if and (eq .Values.slack.mode "http") (not .Values.secret.existingSecret) .Values.secret.values.SLACK_BOT_TOKEN (not .Values.secret.values.SLACK_SIGNING_SECRET) }}
{{- fail "slack.mode=http needs secret.values.SLACK_SIGNING_SECRET" }}
{{- end }}
{{- end }}
