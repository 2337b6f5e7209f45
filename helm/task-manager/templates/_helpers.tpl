{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "task-manager.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name. */}}
{{- define "task-manager.fullname" -}}
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

{{- define "task-manager.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "task-manager.selectorLabels" -}}
app.kubernetes.io/name: {{ include "task-manager.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "task-manager.labels" -}}
helm.sh/chart: {{ include "task-manager.chart" . }}
{{ include "task-manager.selectorLabels" . }}
app.kubernetes.io/version: {{ include "task-manager.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: task-manager
{{- end }}

{{- define "task-manager.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "task-manager.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "task-manager.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Seconds as a Go duration string ("5s"), the format the TM_* variables use. */}}
{{- define "task-manager.seconds" -}}
{{- printf "%ds" (int .) }}
{{- end }}

{{/* How long a terminating replica keeps serving new requests (TM_DRAIN_DELAY). Behind
     the ALB it is the longest of: the target group's deregistration delay (the ALB may
     route new requests to a target until its deregistration has propagated, which the
     delay bounds), the time the ALB's own health checks need to see readiness fail
     (interval x unhealthy threshold + one timeout), and shutdown.drainDelaySeconds
     (the endpoints/kube-proxy propagation floor). docs/deployment.md has the numbers. */}}
{{- define "task-manager.drainDelaySeconds" -}}
{{- $drain := int .Values.shutdown.drainDelaySeconds }}
{{- if .Values.ingress.enabled }}
{{- $ing := .Values.ingress }}
{{- $hc := $ing.healthcheck }}
{{- $detect := add (mul (int $hc.intervalSeconds) (int $hc.unhealthyThreshold)) (int $hc.timeoutSeconds) }}
{{- $drain = max $drain (int $ing.deregistrationDelaySeconds) $detect }}
{{- end }}
{{- $drain }}
{{- end }}

{{/* drain + in-flight grace + margin: the kubelet never SIGKILLs a replica that is still
     serving or finishing requests. */}}
{{- define "task-manager.terminationGracePeriodSeconds" -}}
{{- $s := .Values.shutdown }}
{{- add (include "task-manager.drainDelaySeconds" . | int) (int $s.graceSeconds) (int $s.marginSeconds) }}
{{- end }}

{{/* NetworkPolicy peer for "public addresses": everything except the ranges in
     networkPolicy.egress.notPublic (private, link-local with the instance metadata
     service, loopback, carrier-grade NAT). */}}
{{- define "task-manager.publicAddresses" -}}
- ipBlock:
    cidr: 0.0.0.0/0
    except:
      {{- toYaml .egress.notPublic | nindent 6 }}
{{- end }}

{{/* repository@digest when the pipeline passes the pushed digest (what runs is exactly
     what was scanned), else repository:tag. */}}
{{- define "task-manager.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "task-manager.imageTag" .) }}
{{- end }}
{{- end }}
