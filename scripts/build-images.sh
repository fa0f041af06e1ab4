#!/usr/bin/env bash
# make images: every container image the real-cluster tests run, built on this
# machine (no container registry is reachable), one docker-archive each in
#     ${KPR_CACHE:-$HOME/.cache/kpr}/images/<name>.tar
# for `ctr -n k8s.io images import <name>.tar`. Each archive carries the exact
# reference that pods name, so the kubelet finds it without pulling:
#
#   name                    reference (in the archive, as containerd stores it)
#   kpr                     docker.io/library/kpr:<appVersion>   (chart default `image: kpr:<appVersion>`)
#   pause                   registry.k8s.io/pause:3.10.2         (containerd's sandbox_image)
#   agnhost                 registry.k8s.io/e2e-test-images/agnhost:2.66.1
#   busybox                 registry.k8s.io/e2e-test-images/busybox:1.37.0-2
#   regression-issue-74839  registry.k8s.io/e2e-test-images/regression-issue-74839:1.5
#   nginx                   registry.k8s.io/e2e-test-images/nginx:1.27.0-2
#   distroless-iptables     registry.k8s.io/build-image/distroless-iptables:v0.9.9
#   kube-proxy              registry.k8s.io/kube-proxy:<KUBE_VERSION>   (the baseline run)
#   mesh-sidecar            localhost/kpr-tests/mesh-sidecar:1   (a mesh's capture: iptables, SO_ORIGINAL_DST)
#
# The e2e tags are those of test/utils/image/manifest.go at KUBE_VERSION
# (tests/e2e/kube-versions.env); the build fails if that file disagrees.
#
# Recipes: the repository's Dockerfile (kpr) and tests/cluster/images/<name>/Dockerfile,
# built by buildah on two local bases that are not archived:
#   localhost/kpr-base/debian:bookworm   mmdebstrap minbase root (base/Dockerfile)
#   localhost/kpr-base/node:<version>    that root + this machine's Node (node/Dockerfile),
#                                        the Dockerfile's NODE_IMAGE
# Binaries come from make kube-bin (kube-proxy) and make cluster-bin (agnhost,
# regression-issue-74839); pause.c from the Kubernetes module source.
#
# An image is rebuilt only when a hash of its inputs (recipe, context files,
# build arguments, the inputs of the image it starts from) differs from the
# one stamped when its archive was written; otherwise the run is a no-op.
# buildah's storage, the apt .deb cache and npm's cache live beside the archives.
#
#   scripts/build-images.sh            build what changed
#   scripts/build-images.sh --force    rebuild everything (layer caches still apply)
#   scripts/build-images.sh --list     print name, reference and archive path
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../tests/e2e/kube-versions.env
source "$ROOT/tests/e2e/kube-versions.env"
CACHE="${KPR_CACHE:-$HOME/.cache/kpr}"
OUT="$CACHE/images"
KUBE_CACHE="$CACHE/kube/$KUBE_VERSION"
KUBE_SRC="${GOMODCACHE:-$(go env GOMODCACHE 2>/dev/null || echo "$HOME/go/pkg/mod")}/k8s.io/kubernetes@$KUBE_VERSION"
RECIPES="$ROOT/tests/cluster/images"
# Private buildah storage: nothing else on the machine sees these images, and
# removing $OUT removes all of it.
STORE="$OUT/storage"
RUNROOT="/run/kpr-images"
APT_CACHE="$OUT/apt-archives"
NPM_CACHE="$OUT/npm-cache"
STAMPS="$OUT/stamps"
LOGS="$OUT/logs"
DEBIAN_SUITE=bookworm
BASE_REF="localhost/kpr-base/debian:$DEBIAN_SUITE"

FORCE=0
case "${1:-}" in
  --force) FORCE=1 ;;
  --list | "") ;;
  *) echo "usage: $0 [--force|--list]" >&2; exit 2 ;;
esac

log() { echo "images: $*"; }
die() { echo "images: $*" >&2; exit 1; }

