{{/* Name of every object: fullnameOverride, else the release name, with "-kpr" unless it already says kpr. */}}
{{- define "kpr.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "kpr" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kpr" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels that select kpr's pods; they never change across upgrades (a DaemonSet's selector is immutable). */}}
{{- define "kpr.selectorLabels" -}}
app.kubernetes.io/name: kpr
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kpr.labels" -}}
{{ include "kpr.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "kpr.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kpr.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is needed when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The port of an IP:PORT bind address ("0.0.0.0:10256", "[::]:10256"); fails naming the value when there is none. */}}
{{- define "kpr.bindPort" -}}
{{- $port := regexFind "[0-9]+$" .address -}}
{{- if or (not $port) (eq $port "0") -}}
{{- fail (printf "%s: %q has no port; the chart needs the server on (IP:PORT, port not 0)" .value .address) -}}
{{- end -}}
{{- $port -}}
{{- end -}}

{{- define "kpr.healthzPort" -}}
{{- include "kpr.bindPort" (dict "value" "config.healthzBindAddress" "address" .Values.config.healthzBindAddress) -}}
{{- end -}}

{{- define "kpr.metricsPort" -}}
{{- include "kpr.bindPort" (dict "value" "config.metricsBindAddress" "address" .Values.config.metricsBindAddress) -}}
{{- end -}}

{{/* Where the node's cgroup v2 mount appears in the kpr container. */}}
{{- define "kpr.hostCgroupPath" -}}
/host/sys/fs/cgroup
{{- end -}}

{{/* The KubeProxyConfiguration file: the config values under its apiVersion and kind. */}}
{{- define "kpr.configFile" -}}
{{- $file := dict "apiVersion" "kubeproxy.config.k8s.io/v1alpha1" "kind" "KubeProxyConfiguration" -}}
{{- toYaml (merge $file .Values.config) -}}
{{- end -}}

{{/* k8sServiceHost: a host name or IP address alone; the port has a value of its own. */}}
{{- define "kpr.k8sServiceHost" -}}
{{- $host := toString (required "k8sServiceHost is needed with k8sServicePort: the API server's host name or IP address" .Values.k8sServiceHost) -}}
{{- if or (contains "/" $host) (contains "[" $host) (regexMatch "^[^:]*:[^:]*$" $host) -}}
{{- fail (printf "k8sServiceHost: %q is not a host name or IP address (no scheme, brackets or port: the port goes in k8sServicePort)" $host) -}}
{{- end -}}
{{- $host -}}
{{- end -}}

{{/* k8sServicePort: 1 to 65535, given as a number or a string. */}}
{{- define "kpr.k8sServicePort" -}}
{{- $port := toString (required "k8sServicePort is needed with k8sServiceHost: the API server's port, 6443 on kubeadm's control-plane nodes" .Values.k8sServicePort) -}}
{{- if or (not (regexMatch "^[0-9]{1,5}$" $port)) (lt (atoi $port) 1) (gt (atoi $port) 65535) -}}
{{- fail (printf "k8sServicePort: %q is not a port from 1 to 65535" $port) -}}
{{- end -}}
{{- $port -}}
{{- end -}}
