#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds (or reuses) Istio's control plane and CLI from the same Go module as the charts
# (istio.io/istio@$ISTIO_MODULE_VERSION, scripts/versions.sh):
#   pilot-discovery   istio.io/istio/pilot/cmd/pilot-discovery  (istiod: xDS, CA, validation webhook)
#   istioctl          istio.io/istio/istioctl/cmd/istioctl       (istioctl analyze, proxy-config, ...)
# through a wrapper module that requires istio.io/istio at the pinned pseudo-version (`go mod tidy` resolves it
# from the Go module proxy), with Istio's release build tags and `-ldflags "-s -w"` plus its version stamps.
#
# Cached under $ISTIO_CANARY_CACHE/istiod/$ISTIO_MODULE_VERSION/bin/ : built into a temporary directory that is
# renamed into place (a bin/ that exists is complete), one build at a time (flock on .lock next to it).
#
# stdout: only `export NAME=value` lines:  eval "$(scripts/toolchain/istiod.sh)"
#   ISTIOD_BIN, ISTIOCTL  the two binaries
# stderr: progress and build times (a cold build takes minutes; see README).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../versions.sh
source "$SCRIPT_DIR/../versions.sh"

log() { printf '[istiod.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v go >/dev/null || die "go is not on PATH"
command -v flock >/dev/null || die "flock is required (Debian: util-linux)"

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false -mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

root="$ISTIO_CANARY_CACHE/istiod/$ISTIO_MODULE_VERSION"
bindir="$root/bin"
BINS=(pilot-discovery istioctl)
PKGS=(istio.io/istio/pilot/cmd/pilot-discovery istio.io/istio/istioctl/cmd/istioctl)

have_all() {
  local b
  for b in "${BINS[@]}"; do [[ -x "$bindir/$b" ]] || return 1; done
}

print_exports() {
  printf 'export ISTIOD_BIN=%q\n' "$bindir/pilot-discovery"
  printf 'export ISTIOCTL=%q\n' "$bindir/istioctl"
}

if have_all; then
  log "pilot-discovery + istioctl $ISTIO_MODULE_VERSION: cached in $bindir"
  print_exports
  exit 0
fi

mkdir -p "$root"
exec {lockfd}>"$root/.lock"
if ! flock -n "$lockfd"; then
  log "another istiod build is running; waiting for it"
  flock "$lockfd"
fi
if have_all; then
  log "pilot-discovery + istioctl: cached in $bindir (built concurrently)"
  print_exports
  exit 0
fi

work="$(mktemp -d "$root/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mod" "$work/out"
start=$SECONDS

# The module's VERSION file is the release line ("1.31"); Istio's Makefile stamps "<line>-dev" on such builds.
src="$(cd / && go mod download -json "istio.io/istio@$ISTIO_MODULE_VERSION" | sed -nE 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
[[ -n "$src" && -f "$src/VERSION" ]] || die "go mod download istio.io/istio@$ISTIO_MODULE_VERSION failed"
istio_version="$(tr -d '[:space:]' <"$src/VERSION")-dev"
commit="${ISTIO_MODULE_VERSION##*-}"

cat >"$work/mod/go.mod" <<EOF
module istio-canary.local/toolchain/istiod

go 1.26.0

require istio.io/istio $ISTIO_MODULE_VERSION

tool (
	istio.io/istio/pilot/cmd/pilot-discovery
	istio.io/istio/istioctl/cmd/istioctl
)
EOF

log "resolving modules for istio.io/istio@$ISTIO_MODULE_VERSION (go mod tidy)"
(cd "$work/mod" && go mod tidy) >&2 || die "go mod tidy failed in $work/mod"
log "go mod tidy took $((SECONDS - start))s"

v=istio.io/istio/pkg/version
ldflags="-s -w -X $v.buildVersion=$istio_version -X $v.buildGitRevision=$commit -X $v.buildStatus=Clean"
ldflags+=" -X $v.buildTag=$istio_version -X $v.buildHub=local -X $v.buildOS=$(go env GOOS) -X $v.buildArch=$(go env GOARCH)"
bstart=$SECONDS
log "building ${BINS[*]} (Istio $istio_version; tags vtprotobuf,disable_pgv as Istio's release; minutes when cold)"
(cd "$work/mod" && go build -trimpath -tags=vtprotobuf,disable_pgv -ldflags "$ldflags" -o "$work/out/" "${PKGS[@]}") >&2 ||
  die "go build of ${BINS[*]} failed"
for b in "${BINS[@]}"; do [[ -x "$work/out/$b" ]] || die "the build produced no $b"; done
"$work/out/pilot-discovery" version --short >/dev/null 2>&1 || die "the built pilot-discovery does not run"
log "go build took $((SECONDS - bstart))s (total $((SECONDS - start))s)"

# Keep the wrapper module next to the binaries for reference.
rm -rf "$root/src.new"
cp -r "$work/mod" "$root/src.new"
rm -rf "$root/src"
mv -T "$root/src.new" "$root/src"

if ! mv -T "$work/out" "$bindir" 2>/dev/null; then
  # An incomplete bin/ is in the way (have_all failed above, under the lock): replace it.
  rm -rf "$bindir.stale"
  if ! { mv -T "$bindir" "$bindir.stale" && mv -T "$work/out" "$bindir"; }; then die "could not install $bindir"; fi
  rm -rf "$bindir.stale"
fi
echo "$((SECONDS - start))" >"$root/build-seconds"
log "installed ${BINS[*]} in $bindir ($(du -sh "$bindir" | cut -f1))"
print_exports
