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
#   go_build_group NAME VERSION WRITE_FN LDFLAGS "PKG=>BIN"...
#                              build Go commands from a wrapper module into $ISTIO_CANARY_CACHE/NAME/VERSION/bin
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

# go_build_group NAME VERSION WRITE_FN LDFLAGS "PKG=>BIN"... : build Go commands from a wrapper module into
#   $ISTIO_CANARY_CACHE/NAME/VERSION/bin (nothing to do when every BIN is there). WRITE_FN is called with the
#   wrapper module's directory as $1 and writes go.mod (and any .go files); `go mod tidy` resolves it. One build
#   per NAME/VERSION at a time (a concurrent run waits, then reuses the result); the bin/ directory is renamed
#   into place whole, so one that exists is complete; the wrapper module is kept in .../src for reference.
#   The caller sets the Go environment (CGO_ENABLED, GOFLAGS, GOTOOLCHAIN).
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

  log "$name $version: writing wrapper module in $work/mod"
  "$write_fn" "$work/mod"

  local start=$SECONDS
  log "$name $version: resolving modules (go mod tidy)"
  (cd "$work/mod" && go mod tidy) >&2 || die "$name: go mod tidy failed"
  log "$name $version: go mod tidy took $((SECONDS - start))s"

  local bstart=$SECONDS
  log "$name $version: building ${bins[*]} (this can take a long time cold)"
  if ((${#pkgs[@]} == 1)); then
    (cd "$work/mod" && go build -trimpath -ldflags "$ldflags" -o "$work/out/${bins[0]}" "${pkgs[0]}") >&2 ||
      die "$name: go build failed"
  else
    (cd "$work/mod" && go build -trimpath -ldflags "$ldflags" -o "$work/out/" "${pkgs[@]}") >&2 ||
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
  unlock "$root/.lock"
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
