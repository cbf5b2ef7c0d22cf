#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the Pulumi toolchain this project needs from Go modules (no get.pulumi.com here),
# caches it by version under $ISTIO_CANARY_CACHE, registers the Kubernetes provider plugin
# with Pulumi, and prints `export` lines for the caller to eval:
#
#     eval "$(scripts/toolchain/pulumi.sh)"
#
# Builds, all with CGO_ENABLED=0 -trimpath -ldflags "-s -w ...":
#   $ISTIO_CANARY_CACHE/pulumi/v$PULUMI_VERSION/bin/pulumi
#       github.com/pulumi/pulumi/pkg/v3/cmd/pulumi, through a wrapper module (pkg/v3 has
#       replace directives, so `go install pkg@version` refuses it).
#   $ISTIO_CANARY_CACHE/pulumi/v$PULUMI_VERSION/bin/pulumi-language-nodejs
#       A small Node.js language host, the Go module in scripts/toolchain/langhost/: the
#       upstream host (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) is
#       not served by the Go module proxy we can reach (403 for every version, including the
#       v3.248.0 commit). It drives @pulumi/pulumi's own `cmd/run`, `cmd/run-plugin` and
#       `cmd/run-policy-pack` entry points, as upstream does. Rebuilt when its Go sources,
#       go.mod/go.sum or the Go version change (stamp file next to the binary).
#   $ISTIO_CANARY_CACHE/pulumi/v$PULUMI_VERSION/bin/pulumi-language-go   (toolchain profiles e2e and all)
#       A small Go language host from the same module (its golang/ directory; upstream's
#       github.com/pulumi/pulumi/sdk/go/pulumi-language-go/v3 is refused by the proxy too): runs Go
#       programs with `go build`, generates and links Go SDKs. Same stamp as the Node.js host.
#   $ISTIO_CANARY_CACHE/pulumi/v$PULUMI_VERSION/bin/pulumi-resource-pulumi-nodejs
#       Shell shim for pulumi.dynamic.Resource (shipped next to the CLI upstream).
#   $ISTIO_CANARY_CACHE/provider/kubernetes-$PULUMI_K8S_PROVIDER_VERSION/pulumi-resource-kubernetes
#       github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_K8S_PROVIDER_MODULE_VERSION,
#       copied out of the module cache, `replace .../sdk/v4 => ../sdk` swapped for the real
#       sdk/v4 module, schema embedded by `VERSION=... go generate`.
#
# Binaries are built under a temporary name and renamed into place, so an interrupted run
# never leaves a partial binary that a later run would take as valid. Progress and timings
# go to stderr; only the export lines go to stdout.
set -euo pipefail

LOG_TAG=toolchain/pulumi
# shellcheck source=../lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"

# Everything but the final export lines goes to stderr.
exec 3>&1 1>&2

require_cmd go node

pulumi_root="$ISTIO_CANARY_CACHE/pulumi/v$PULUMI_VERSION"
bin_dir="$pulumi_root/bin"
provider_dir="$ISTIO_CANARY_CACHE/provider/kubernetes-$PULUMI_K8S_PROVIDER_VERSION"
provider_bin="$provider_dir/pulumi-resource-kubernetes"
mkdir -p "$bin_dir" "$provider_dir"

export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_SKIP_UPDATE_CHECK=true

# One run at a time per cache (concurrent runs would share the source directories).
lock "$ISTIO_CANARY_CACHE/.toolchain-pulumi.lock" "the Pulumi toolchain lock"

