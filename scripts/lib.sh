# Shared shell library of scripts/ (sourced, never executed):
#
#     LOG_TAG=toolchain/foo                         # optional; default: the sourcing script's name
#     source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # (adjust the path)
#
# It also sources versions.sh, so ISTIO_CANARY_CACHE and the pinned versions are set.
# It sets no shell options: each script keeps its own `set -euo pipefail`.
#
#   log MSG...                 "[<tag> HH:MM:SS] MSG" on stderr (the one logging style of scripts/)
#   die MSG...                 log "error: MSG" and exit 1
#   require_cmd CMD...         die unless every CMD is on PATH
#   now / elapsed START        wall-clock seconds (fractional) / seconds since START, one decimal
#   timed WHAT CMD...          run CMD, then log "WHAT took N s"; returns CMD's status
#   mod_dir MODULE@VERSION     download a Go module (if needed) and print its directory in the module cache
#   on_exit CMD [ARGS...]      run CMD when the script exits (in order of registration, before cleanup_add's)
#   cleanup_add PATH...        remove PATH (file or directory) when the script exits
#   tmp_for VAR FINAL          set VAR to a temporary name next to FINAL (same file system), removed on exit
#   install_atomic TMP FINAL   rename TMP (a file or a directory) to FINAL atomically; a FINAL directory in the
#                              way is replaced (moved aside, then removed on exit)
#   lock FILE [WHAT]           take an exclusive flock on FILE (waits, saying so, while someone else holds it);
#                              held until unlock FILE or the script exits
#   unlock FILE
#   have_all DIR BIN...        true when every DIR/BIN is an executable file
#   go_build_env               the Go environment of a toolchain build: static (CGO_ENABLED=0), no VCS stamp,
#                              modules resolved as needed, the local Go only (needs go and flock on PATH)
#   go_build_group NAME VERSION WRITE_FN LDFLAGS "PKG=>BIN"...
#                              build Go commands from a wrapper module into $ISTIO_CANARY_CACHE/NAME/VERSION/bin
#   toolchain_part NAME CMD... run a toolchain script with its detail (Go's output included) in
#                              $ISTIO_CANARY_CACHE/logs/NAME.log and only its progress lines on the terminal;
#                              on failure, the log's last lines (TOOLCHAIN_VERBOSE=1: everything on the terminal)
#   progress MSG...            one progress line on the terminal (fd 4 under toolchain_part, else stderr)
#   build_begin KEY WHAT       a build starts: one line with WHAT, how long its last build took here (or typically
#                              takes cold on 2 cores), the toolchain's elapsed time and the log's path
#   build_end KEY WHAT         it ended: one line with its wall and CPU time; the time is kept for next time
#   sha256_of FILE...          one SHA-256 over the names and contents of FILE... (for rebuild stamps)
#   emit_export NAME VALUE     print `export NAME=<VALUE quoted for the shell>` on stdout
# shellcheck shell=bash source-path=SCRIPTDIR
# shellcheck disable=SC2034 # LIB_DIR and the pinned versions are for the sourcing script

if [[ -n ${ISTIO_CANARY_LIB_LOADED:-} ]]; then return 0; fi
ISTIO_CANARY_LIB_LOADED=1

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$LIB_DIR/versions.sh"

if [[ -z ${LOG_TAG:-} ]]; then
  LOG_TAG="$(basename "${BASH_SOURCE[-1]}" .sh)"
fi

log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || die "$c is not on PATH"
  done
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

timed() {
  local what=$1 t rc=0
  shift
  t="$(now)"
  "$@" || rc=$?
  if ((rc == 0)); then
    log "$what took $(elapsed "$t")s"
  else
    log "$what failed (exit $rc) after $(elapsed "$t")s"
  fi
  return "$rc"
}

mod_dir() {
  local json dir
  json="$(cd / && GOFLAGS=-mod=mod go mod download -json "$1")" || die "go mod download $1 failed"
  dir="$(printf '%s\n' "$json" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
  [[ -n $dir && -d $dir ]] || die "no Dir for $1: $json"
  printf '%s\n' "$dir"
}

