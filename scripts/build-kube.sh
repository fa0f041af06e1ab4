#!/usr/bin/env bash
# make kube-bin: builds the control plane of the e2e tests and benchmarks,
# kube-apiserver and kube-proxy (k8s.io/kubernetes) and etcd, at the versions
# pinned in tests/e2e/kube-versions.env, from Go modules, into
#     ${KPR_CACHE:-$HOME/.cache/kpr}/kube/<KUBE_VERSION>/bin/
# outside the checkout, so that every clone on a machine shares one build. A
# quick no-op when the binaries there report the pinned versions.
#
#   scripts/build-kube.sh              build unless already built
#   scripts/build-kube.sh --cluster    (make cluster-bin) also what a real cluster and
#                                      upstream's e2e tests need, into .../cluster-bin/:
#                                      kubelet, kube-controller-manager, kube-scheduler,
#                                      kubectl, e2e.test and the test images' programs
#                                      (agnhost, regression-issue-74839), and CoreDNS
#                                      (COREDNS_VERSION) for make cluster
#   scripts/build-kube.sh --check-go   (make deps) fail with a clear message unless a
#                                      new enough Go is on PATH; installs Debian's
#                                      golang-go only when that one is new enough
#   scripts/build-kube.sh --bin-dir    print the binaries' directory
#   scripts/build-kube.sh --cluster-bin-dir
#
# k8s.io/kubernetes is not usable as a plain dependency: its go.mod requires its
# staging modules (k8s.io/api, k8s.io/client-go, ...) as v0.0.0 and replaces
# them with directories of its own repository. A small generated module in the
# cache requires it and replaces each of them with the published v0.<minor>.<patch>.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSIONS="$ROOT/tests/e2e/kube-versions.env"
# shellcheck source=../tests/e2e/kube-versions.env
source "$VERSIONS"
CACHE_DIR="${KPR_CACHE:-$HOME/.cache/kpr}/kube/$KUBE_VERSION"
BIN_DIR="$CACHE_DIR/bin"
CLUSTER_BIN_DIR="$CACHE_DIR/cluster-bin"
# The cluster's programs, and the version of agnhost that the e2e framework's
# image list names for KUBE_VERSION (test/utils/image/manifest.go).
CLUSTER_PKGS=(cmd/kubelet cmd/kube-controller-manager cmd/kube-scheduler cmd/kubectl test/images/agnhost test/images/regression-issue-74839)
CLUSTER_BINS=(kubelet kube-controller-manager kube-scheduler kubectl agnhost regression-issue-74839 e2e.test)
ETCD_PKG=go.etcd.io/etcd/server/v3
# Never let go fetch another toolchain: the Go on PATH builds, or we say why not.
export GOTOOLCHAIN=local
LOG_TAG=kube-bin
# shellcheck source=go-build-lib.sh
source "$ROOT/scripts/go-build-lib.sh"

# version_ge A B: whether dotted version A >= B.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# The cluster's set: every program there, and the stamp its build wrote last
# (e2e.test and agnhost have no --version that names Kubernetes').
cluster_installed_ok() {
  local b
  for b in "${CLUSTER_BINS[@]}"; do [ -x "$CLUSTER_BIN_DIR/$b" ] || return 1; done
  [ "$(cat "$CLUSTER_BIN_DIR/.version" 2>/dev/null)" = "$KUBE_VERSION" ]
}

installed_ok() {
  reports "$BIN_DIR/kube-apiserver" --version "Kubernetes $KUBE_VERSION" &&
    reports "$BIN_DIR/kube-proxy" --version "Kubernetes $KUBE_VERSION" &&
    reports "$BIN_DIR/etcd" --version "etcd Version: ${ETCD_VERSION#v}"
}

apt_golang_version() {
  local v
  v="$(apt-cache policy golang-go 2>/dev/null | awk '/Candidate:/ {print $2}')"
  v="${v#*:}"                 # epoch: 2:1.19~1 -> 1.19~1
  echo "${v%%[~+-]*}"         # Debian revision: 1.19~1 -> 1.19
}