# The e2e references, as manifest.go at KUBE_VERSION names them (Config{registry, name, tag}).
E2E_TAGS=(agnhost=2.66.1 busybox=1.37.0-2 regression-issue-74839=1.5 nginx=1.27.0-2 distroless-iptables=v0.9.9 pause=3.10.2)

chart_field() { sed -n "s/^$2:[[:space:]]*\"\{0,1\}\([^\"]*\)\"\{0,1\}[[:space:]]*\$/\1/p" "$1" | head -n1; }
KPR_VERSION="$(chart_field "$ROOT/charts/kpr/Chart.yaml" appVersion)"
KPR_REPO="$(sed -n '/^image:/,/^[^ ]/s/^  repository:[[:space:]]*\"\{0,1\}\([^\"]*\)\"\{0,1\}[[:space:]]*$/\1/p' "$ROOT/charts/kpr/values.yaml" | head -n1)"
[ -n "$KPR_VERSION" ] && [ -n "$KPR_REPO" ] || die "cannot read image.repository / appVersion from charts/kpr"

# What containerd (and so the kubelet) calls an image reference: a name with no
# registry is Docker Hub's, a one-component name is in library/. buildah would
# instead put a bare `kpr:0.1.0` under localhost/, where the kubelet never looks.
normalize_ref() {
  local ref="$1" first="${1%%/*}"
  if [ "$first" = "$ref" ]; then
    echo "docker.io/library/$ref"
  elif [[ "$first" == *.* || "$first" == *:* || "$first" == localhost ]]; then
    echo "$ref"
  else
    echo "docker.io/$ref"
  fi
}

tag_of() { local kv; for kv in "${E2E_TAGS[@]}"; do [ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return; }; done; die "no tag for $1"; }

# name|reference|recipe (Dockerfile)|context dir|context files (space-separated, relative; "@dockerignore" = what .dockerignore lets in)|image it starts from (a name here)|build args
# In build order: an image comes after the one it starts from.
IMAGES=(
  "base|$BASE_REF|$RECIPES/base/Dockerfile|-|rootfs.tar|-|"
  "node|-|$RECIPES/node/Dockerfile|-|-|base|"
  "kpr|$(normalize_ref "$KPR_REPO:$KPR_VERSION")|$ROOT/Dockerfile|$ROOT|@dockerignore|node|"
  "pause|registry.k8s.io/pause:$(tag_of pause)|$RECIPES/pause/Dockerfile|$KUBE_SRC/build/pause/linux|pause.c|base|VERSION=v$(tag_of pause)-0"
  "agnhost|registry.k8s.io/e2e-test-images/agnhost:$(tag_of agnhost)|$RECIPES/agnhost/Dockerfile|$KUBE_CACHE/cluster-bin|agnhost|base|"
  "busybox|registry.k8s.io/e2e-test-images/busybox:$(tag_of busybox)|$RECIPES/busybox/Dockerfile|$RECIPES/busybox|Dockerfile|base|"
  "regression-issue-74839|registry.k8s.io/e2e-test-images/regression-issue-74839:$(tag_of regression-issue-74839)|$RECIPES/regression-issue-74839/Dockerfile|$KUBE_CACHE/cluster-bin|regression-issue-74839|base|"
  "nginx|registry.k8s.io/e2e-test-images/nginx:$(tag_of nginx)|$RECIPES/nginx/Dockerfile|$RECIPES/nginx|Dockerfile|base|"
  "distroless-iptables|registry.k8s.io/build-image/distroless-iptables:$(tag_of distroless-iptables)|$RECIPES/distroless-iptables/Dockerfile|$RECIPES/distroless-iptables|Dockerfile|base|"
  "kube-proxy|registry.k8s.io/kube-proxy:$KUBE_VERSION|$RECIPES/kube-proxy/Dockerfile|$KUBE_CACHE/bin|kube-proxy|distroless-iptables|"
  "mesh-sidecar|localhost/kpr-tests/mesh-sidecar:1|$RECIPES/mesh-sidecar/Dockerfile|$ROOT/tests/helpers|orig_dst_proxy.py|distroless-iptables|"
)
# Images that only others start from: kept in buildah's storage, not archived.
is_base() { [ "$1" = base ] || [ "$1" = node ]; }