# --- On exit: registered commands, then removal of temporary paths (one EXIT trap for every script) ------
LIB_ON_EXIT=()
LIB_CLEANUP=()
lib_on_exit() {
  local cmd p
  for cmd in "${LIB_ON_EXIT[@]+"${LIB_ON_EXIT[@]}"}"; do
    eval "$cmd" || true
  done
  for p in "${LIB_CLEANUP[@]+"${LIB_CLEANUP[@]}"}"; do
    rm -rf -- "$p"
  done
}
trap lib_on_exit EXIT
on_exit() { LIB_ON_EXIT+=("$(printf '%q ' "$@")"); }
cleanup_add() { LIB_CLEANUP+=("$@"); }

tmp_for() {
  local _tmp
  _tmp="$(dirname "$2")/.$(basename "$2").tmp.$$.$RANDOM"
  cleanup_add "$_tmp"
  printf -v "$1" '%s' "$_tmp"
}

install_atomic() {
  local tmp=$1 final=$2
  if [[ -d $tmp && ! -L $tmp ]]; then
    mv -T "$tmp" "$final" 2>/dev/null && return 0
    # mv -T refuses to replace a non-empty directory: move the old one aside first.
    local stale
    tmp_for stale "$final"
    if ! { mv -T "$final" "$stale" && mv -T "$tmp" "$final"; }; then
      die "could not install $final"
    fi
  else
    mv -f "$tmp" "$final" || die "could not install $final"
  fi
}

# --- Locks ------------------------------------------------------------------------------------------------
declare -A LIB_LOCK_FDS=()
lock() {
  local file=$1 what=${2:-$1} fd
  mkdir -p "$(dirname "$file")"
  exec {fd}>"$file"
  if ! flock -n "$fd"; then
    log "waiting for another run holding $what"
    flock "$fd"
  fi
  LIB_LOCK_FDS[$file]=$fd
}
unlock() {
  local fd=${LIB_LOCK_FDS[$1]:-}
  [[ -n $fd ]] || return 0
  exec {fd}>&-
  unset 'LIB_LOCK_FDS[$1]'
}

# --- Go builds -----------------------------------------------------------------------------------------
# have_all DIR BIN... : true when DIR/BIN exists and is executable for every BIN
have_all() {
  local dir=$1 b
  shift
  for b in "$@"; do
    [[ -x "$dir/$b" ]] || return 1
  done
}

go_build_env() {
  require_cmd go flock
  export CGO_ENABLED=0
  export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false -mod=mod"
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
}