check_go() {
  local have=""
  if command -v go >/dev/null 2>&1; then
    have="$(go env GOVERSION 2>/dev/null)"
    have="${have#go}"
    if version_ge "$have" "$KUBE_GO_MIN"; then return 0; fi
  fi
  local apt_go
  apt_go="$(apt_golang_version)"
  if [ -z "$apt_go" ] || [ "$apt_go" = "(none)" ]; then
    apt-get update >/dev/null 2>&1 || true
    apt_go="$(apt_golang_version)"
  fi
  if [ -n "$apt_go" ] && [ "$apt_go" != "(none)" ] && version_ge "$apt_go" "$KUBE_GO_MIN"; then
    log "installing Debian's golang-go $apt_go"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends golang-go
    hash -r
    have="$(go env GOVERSION 2>/dev/null)"
    have="${have#go}"
    version_ge "$have" "$KUBE_GO_MIN" ||
      die "installed Debian's golang-go $apt_go, but the go first on PATH ($(command -v go)) is $have; put /usr/bin first or remove it"
    return 0
  fi
  local found="no go on PATH"
  [ -n "$have" ] && found="go $have at $(command -v go)"
  die "Go >= $KUBE_GO_MIN is needed to build kube-apiserver, kube-proxy and etcd for the e2e tests" \
    "(Kubernetes $KUBE_VERSION, pinned in tests/e2e/kube-versions.env); found $found," \
    "and Debian's golang-go is ${apt_go:-not available}. Install Go $KUBE_GO_MIN or newer and put its bin/ on PATH."
}

write_go_mod() {
  local kube_mod="$1" staging_version="v0.${KUBE_VERSION#v1.}"
  local staging
  staging="$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$kube_mod")"
  [ -n "$staging" ] || die "no staging modules (k8s.io/... v0.0.0) in $kube_mod"
  {
    echo "// Generated by scripts/build-kube.sh: builds Kubernetes $KUBE_VERSION and etcd $ETCD_VERSION."
    echo "module kpr-kube-build"
    echo
    echo "go $KUBE_GO_MIN"
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $KUBE_VERSION"
    echo "	$ETCD_PKG $ETCD_VERSION"
    echo ")"
    echo
    echo "// k8s.io/kubernetes requires these as v0.0.0 and replaces them with its staging/ directories."
    echo "replace ("
    for m in $staging; do echo "	$m => $m $staging_version"; done
    echo ")"
  } >go.mod
}

# The generated module in $CACHE_DIR/src, the environment of go and the
# ldflags that make the binaries report KUBE_VERSION (in LDFLAGS).
prepare_module() {
  local src="$CACHE_DIR/src"
  mkdir -p "$src"
  cd "$src"
  export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
  local kube_mod
  kube_mod="$(cd / && GOFLAGS= go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$kube_mod" ] || die "could not fetch k8s.io/kubernetes@$KUBE_VERSION"
  local go_line etcd_pin
  go_line="$(awk '$1 == "go" {print $2; exit}' "$kube_mod")"
  [ "$go_line" = "$KUBE_GO_MIN" ] ||
    die "k8s.io/kubernetes $KUBE_VERSION needs go $go_line, but KUBE_GO_MIN=$KUBE_GO_MIN in $VERSIONS"
  etcd_pin="$(awk -v m="$ETCD_PKG" '$1 == m {print $2; exit}' "$kube_mod")"
  [ "$etcd_pin" = "$ETCD_VERSION" ] ||
    die "k8s.io/kubernetes $KUBE_VERSION pins $ETCD_PKG $etcd_pin, but ETCD_VERSION=$ETCD_VERSION in $VERSIONS"
  write_go_mod "$kube_mod"

  local minor="${KUBE_VERSION#v1.}" date
  minor="${minor%%.*}"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  LDFLAGS="-s -w"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    LDFLAGS+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
}

