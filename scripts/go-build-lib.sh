# shellcheck shell=bash
# Shared by the scripts that build Go programs from modules into the cache
# (build-kube.sh, build-tools.sh): messages and progress lines. The sourcing
# script sets LOG_TAG, the make target it serves, before using them.

log() { echo "$LOG_TAG: $*"; }
die() {
  echo "$LOG_TAG: $*" >&2
  exit 1
}

elapsed() { printf '%dm%02ds' $((SECONDS / 60)) $((SECONDS % 60)); }

# "installed" when the binary runs and its version output ($2 is the flag)
# contains $3.
reports() {
  local out
  [ -x "$1" ] || return 1
  out="$("$1" "$2" 2>&1)" || return 1
  [[ "$out" == *"$3"* ]]
}

# Reads `go build -v`, `go install -v` and `go list` output: counts fetched
# modules and compiled packages, prints a progress line every 30 s and passes
# anything else through. $1: the packages to compile, if known; $2: fetch or
# build.
progress() {
  local total="$1" phase="$2" built=0 fetched=0 last=$SECONDS line
  while IFS= read -r line; do
    case "$line" in
      "go: downloading "*) fetched=$((fetched + 1)) ;;
      "" | *" "*) echo "$line" ;;
      *) built=$((built + 1)) ;;
    esac
    if ((SECONDS - last >= 30)); then
      last=$SECONDS
      if [ "$phase" = fetch ]; then
        log "$(elapsed): $fetched modules fetched"
      elif [ -n "$total" ]; then
        log "$(elapsed): $built of about $total packages compiled"
      else
        log "$(elapsed): $fetched modules fetched, $built packages compiled"
      fi
    fi
  done
  [ "$phase" = fetch ] && log "$(elapsed): $fetched modules fetched"
  return 0
}
