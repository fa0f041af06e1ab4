#!/usr/bin/env bash
# make chart-tools: builds helm and kubeconform, which render and validate
# charts/kpr in make test, from Go modules at the versions pinned in
# tests/e2e/chart-tools.env, into
#     ${KPR_CACHE:-$HOME/.cache/kpr}/tools/<name>/<version>/<name>
# beside the Kubernetes binaries of make kube-bin, so that every clone on a
# machine shares one build. A quick no-op when the binaries there report the
# pinned versions.
#
#   scripts/build-tools.sh             build what is not built yet
#   scripts/build-tools.sh --bin NAME  print the path of helm or kubeconform
#
# `go install module/cmd@version` builds each tool with the dependency versions
# of its own go.mod, as its release does.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../tests/e2e/chart-tools.env
source "$ROOT/tests/e2e/chart-tools.env"
# shellcheck source=../tests/e2e/kube-versions.env
source "$ROOT/tests/e2e/kube-versions.env"
TOOLS_DIR="${KPR_CACHE:-$HOME/.cache/kpr}/tools"
# Never let go fetch another toolchain: the Go on PATH builds, or says why not.
export GOTOOLCHAIN=local
LOG_TAG=chart-tools
# shellcheck source=go-build-lib.sh
source "$ROOT/scripts/go-build-lib.sh"

bin_path() {
  case "$1" in
    helm) echo "$TOOLS_DIR/helm/$HELM_VERSION/helm" ;;
    kubeconform) echo "$TOOLS_DIR/kubeconform/$KUBECONFORM_VERSION/kubeconform" ;;
    *) die "unknown tool $1; helm or kubeconform" ;;
  esac
}

# build NAME PACKAGE VERSION VERSION_FLAG LDFLAGS
build() {
  local name="$1" pkg="$2" version="$3" version_flag="$4" ldflags="$5"
  local bin dir
  bin="$(bin_path "$name")"
  dir="$(dirname "$bin")"
  if reports "$bin" "$version_flag" "$version"; then
    log "$name $version is in $dir"
    return 0
  fi
  mkdir -p "$dir.new"
  log "$(elapsed): building $name $version with $(go env GOVERSION) into $dir"
  GOBIN="$dir.new" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" \
    go install -v -trimpath -ldflags="$ldflags" "$pkg@$version" 2>&1 | progress "" build
  reports "$dir.new/$name" "$version_flag" "$version" ||
    die "$dir.new/$name $version_flag does not report $version: $("$dir.new/$name" "$version_flag" 2>&1 | tail -n 3)"
  rm -rf "$dir"
  mv "$dir.new" "$dir"
  log "$(elapsed): built $name $version ($(du -h "$bin" | cut -f1))"
}

build_all() {
  mkdir -p "$TOOLS_DIR"
  # One build per cache at a time: two clones may run make test at once.
  exec 9>"$TOOLS_DIR/.lock"
  flock 9
  local minor="${KUBE_VERSION#v1.}"
  minor="${minor%%.*}"
  # helm's release sets its version and the Kubernetes version that lint's
  # deprecation checks and template's .Capabilities.KubeVersion assume; here
  # that is the pinned kube-apiserver's, which the test validates against.
  local helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  build helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" version "$helm_ldflags"
  build kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION" -v \
    "-s -w -X main.version=$KUBECONFORM_VERSION"
}

case "${1:-}" in
  "") build_all ;;
  --bin) bin_path "${2:?--bin needs helm or kubeconform}" ;;
  *) die "unknown argument $1; use no argument or --bin NAME" ;;
esac