if [ "${1:-}" = --list ]; then
  for e in "${IMAGES[@]}"; do
    IFS='|' read -r name ref _ <<<"$e"
    is_base "$name" || printf '%-24s %-64s %s\n' "$name" "$ref" "$OUT/$name.tar"
  done
  exit 0
fi

command -v buildah >/dev/null && command -v mmdebstrap >/dev/null ||
  die "buildah and mmdebstrap are missing: run make images (it installs them)"

# The pins above must be the ones the e2e framework of KUBE_VERSION asks for.
check_manifest() {
  local manifest="$KUBE_SRC/test/utils/image/manifest.go" kv name
  [ -f "$manifest" ] || die "no $manifest: make cluster-bin fetches the Kubernetes source"
  for kv in "${E2E_TAGS[@]}"; do
    name="${kv%%=*}"
    grep -q "\"$name\", \"${kv#*=}\"}" "$manifest" ||
      die "$manifest does not name $name:${kv#*=}; update E2E_TAGS in $0"
  done
}

bh() { buildah --root "$STORE" --runroot "$RUNROOT" --storage-driver overlay "$@"; }

# The patterns after `*` in a .dockerignore of the form "* then !allow lines",
# expanded to the files they let into the build context.
dockerignore_files() {
  local dir="$1" line
  (
    cd "$dir"
    shopt -s nullglob
    while IFS= read -r line; do
      case "$line" in
        '!'*) for p in ${line#!}; do
                if [ -d "$p" ]; then find "$p" -type f; elif [ -e "$p" ]; then echo "$p"; fi
              done ;;
      esac
    done <.dockerignore
  ) | LC_ALL=C sort -u
}

# Node's installation, as the files node/Dockerfile copies under /usr.
NODE_PREFIX="$(node -p 'require("path").resolve(process.execPath, "../..")' 2>/dev/null || true)"
NODE_VERSION="$(node --version 2>/dev/null || true)"
node_files() {
  (cd "$NODE_PREFIX" && echo bin/node && find include/node lib/node_modules/npm -type f,l) | LC_ALL=C sort
}

# inputs_key ENTRY: a hash of everything that decides the image.
declare -A KEY=()
inputs_key() {
  local name ref recipe ctx files from args
  IFS='|' read -r name ref recipe ctx files from args <<<"$1"
  {
    echo "recipe-version 1 $name $ref $args ${KEY[$from]:-}"
    sha256sum <"$recipe"
    case "$name" in
      base) echo "mmdebstrap $DEBIAN_SUITE ${BASE_OPTS[*]}"; mmdebstrap --version ;;
      node) # size and mtime: hashing node's 60 MB of headers on every run would cost more than a rebuild saves
        [ -n "$NODE_PREFIX" ] || die "no node on PATH (the Dockerfile's build needs one to copy in)"
        echo "$NODE_PREFIX $NODE_VERSION"
        node_files | (cd "$NODE_PREFIX" && xargs -d '\n' stat -c '%n %s %Y') ;;
      *)
        if [ "$files" = @dockerignore ]; then
          sha256sum "$ctx/.dockerignore"
          dockerignore_files "$ctx" | (cd "$ctx" && xargs -d '\n' sha256sum)
        else
          for f in $files; do
            [ -f "$ctx/$f" ] || die "$name: no $ctx/$f (make kube-bin / make cluster-bin builds it)"
            (cd "$ctx" && sha256sum "$f")
          done
        fi ;;
    esac
  } | sha256sum | cut -c1-64
}

