#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Checks the Go sources kept in the repository (every module under scripts/ with a go.mod, such as
# scripts/toolchain/langhost): `gofmt -l` must print nothing and `go vet ./...` must pass; examples/ is gofmt-checked.
# For CI:
#   scripts/go-check.sh
# Needs Go and the Go module proxy (or a warm module cache); never edits go.mod or go.sum.
set -euo pipefail
LOG_TAG=go-check
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
require_cmd go gofmt
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS=-mod=readonly CGO_ENABLED=0

mapfile -t modules < <(find "$LIB_DIR" -name go.mod -not -path '*/node_modules/*' -printf '%h\n' | sort)
((${#modules[@]} > 0)) || die "no Go module under $LIB_DIR"
failed=0
for m in "${modules[@]}"; do
  rel="${m#"$(dirname "$LIB_DIR")"/}"
  unformatted="$(gofmt -l "$m")"
  if [[ -n $unformatted ]]; then
    log "$rel: gofmt -l lists files that need gofmt -w:"
    printf '  %s\n' "$unformatted" >&2
    failed=1
  fi
  t="$(now)"
  # -trimpath: the same compile flags as the toolchain builds, so their compiled packages are reused.
  if (cd "$m" && go vet -trimpath ./...); then
    log "$rel: gofmt clean, go vet passed ($(elapsed "$t")s)"
  else
    log "$rel: go vet failed"
    failed=1
  fi
done
# The Go example (examples/go, the README's walk-through) builds only against the SDK `pulumi package add`
# generates (tests/e2e/13 builds it): gofmt here.
unformatted="$(gofmt -l "$(dirname "$LIB_DIR")/examples")"
if [[ -n $unformatted ]]; then
  log "examples: gofmt -l lists files that need gofmt -w:"
  printf '  %s\n' "$unformatted" >&2
  failed=1
fi
((failed == 0)) || die "Go checks failed"