# Leftovers of killed runs (temporary outputs are removed on exit otherwise), now that we hold the lock.
rm -f "$bin_dir"/.*.tmp.* "$bin_dir"/*.tmp.* "$provider_dir"/.*.tmp.*

script_start="$(now)"

# --- Wrapper module: requires pkg/v3 + sdk/v3 and repeats pkg/v3's non-local replaces --------
# pkg/v3's go.mod replaces: github.com/pulumi/pulumi/sdk/v3 => ../sdk (local, replaced here by
# requiring sdk/v3 at the same version) and github.com/atotto/clipboard => tgummerer/clipboard.
write_wrapper_module() {
	local dir="$1"
	rm -rf "$dir"
	mkdir -p "$dir"
	cat >"$dir/go.mod" <<EOF
module istio-canary.invalid/pulumi-toolchain

go 1.25.11

tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
EOF
	log "resolving modules for the Pulumi wrapper module (go mod tidy)"
	(cd "$dir" && go mod tidy)
}

pulumi_ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
src_dir="$pulumi_root/src"
wrapper_ready=false
ensure_wrapper_module() {
	if [[ $wrapper_ready == false ]]; then
		write_wrapper_module "$src_dir"
		wrapper_ready=true
	fi
}

# --- 1. Pulumi CLI ----------------------------------------------------------------------------
if [[ -x $bin_dir/pulumi ]] && [[ "$("$bin_dir/pulumi" version 2>/dev/null)" == "v$PULUMI_VERSION" ]]; then
	log "pulumi v$PULUMI_VERSION: cached ($bin_dir/pulumi)"
else
	build_begin pulumi "the Pulumi CLI v$PULUMI_VERSION"
	log "building pulumi v$PULUMI_VERSION (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)"
	ensure_wrapper_module
	tmp=""
	tmp_for tmp "$bin_dir/pulumi"
	(cd "$src_dir" && go build -trimpath -ldflags "$pulumi_ldflags" -o "$tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
	got="$("$tmp" version)"
	[[ $got == "v$PULUMI_VERSION" ]] || die "built pulumi reports version '$got'"
	install_atomic "$tmp" "$bin_dir/pulumi"
	build_end pulumi "the Pulumi CLI v$PULUMI_VERSION"
fi

# --- 2. Node.js language host (Go module scripts/toolchain/langhost) ---------------------------
langhost_dir="$LIB_DIR/toolchain/langhost"
for m in pkg sdk; do
	grep -Eq "^[[:space:]]*(require[[:space:]]+)?github.com/pulumi/pulumi/$m/v3 v$PULUMI_VERSION\$" "$langhost_dir/go.mod" ||
		die "$langhost_dir/go.mod must require github.com/pulumi/pulumi/$m/v3 v$PULUMI_VERSION (PULUMI_VERSION):" \
			"cd $langhost_dir && go get github.com/pulumi/pulumi/{pkg,sdk}/v3@v$PULUMI_VERSION && go mod tidy"
done
langhost_stamp="$(
	cd "$langhost_dir"
	{
		sha256_of go.mod go.sum ./*.go internal/hostkit/*.go golang/*.go
		echo "pulumi $PULUMI_VERSION $(go env GOVERSION)"
	} | sha256sum | cut -d' ' -f1
)"
# build_langhost <binary> <package> <what>: builds one host of the module unless its stamp matches.
build_langhost() {
	local binary="$1" package="$2" what="$3" stamp_file="$bin_dir/.$1.stamp" tmp=""
	if [[ -x $bin_dir/$binary ]] && [[ -f $stamp_file ]] && [[ "$(cat "$stamp_file")" == "$langhost_stamp" ]]; then
		log "$binary: cached ($bin_dir/$binary)"
		return
	fi
	build_begin "$binary" "$what (scripts/toolchain/langhost)"
	tmp_for tmp "$bin_dir/$binary"
	# -mod=readonly: the build never rewrites the committed go.mod/go.sum.
	(cd "$langhost_dir" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "$pulumi_ldflags" -o "$tmp" "$package")
	install_atomic "$tmp" "$bin_dir/$binary"
	echo "$langhost_stamp" >"$stamp_file"
	build_end "$binary" "$what"
}
build_langhost pulumi-language-nodejs . "the Node.js language host"
# The Go host serves tests/e2e/07's Go program; the demo profile has no use for it.
if [[ ${ISTIO_CANARY_TOOLCHAIN:-demo} != demo ]]; then
	build_langhost pulumi-language-go ./golang "the Go language host"
fi

# --- 2b. Resource plugin behind pulumi.dynamic.Resource (bundled with the CLI upstream) -------
# The engine looks for pulumi-resource-pulumi-nodejs next to the pulumi binary; it only
# starts @pulumi/pulumi's cmd/dynamic-provider from the program's node_modules.
dynamic_provider_shim() {
	cat <<'SH_EOF'
#!/bin/sh
# Written by scripts/toolchain/pulumi.sh: runs @pulumi/pulumi's dynamic provider for pulumi.dynamic.Resource.
script=$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))") || exit 1
exec node "$script" "$@"
SH_EOF
}
shim="$bin_dir/pulumi-resource-pulumi-nodejs"
if [[ -x $shim ]] && [[ "$(cat "$shim")" == "$(dynamic_provider_shim)" ]]; then
	log "pulumi-resource-pulumi-nodejs: cached ($shim)"
else
	tmp=""
	tmp_for tmp "$shim"
	dynamic_provider_shim >"$tmp"
	chmod 0755 "$tmp"
	install_atomic "$tmp" "$shim"
	log "wrote $shim"
fi

# --- 3. Kubernetes provider plugin ----------------------------------------------------------------
provider_mod="github.com/pulumi/pulumi-kubernetes/provider/v4"
sdk_mod="github.com/pulumi/pulumi-kubernetes/sdk/v4"
if [[ -x $provider_bin ]]; then
	log "pulumi-resource-kubernetes $PULUMI_K8S_PROVIDER_VERSION: cached ($provider_bin)"
else
	build_begin provider "the Kubernetes provider $PULUMI_K8S_PROVIDER_VERSION"
	log "building pulumi-resource-kubernetes $PULUMI_K8S_PROVIDER_VERSION ($provider_mod@$PULUMI_K8S_PROVIDER_MODULE_VERSION)"
	provider_src="$(mod_dir "$provider_mod@$PULUMI_K8S_PROVIDER_MODULE_VERSION")"
	psrc="$provider_dir/src"
	rm -rf "$psrc"
	cp -R "$provider_src" "$psrc"
	chmod -R u+w "$psrc"
	# The module's go.mod points sdk/v4 at ../sdk, which is not part of the module zip.
	(cd "$psrc" &&
		go mod edit -dropreplace="$sdk_mod" -require="$sdk_mod@v$PULUMI_K8S_PROVIDER_VERSION" &&
		log "resolving modules for the provider (go mod tidy)" &&
		go mod tidy)
	log "generating the embedded schema (VERSION=$PULUMI_K8S_PROVIDER_VERSION go generate)"
	# generate.go (`go run`) imports Pulumi's schema package, about 400 packages the provider imports too: with
	# -trimpath, as the build below, they compile once for both instead of twice.
	(cd "$psrc/cmd/pulumi-resource-kubernetes" &&
		GOFLAGS="$GOFLAGS -trimpath" VERSION="$PULUMI_K8S_PROVIDER_VERSION" go generate)
	tmp=""
	tmp_for tmp "$provider_bin"
	(cd "$psrc" && go build -trimpath \
		-ldflags "-s -w -X $provider_mod/pkg/version.Version=$PULUMI_K8S_PROVIDER_VERSION" \
		-o "$tmp" ./cmd/pulumi-resource-kubernetes)
	install_atomic "$tmp" "$provider_bin"
	build_end provider "the Kubernetes provider $PULUMI_K8S_PROVIDER_VERSION"
fi

# --- 4. Register the provider with Pulumi (default PULUMI_HOME) -------------------------------
if "$bin_dir/pulumi" plugin ls --json |
	K8S_VERSION="$PULUMI_K8S_PROVIDER_VERSION" node -e '
		const want = process.env.K8S_VERSION;
		let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
			const ok = (JSON.parse(s || "[]") || []).some((p) =>
				p.name === "kubernetes" && p.kind === "resource" && String(p.version).replace(/^v/, "") === want);
			process.exit(ok ? 0 : 1);
		});'; then
	log "plugin resource kubernetes $PULUMI_K8S_PROVIDER_VERSION: already installed"
else
	t="$(now)"
	log "installing plugin resource kubernetes $PULUMI_K8S_PROVIDER_VERSION from $provider_bin"
	"$bin_dir/pulumi" plugin install resource kubernetes "$PULUMI_K8S_PROVIDER_VERSION" --file "$provider_bin"
	log "installed plugin in $(elapsed "$t")s"
fi

log "toolchain ready in $(elapsed "$script_start")s"

# --- 5. Environment for callers: eval "$(scripts/toolchain/pulumi.sh)" -------------------------
{
	# shellcheck disable=SC2016 # $PATH is for the caller's shell to expand.
	printf 'export PATH=%q:"$PATH"\n' "$bin_dir"
	echo 'export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true'
	echo 'export PULUMI_SKIP_UPDATE_CHECK=true'
} >&3