# mmdebstrap's options for the base root. Docs, man pages and locales are left
# out as Debian's slim images do; dpkg keeps the exclusion in the root, so
# packages that the recipes install leave them out too. The merged-usr hook
# sets up merged /usr with symlinks, not by installing usrmerge (and perl).
# No apt binary caches: apt-get update would leave 80 MB of them in the layer
# of every recipe's apt-get step (Debian's container images turn them off too).
BASE_OPTS=(--variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --aptopt='Dir::Cache::pkgcache ""' --aptopt='Dir::Cache::srcpkgcache ""'
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/lintian/*')

image_present() { bh inspect --type image "$1" >/dev/null 2>&1; }

# The RUN steps of every recipe share the machine's apt .deb cache and npm
# cache (bind mounts, so nothing of them lands in a layer). chroot isolation
# and the host network: these builds run no daemon, nested namespaces are
# not needed, and apt and npm reach their registries directly.
BUILD_FLAGS=()
set_build_flags() {
  BUILD_FLAGS=(--isolation chroot --network host --layers --pull=never --format docker
    --volume "$APT_CACHE:/var/cache/apt/archives" --volume "$NPM_CACHE:/root/.npm")
  # A machine whose own npm trusts an extra CA (a TLS-inspecting proxy on the
  # way to the registry) needs it inside the build too. It rides in the npm
  # cache mount, never in a layer; only an empty /root/.npmrc mount point stays.
  if [ -n "$BUILD_CA" ]; then
    BUILD_FLAGS+=(--volume "$OUT/build-npmrc:/root/.npmrc:ro")
  fi
}
BUILD_CA="$(npm config get cafile 2>/dev/null || true)"
case "$BUILD_CA" in null | undefined | "") BUILD_CA="${NODE_EXTRA_CA_CERTS:-}" ;; esac
[ -z "$BUILD_CA" ] || [ -f "$BUILD_CA" ] || BUILD_CA=""

# build_one NAME REF RECIPE CONTEXT FROM ARGS LOGFILE
build_one() {
  local name="$1" ref="$2" recipe="$3" ctx="$4" from="$5" args="$6" logf="$7" a
  local -a cmd=("${BUILD_FLAGS[@]}")
  [ "$from" = - ] || cmd+=(--build-arg "$( [ "$name" = kpr ] && echo NODE_IMAGE || echo BASE_IMAGE )=${REF_OF[$from]}")
  for a in $args; do cmd+=(--build-arg "$a"); done
  bh build "${cmd[@]}" -f "$recipe" -t "$ref" "$ctx" >>"$logf" 2>&1
}

build_base() {
  local logf="$1" tmp
  tmp="$(mktemp -d "$OUT/tmp.base.XXXXXX")"
  # sync-in/sync-out: the .debs of earlier runs are reused, new ones kept.
  mmdebstrap "${BASE_OPTS[@]}" --skip=download/empty --skip=essential/unlink \
    --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
    --setup-hook="sync-in $APT_CACHE /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives $APT_CACHE" \
    "$DEBIAN_SUITE" "$tmp/rootfs.tar" >>"$logf" 2>&1 || { rm -rf "$tmp"; return 1; }
  cp "$RECIPES/base/Dockerfile" "$tmp/Dockerfile"
  build_one base "$BASE_REF" "$tmp/Dockerfile" "$tmp" - "" "$logf" || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
}

build_node() {
  local ref="$1" logf="$2" tmp
  tmp="$(mktemp -d "$OUT/tmp.node.XXXXXX")"
  node_files | tar -C "$NODE_PREFIX" --no-recursion -cf - -T - | tar -C "$tmp" -xf -
  # npm and npx are links into lib/node_modules in every node distribution.
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/bin/npx"
  build_one node "$ref" "$RECIPES/node/Dockerfile" "$tmp" base "" "$logf" || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
}

# Proof that an image works, run in it by buildah before its archive is written.
smoke_test() {
  local name="$1" ref="$2" c rc=0
  local -a check
  case "$name" in
    kpr) check=(sh -c 'kpr --help >/dev/null && node -e "require(\"/opt/kpr/native/build/Release/kpr.node\")"') ;;
    agnhost) check=(sh -c '/agnhost --help >/dev/null && curl --version && wget --version && nc -h 2>&1 | grep -q -- -W &&
      command -v nslookup && dig -v && timeout --version && ip -V && iptables --version && conntrack --version &&
      m=$(cut -c8- /var/registry/pause/manifests/testing) && test -s /var/registry/pause/manifests/sha256/$(echo "$m" | cut -c1-2)/$m/data') ;;
    busybox) check=(sh -c 'for t in sh sleep wget nc nslookup seq timeout hostname; do command -v $t >/dev/null || { echo "no $t"; exit 1; }; done') ;;
    kube-proxy) check=(/usr/local/bin/kube-proxy --version) ;;
    distroless-iptables) check=(sh -c 'nft --version && iptables --version && conntrack --version') ;;
    *) return 0 ;;
  esac
  c="$(bh from --pull=never --quiet "$ref")"
  bh run --isolation chroot --network host "$c" -- "${check[@]}" >/dev/null 2>&1 || rc=$?
  bh rm "$c" >/dev/null
  [ "$rc" = 0 ] || { echo "images: $name: the smoke test failed: ${check[*]}" >&2; return 1; }
}

mkdir -p "$OUT" "$STAMPS" "$LOGS" "$APT_CACHE/partial" "$NPM_CACHE"
if [ -n "$BUILD_CA" ]; then
  cp "$BUILD_CA" "$NPM_CACHE/build-ca.crt"
  echo "cafile=/root/.npm/build-ca.crt" >"$OUT/build-npmrc"
fi
set_build_flags
# One run at a time: two would write the same archives and storage.
exec 9>"$OUT/.lock"
flock -n 9 || { log "another build-images run holds $OUT/.lock; waiting"; flock 9; }
check_manifest

declare -A REF_OF=()
total_start=$SECONDS
built=0
n=0
for e in "${IMAGES[@]}"; do
  IFS='|' read -r name ref recipe ctx files from args <<<"$e"
  n=$((n + 1))
  [ "$name" = node ] && ref="localhost/kpr-base/node:${NODE_VERSION#v}"
  REF_OF[$name]="$ref"
  KEY[$name]="$(inputs_key "$e")"
  tar="$OUT/$name.tar"
  stamp="$STAMPS/$name"
  if [ "$FORCE" = 0 ] && [ "$(cat "$stamp" 2>/dev/null)" = "${KEY[$name]}" ] &&
    { is_base "$name" || [ -f "$tar" ]; } && image_present "$ref"; then
    log "[$n/${#IMAGES[@]}] $name: up to date ($ref)"
    continue
  fi
  # An image that changes invalidates its stamp before anything is rebuilt,
  # so a failed build is never taken for a current one.
  rm -f "$stamp"
  logf="$LOGS/$name.log"
  : >"$logf"
  log "[$n/${#IMAGES[@]}] $name: building $ref (log: $logf)"
  t0=$SECONDS
  old_id="$(bh images -q --no-trunc "$ref" 2>/dev/null | head -n1 || true)"
  case "$name" in
    base) ok() { build_base "$logf"; } ;;
    node) ok() { build_node "$ref" "$logf"; } ;;
    *) ok() { build_one "$name" "$ref" "$recipe" "$ctx" "$from" "$args" "$logf"; } ;;
  esac
  if ! ok; then
    tail -n 30 "$logf" >&2
    die "$name: build failed after $((SECONDS - t0)) s (full log: $logf)"
  fi
  smoke_test "$name" "$ref"
  if ! is_base "$name"; then
    rm -f "$tar.tmp"
    bh push --quiet "$ref" "docker-archive:$tar.tmp:$ref" >>"$logf" 2>&1 ||
      { tail -n 20 "$logf" >&2; die "$name: writing $tar failed"; }
    mv -f "$tar.tmp" "$tar"
    log "[$n/${#IMAGES[@]}] $name: $(du -m "$tar" | cut -f1) MB archive in $((SECONDS - t0)) s"
  else
    log "[$n/${#IMAGES[@]}] $name: built in $((SECONDS - t0)) s"
  fi
  echo "${KEY[$name]}" >"$stamp"
  # The image this one replaced would otherwise stay in the storage untagged
  # after every rebuild; one that is still a layer-cache parent stays (rmi refuses).
  if [ -n "$old_id" ] && [ "$old_id" != "$(bh images -q --no-trunc "$ref" | head -n1)" ]; then
    bh rmi "$old_id" >/dev/null 2>&1 || true
  fi
  built=$((built + 1))
done
log "$built built, $(( ${#IMAGES[@]} - built )) up to date, in $((SECONDS - total_start)) s; archives in $OUT"