# go list's count of the packages behind $@, fetching their modules; in DEPS_TOTAL.
fetch_deps() {
  log "$(elapsed): fetching modules"
  go list -deps "$@" 2>&1 >"$CACHE_DIR/src/deps.txt" | progress 0 fetch || die "resolving $* failed"
  DEPS_TOTAL="$(wc -l <"$CACHE_DIR/src/deps.txt")"
}

lock_cache() {
  mkdir -p "$CACHE_DIR"
  # One build per cache at a time: two clones may run make test at once.
  exec 9>"$CACHE_DIR/.lock"
  flock 9
}

build() {
  check_go
  lock_cache
  if installed_ok; then
    log "Kubernetes $KUBE_VERSION and etcd $ETCD_VERSION are in $BIN_DIR"
    return 0
  fi
  local out="$CACHE_DIR/bin.new"
  log "building kube-apiserver, kube-proxy ($KUBE_VERSION) and etcd ($ETCD_VERSION) with $(go env GOVERSION) into $BIN_DIR"
  log "a first build fetches about 160 modules and compiles about 2300 packages: 5-6 minutes on 2 cores"
  prepare_module
  local pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-proxy "$ETCD_PKG")
  fetch_deps "${pkgs[@]}"

  rm -rf "$out"
  mkdir -p "$out"
  log "$(elapsed): compiling $DEPS_TOTAL packages"
  # One invocation for the three: they share most of their packages.
  go build -v -trimpath -ldflags="$LDFLAGS" -o "$out/" "${pkgs[@]}" 2>&1 | progress "$DEPS_TOTAL" build
  # go names the binary of .../server/v3 after "server".
  mv "$out/server" "$out/etcd"
  for b in kube-apiserver kube-proxy etcd; do
    "$out/$b" --version >/dev/null 2>&1 || die "$out/$b --version failed: $("$out/$b" --version 2>&1 | tail -n 5)"
  done
  rm -rf "$BIN_DIR"
  mv "$out" "$BIN_DIR"
  installed_ok || die "the binaries in $BIN_DIR do not report Kubernetes $KUBE_VERSION and etcd $ETCD_VERSION"
  log "$(elapsed): built $(cd "$BIN_DIR" && du -ch kube-apiserver kube-proxy etcd | awk 'END {print $1}') into $BIN_DIR"
}

