#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds (or reuses) SeaweedFS from its Go module, the S3-compatible object store the multi-runner e2e tests keep
# their Pulumi state in (scripts/backend/seaweedfs.sh starts it):
#   weed                     github.com/seaweedfs/seaweedfs/weed @ $SEAWEEDFS_MODULE_VERSION
# through a wrapper module that requires it. SeaweedFS's go.mod replaces github.com/tyler-smith/go-bip39 (deleted
# from GitHub) by github.com/cosmos/go-bip39; a dependency's replace directives do not apply to the module that
# requires it, so the wrapper repeats it.
#
# Cached under $ISTIO_CANARY_CACHE/seaweedfs/$SEAWEEDFS_MODULE_VERSION/bin/ (go_build_group of scripts/lib.sh: a
# bin/ that exists is complete; one build at a time). The build runs at `nice -n 10`: it shares the machine.
#
# stdout: only `export NAME=value` lines:  eval "$(scripts/toolchain/seaweedfs.sh)"
#   SEAWEEDFS_BIN
set -euo pipefail
LOG_TAG=toolchain/seaweedfs
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"

go_build_env

write_seaweedfs_mod() {
  cat >"$1/go.mod" <<MOD
module istio-canary.local/toolchain/seaweedfs

go 1.26.6

require github.com/seaweedfs/seaweedfs ${SEAWEEDFS_MODULE_VERSION}

replace github.com/tyler-smith/go-bip39 => github.com/cosmos/go-bip39 v1.0.0

tool github.com/seaweedfs/seaweedfs/weed
MOD
}

bin="$ISTIO_CANARY_CACHE/seaweedfs/$SEAWEEDFS_MODULE_VERSION/bin/weed"
# The commit stamp SeaweedFS's Makefile sets (`weed version`): the pseudo-version's commit.
ldflags="-s -w -X github.com/seaweedfs/seaweedfs/weed/util/version.COMMIT=${SEAWEEDFS_MODULE_VERSION##*-}"
renice -n 10 -p $$ >/dev/null 2>&1 || true # go build inherits it
go_build_group seaweedfs "$SEAWEEDFS_MODULE_VERSION" write_seaweedfs_mod "$ldflags" \
  "github.com/seaweedfs/seaweedfs/weed=>weed"
"$bin" version >/dev/null 2>&1 || die "the built weed does not run ($bin)"
emit_export SEAWEEDFS_BIN "$bin"