# go_build_group NAME VERSION WRITE_FN LDFLAGS "PKG=>BIN"... : build Go commands from a wrapper module into
#   $ISTIO_CANARY_CACHE/NAME/VERSION/bin (nothing to do when every BIN is there). WRITE_FN is called with the
#   wrapper module's directory as $1 and writes go.mod (and any .go files); `go mod tidy` resolves it. One build
#   per NAME/VERSION at a time (a concurrent run waits, then reuses the result); the bin/ directory is renamed
#   into place whole, so one that exists is complete; the wrapper module is kept in .../src for reference.
#   The caller sets the Go environment (CGO_ENABLED, GOFLAGS, GOTOOLCHAIN) and GO_BUILD_TAGS (build tags, if any).
#   A build says so with one progress line (build_begin) and another when done (build_end); the rest goes to stderr.
go_build_group() {
  local name=$1 version=$2 write_fn=$3 ldflags=$4
  shift 4
  local root="$ISTIO_CANARY_CACHE/$name/$version"
  local bindir="$root/bin"
  local -a pkgs=() bins=()
  local spec
  for spec in "$@"; do
    pkgs+=("${spec%%=>*}")
    bins+=("${spec##*=>}")
  done
  if have_all "$bindir" "${bins[@]}"; then
    log "$name $version: cached in $bindir"
    return 0
  fi

  mkdir -p "$root"
  # One build per group at a time; a concurrent run waits and then reuses the result.
  lock "$root/.lock" "the $name $version build"
  if have_all "$bindir" "${bins[@]}"; then
    log "$name $version: cached in $bindir (built concurrently)"
    unlock "$root/.lock"
    return 0
  fi
  local work
  work="$(mktemp -d "$root/build.XXXXXX")"
  cleanup_add "$work"
  mkdir -p "$work/mod" "$work/out"

  local what="${TOOLCHAIN_WHAT[$name]:-$name}"
  [[ $version == v0.0.0-* ]] || what="$what $version" # a pseudo-version says little
  build_begin "$name" "$what"
  log "$name $version: writing wrapper module in $work/mod"
  "$write_fn" "$work/mod"

  local start=$SECONDS
  log "$name $version: resolving modules (go mod tidy)"
  (cd "$work/mod" && go mod tidy) >&2 || die "$name: go mod tidy failed"
  log "$name $version: go mod tidy took $((SECONDS - start))s"

  local bstart=$SECONDS
  log "$name $version: building ${bins[*]} (this can take a long time cold)"
  if ((${#pkgs[@]} == 1)); then
    (cd "$work/mod" && go build -trimpath ${GO_BUILD_TAGS:+-tags="$GO_BUILD_TAGS"} -ldflags "$ldflags" -o "$work/out/${bins[0]}" "${pkgs[0]}") >&2 ||
      die "$name: go build failed"
  else
    (cd "$work/mod" && go build -trimpath ${GO_BUILD_TAGS:+-tags="$GO_BUILD_TAGS"} -ldflags "$ldflags" -o "$work/out/" "${pkgs[@]}") >&2 ||
      die "$name: go build failed"
    # go build -o dir/ names each binary after its package's last path element.
    local i default
    for i in "${!pkgs[@]}"; do
      default="$(basename "${pkgs[$i]}")"
      if [[ "$default" != "${bins[$i]}" ]]; then
        mv "$work/out/$default" "$work/out/${bins[$i]}"
      fi
    done
  fi
  have_all "$work/out" "${bins[@]}" || die "$name: build produced no ${bins[*]}"
  log "$name $version: go build took $((SECONDS - bstart))s (total $((SECONDS - start))s)"

  # Keep the wrapper module next to the binaries for reference/debugging.
  cp -r "$work/mod" "$work/src"
  install_atomic "$work/src" "$root/src"

  install_atomic "$work/out" "$bindir"
  log "$name $version: installed ${bins[*]} in $bindir"
  build_end "$name" "$what"
  unlock "$root/.lock"
}

# --- Toolchain progress: one line per component on the terminal, the rest in a log file -----------------------
TOOLCHAIN_LOG_DIR="$ISTIO_CANARY_CACHE/logs"
TOOLCHAIN_TIMES_DIR="$ISTIO_CANARY_CACHE/build-times"
# When the toolchain started (the outermost script sets it; the elapsed time of every line counts from it).
export TOOLCHAIN_T0="${TOOLCHAIN_T0:-$(date +%s)}"
# Cold build times measured on a new 2-core machine, the two streams of scripts/env.sh side by side (so each shares
# the cores with the other stream; empty Go caches; README "The local cluster and the toolchain"), shown before a
# component's first build here. kwok and istiod: estimated since they share the cluster's module (their times alone
# in bench/toolchain-share.sh, doubled for the other stream).
declare -A TOOLCHAIN_TYPICAL=(
  [pulumi]="11 min" [pulumi-language-nodejs]="under a minute" [pulumi-language-go]="1 min" [provider]="28 min"
  [pulumi-yaml]="2 min" [etcd]="3 min" [kubernetes]="20 min" [kwok]="under a minute" [helm]="2 min"
  [istiod]="8 min" [istioctl]="2 min" [bridge]="seconds" [metrics-server]="8 min" [seaweedfs]="13 min"
)

# What each component is, for the progress lines.
declare -A TOOLCHAIN_WHAT=(
  [etcd]="etcd" [kubernetes]="Kubernetes (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl)"
  [kwok]="kwok (fake nodes)" [helm]="the helm CLI" [pulumi-yaml]="Pulumi YAML's language host"
  [istiod]="istiod (Istio's control plane, pilot-discovery)" [istioctl]="istioctl"
  [metrics-server]="metrics-server (the resource metrics API)"
  [seaweedfs]="SeaweedFS (weed, the S3 state backend of the multi-runner tests)"
)

minutes() { awk -v s="$1" 'BEGIN { if (s < 90) printf "%d s", s; else printf "%.1f min", s / 60 }'; }

progress() {
  local line
  line="$(printf '[toolchain %s] %s' "$(date +%H:%M:%S)" "$*")"
  if { true >&4; } 2>/dev/null; then
    printf '%s\n' "$line" >&4
  else
    printf '%s\n' "$line" >&2
  fi
}

# A toolchain part runs with Go's garbage collector set for its compilers and linkers: collect at 5x the live heap
# instead of 2x (GOGC=400), within 4 GiB a process (GOMEMLIMIT: collect sooner near it, a soft bound). The binaries
# are the same; etcd's build took 6% less CPU on an idle machine (bench/toolchain-gc.sh); the peak memory of the
# largest links at 400 is not measured yet. TOOLCHAIN_GOGC / TOOLCHAIN_GOMEMLIMIT override them. Only the builds: the servers the
# cluster scripts start keep Go's defaults.
toolchain_part() {
  local name=$1 rc=0
  shift
  local -x GOGC="${TOOLCHAIN_GOGC:-400}" GOMEMLIMIT="${TOOLCHAIN_GOMEMLIMIT:-4GiB}"
  if [[ ${TOOLCHAIN_VERBOSE:-0} == 1 ]]; then
    "$@" 4>&2
    return
  fi
  mkdir -p "$TOOLCHAIN_LOG_DIR"
  local logf="$TOOLCHAIN_LOG_DIR/$name.log"
  printf '\n=== %s: %s\n' "$(date '+%F %T')" "$*" >>"$logf"
  TOOLCHAIN_LOG_FILE="$logf" "$@" 4>&2 2>>"$logf" || rc=$?
  if ((rc != 0)); then
    progress "error: $name failed (exit $rc); the last lines of $logf:"
    tail -n 30 "$logf" >&2
  fi
  return "$rc"
}

# children_cpu VAR : VAR = CPU seconds (user + system) of this shell's finished children so far. `times` must run in
# this shell, not in a command substitution's subshell (which has no children of its own).
children_cpu() {
  local f
  f="$(mktemp)"
  times >"$f"
  printf -v "$1" '%s' "$(awk 'NR == 2 { gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4 }' "$f")"
  rm -f "$f"
}

declare -A LIB_BUILD_T=() LIB_BUILD_CPU=()
build_begin() {
  local key=$1 what=$2 last
  LIB_BUILD_T[$key]=$SECONDS
  local cpu0
  children_cpu cpu0
  LIB_BUILD_CPU[$key]=$cpu0
  if [[ -f $TOOLCHAIN_TIMES_DIR/$key ]]; then
    last="last build here took $(minutes "$(cut -d' ' -f1 "$TOOLCHAIN_TIMES_DIR/$key")")"
  else
    last="first build here; typically ${TOOLCHAIN_TYPICAL[$key]:-a few minutes} cold on 2 cores"
  fi
  progress "building $what ($last); elapsed $(minutes $(($(date +%s) - TOOLCHAIN_T0)))${TOOLCHAIN_LOG_FILE:+; log: $TOOLCHAIN_LOG_FILE}"
}
build_end() {
  local key=$1 what=$2 wall cpu cpu1
  wall=$((SECONDS - ${LIB_BUILD_T[$key]:-$SECONDS}))
  children_cpu cpu1
  cpu="$(awk -v a="${LIB_BUILD_CPU[$key]:-0}" -v b="$cpu1" 'BEGIN { printf "%d", b - a }')"
  mkdir -p "$TOOLCHAIN_TIMES_DIR"
  echo "$wall $cpu" >"$TOOLCHAIN_TIMES_DIR/$key"
  progress "built $what in $(minutes "$wall") ($(minutes "$cpu") of CPU); elapsed $(minutes $(($(date +%s) - TOOLCHAIN_T0)))"
}

# --- Misc --------------------------------------------------------------------------------------------------
sha256_of() {
  local f
  for f in "$@"; do
    printf '%s\0' "$(basename "$f")"
    cat -- "$f"
    printf '\0'
  done | sha256sum | cut -d' ' -f1
}

emit_export() { printf 'export %s=%q\n' "$1" "$2"; }