build_cluster() {
  check_go
  lock_cache
  if cluster_installed_ok; then
    log "the cluster's programs ($KUBE_VERSION) are in $CLUSTER_BIN_DIR"
    return 0
  fi
  local out="$CACHE_DIR/cluster-bin.new" agnhost_version
  log "building ${CLUSTER_BINS[*]} ($KUBE_VERSION) with $(go env GOVERSION) into $CLUSTER_BIN_DIR"
  log "a first build compiles about 4000 packages: 15-20 minutes on 2 cores"
  prepare_module
  local pkgs=("${CLUSTER_PKGS[@]/#/k8s.io/kubernetes/}")
  fetch_deps "${pkgs[@]}" k8s.io/kubernetes/test/e2e
  agnhost_version="$(sed -n 's/^[[:space:]]*configs\[Agnhost\] = Config{list\.PromoterE2eRegistry, "agnhost", "\([^"]*\)"}.*/\1/p' \
    "$(go list -m -f '{{.Dir}}' k8s.io/kubernetes)/test/utils/image/manifest.go")"
  [ -n "$agnhost_version" ] || die "no agnhost version in k8s.io/kubernetes/test/utils/image/manifest.go"

  rm -rf "$out"
  mkdir -p "$out"
  log "$(elapsed): compiling about $DEPS_TOTAL packages"
  go build -v -trimpath -ldflags="$LDFLAGS -X main.Version=$agnhost_version" -o "$out/" "${pkgs[@]}" 2>&1 | progress "$DEPS_TOTAL" build
  log "$(elapsed): linking e2e.test"
  go test -c -trimpath -ldflags="$LDFLAGS" -o "$out/e2e.test" k8s.io/kubernetes/test/e2e 2>&1 | progress "" build
  for b in kubelet kube-controller-manager kube-scheduler; do
    reports "$out/$b" --version "Kubernetes $KUBE_VERSION" || die "$out/$b does not report Kubernetes $KUBE_VERSION"
  done
  "$out/e2e.test" --list-tests >/dev/null 2>&1 || die "$out/e2e.test --list-tests failed"
  echo "$KUBE_VERSION" >"$out/.version"
  rm -rf "$CLUSTER_BIN_DIR"
  mv "$out" "$CLUSTER_BIN_DIR"
  cluster_installed_ok || die "$CLUSTER_BIN_DIR is incomplete"
  log "$(elapsed): built $(du -sh "$CLUSTER_BIN_DIR" | awk '{print $1}') into $CLUSTER_BIN_DIR (agnhost $agnhost_version)"
}

# CoreDNS has its own module graph (another client-go) and no replace lines,
# so plain `go install module@version` builds it, outside the generated module.
coredns_installed_ok() {
  reports "$CLUSTER_BIN_DIR/coredns" -version "CoreDNS-${COREDNS_VERSION#v}"
}

build_coredns() {
  if coredns_installed_ok; then
    log "CoreDNS $COREDNS_VERSION is in $CLUSTER_BIN_DIR"
    return 0
  fi
  local out="$CACHE_DIR/coredns.new"
  log "building CoreDNS $COREDNS_VERSION with $(go env GOVERSION) into $CLUSTER_BIN_DIR (about 4 minutes on 2 cores)"
  rm -rf "$out"
  mkdir -p "$out"
  (cd / && CGO_ENABLED=0 GOBIN="$out" GOFLAGS=-mod=mod go install -v -trimpath -ldflags='-s -w' \
    "github.com/coredns/coredns@$COREDNS_VERSION") 2>&1 | progress "" build
  reports "$out/coredns" -version "CoreDNS-${COREDNS_VERSION#v}" || die "$out/coredns does not report CoreDNS $COREDNS_VERSION"
  mv "$out/coredns" "$CLUSTER_BIN_DIR/coredns"
  rm -rf "$out"
  log "$(elapsed): built CoreDNS $COREDNS_VERSION into $CLUSTER_BIN_DIR"
}

# ginkgo's CLI runs e2e.test in parallel processes (make conformance); the
# version is whichever k8s.io/kubernetes pins, resolved in the same module.
ginkgo_installed_ok() {
  local want
  want="$(cd "$CACHE_DIR/src" && GOFLAGS=-mod=mod go list -m -f '{{.Version}}' github.com/onsi/ginkgo/v2 2>/dev/null)" || return 1
  reports "$CLUSTER_BIN_DIR/ginkgo" version "Ginkgo Version ${want#v}"
}

build_ginkgo() {
  prepare_module
  if ginkgo_installed_ok; then
    log "ginkgo is in $CLUSTER_BIN_DIR"
    return 0
  fi
  log "building ginkgo (the version k8s.io/kubernetes $KUBE_VERSION pins) into $CLUSTER_BIN_DIR"
  go build -trimpath -o "$CLUSTER_BIN_DIR/ginkgo.new" github.com/onsi/ginkgo/v2/ginkgo 2>&1 | progress "" build
  mv "$CLUSTER_BIN_DIR/ginkgo.new" "$CLUSTER_BIN_DIR/ginkgo"
  ginkgo_installed_ok || die "$CLUSTER_BIN_DIR/ginkgo does not report the pinned version"
}

case "${1:-}" in
  "") build ;;
  --check-go) check_go ;;
  --cluster)
    LOG_TAG=cluster-bin
    build && build_cluster && build_coredns && build_ginkgo
    ;;
  --bin-dir) echo "$BIN_DIR" ;;
  --cluster-bin-dir) echo "$CLUSTER_BIN_DIR" ;;
  *) die "unknown argument $1; use no argument, --cluster, --check-go, --bin-dir or --cluster-bin-dir" ;;
esac
