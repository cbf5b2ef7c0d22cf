#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds (or reuses) Pulumi YAML's language host, so `runtime: yaml` programs run:
#   $ISTIO_CANARY_CACHE/pulumi-yaml/$PULUMI_YAML_VERSION/bin/pulumi-language-yaml
#       github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml @ v$PULUMI_YAML_VERSION, through a wrapper module
#       that requires only pulumi-yaml, so it builds against the github.com/pulumi/pulumi/{pkg,sdk}/v3 it was
#       released with (v1.25.0: 3.206.0; it does not compile against 3.248.0's API). It talks to the 3.248.0 CLI
#       over the LanguageRuntime gRPC protocol, which is backward compatible.
# and puts it next to the Pulumi CLI ($ISTIO_CANARY_CACHE/pulumi/v$PULUMI_VERSION/bin, built by pulumi.sh first),
# where the CLI looks for bundled language hosts: anywhere else on PATH it warns "using pulumi-language-yaml from
# $PATH". A hard link (a copy across file systems), not a symlink: the YAML host starts plugins itself and looks
# for pulumi-language-nodejs next to its own resolved path, and warns likewise when it is not there.
# Prints nothing on stdout: pulumi.sh's PATH export covers it.
set -euo pipefail
LOG_TAG=toolchain/pulumi-yaml
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"
exec 1>&2

require_cmd go
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -buildvcs=false -mod=mod"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

pulumi_bin_dir="$ISTIO_CANARY_CACHE/pulumi/v$PULUMI_VERSION/bin"
[[ -x $pulumi_bin_dir/pulumi ]] || die "no Pulumi CLI in $pulumi_bin_dir: run scripts/toolchain/pulumi.sh first"

write_yaml_mod() {
  cat >"$1/go.mod" <<EOM
module istio-canary.invalid/toolchain/pulumi-yaml

go 1.25.11

require github.com/pulumi/pulumi-yaml v$PULUMI_YAML_VERSION

tool github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml
EOM
}

go_build_group pulumi-yaml "$PULUMI_YAML_VERSION" write_yaml_mod \
  "-s -w -X github.com/pulumi/pulumi-yaml/pkg/version.Version=$PULUMI_YAML_VERSION" \
  "github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml=>pulumi-language-yaml"

# Next to the CLI: a hard link, or a copy (replaced atomically when it differs).
target="$ISTIO_CANARY_CACHE/pulumi-yaml/$PULUMI_YAML_VERSION/bin/pulumi-language-yaml"
bundled="$pulumi_bin_dir/pulumi-language-yaml"
if [[ -L $bundled ]] || ! { [[ $bundled -ef $target ]] || cmp -s "$bundled" "$target"; }; then
  tmp=""
  tmp_for tmp "$bundled"
  ln "$target" "$tmp" 2>/dev/null || cp "$target" "$tmp"
  install_atomic "$tmp" "$bundled"
  log "installed $bundled (from $target)"
else
  log "pulumi-language-yaml next to the CLI: up to date ($bundled)"
fi
