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
#       A small Node.js language host whose source is embedded below: the upstream host
#       (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) is not served by
#       the Go module proxy we can reach (403 for every version, including the v3.248.0
#       commit). It drives @pulumi/pulumi's own `cmd/run` entry point, as upstream does.
#       Rebuilt when its embedded source changes (stamp file next to the binary).
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

# --- Language host source (package ./langhost of the wrapper module) ------------------------
langhost_main_go() {
cat <<'GO_EOF'
// Command pulumi-language-nodejs is a small Node.js language host for the Pulumi engine.
//
// It exists because the upstream host (module
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) is not served by the
// Go module proxy this project can reach. It implements the LanguageRuntime RPCs that
// `pulumi preview|up|refresh|destroy|install|about` use for a TypeScript or JavaScript
// program, following the contract of the @pulumi/pulumi npm package's `cmd/run` entry point:
// flags --monitor/--engine/--project/--stack/... and the PULUMI_CONFIG,
// PULUMI_CONFIG_SECRET_KEYS, PULUMI_NODEJS_TYPESCRIPT and PULUMI_NODEJS_TSCONFIG_PATH
// environment variables. Code generation RPCs (pulumi convert, package gen-sdk, ...) are
// not implemented.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Exit code of @pulumi/pulumi's cmd/run when it has already reported the error to the user.
const exitedAfterLoggingUserActionableMessage = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
}

func main() {
	tracing := flag.String("tracing", "", "emit tracing to a Zipkin-compatible endpoint")
	// Flags older engines passed; options now arrive in ProgramInfo.Options. Accepted and ignored.
	flag.Bool("typescript", true, "ignored")
	flag.String("root", "", "ignored")
	flag.String("tsconfig", "", "ignored")
	flag.String("nodeargs", "", "ignored")
	flag.String("packagemanager", "", "ignored")
	flag.Parse()

	h := &host{tracing: *tracing}
	if flag.NArg() > 0 {
		h.engineAddress = flag.Arg(0)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if h.engineAddress != "" {
		// Exit when the engine goes away.
		if err := rpcutil.Healthcheck(ctx, h.engineAddress, 5*time.Minute, cancel); err != nil {
			fatalf("could not start health check: %v", err)
		}
	}
	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stop)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fatalf("could not start language host RPC server: %v", err)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fatalf("language host RPC stopped serving: %v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: "+format+"\n", args...)
	os.Exit(1)
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// runtimeOptions are the `runtime.options` of Pulumi.yaml that this host understands.
type runtimeOptions struct {
	typescript     bool
	tsconfig       string
	nodeargs       string
	packagemanager string
}

func parseOptions(info *pulumirpc.ProgramInfo) runtimeOptions {
	o := runtimeOptions{typescript: true}
	if info == nil || info.GetOptions() == nil {
		return o
	}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"].(bool); ok {
		o.typescript = v
	}
	if v, ok := m["tsconfig"].(string); ok {
		o.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		o.nodeargs = v
	}
	if v, ok := m["packagemanager"].(string); ok {
		o.packagemanager = v
	}
	return o
}

func programDir(info *pulumirpc.ProgramInfo, fallback string) string {
	if info != nil && info.GetProgramDirectory() != "" {
		return info.GetProgramDirectory()
	}
	if fallback != "" {
		return fallback
	}
	wd, _ := os.Getwd()
	return wd
}

func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" {
		h.mu.Lock()
		h.engineAddress = addr
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	v := strings.TrimPrefix(version.Version, "v")
	if v == "" {
		v = "0.0.0-dev"
	}
	return &pulumirpc.PluginInfo{Version: v}, nil
}

// resolveRunScript finds @pulumi/pulumi's cmd/run entry point the way Node would from dir.
func resolveRunScript(ctx context.Context, nodeBin, dir string) (string, error) {
	if p := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); p != "" {
		return p, nil
	}
	cmd := exec.CommandContext(ctx, nodeBin, "-e",
		"process.stdout.write(require.resolve('@pulumi/pulumi/cmd/run'))")
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	opts := parseOptions(info)
	dir := programDir(info, req.GetPwd())

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	runPath, err := resolveRunScript(ctx, nodeBin, dir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: "It looks like the Pulumi SDK has not been installed. " +
			"Have you run npm install or yarn install? (" + err.Error() + ")"}, nil
	}

	args := strings.Fields(opts.nodeargs)
	args = append(args, runPath)
	add := func(k, v string) {
		if v != "" {
			args = append(args, "--"+k, v)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engine())
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	if info != nil {
		add("root-directory", info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		add("parallel", strconv.Itoa(int(req.GetParallel())))
	}
	add("tracing", h.tracing)
	program := req.GetProgram()
	if program == "" {
		program = "."
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("serializing config: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing secret config keys: %w", err)
	}

	env := append(os.Environ(),
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	cmd := exec.CommandContext(ctx, nodeBin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err = cmd.Run()
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		switch code := exitErr.ExitCode(); code {
		case exitedAfterLoggingUserActionableMessage:
			return &pulumirpc.RunResponse{Bail: true}, nil
		case -1:
			return &pulumirpc.RunResponse{Error: "Program exited unexpectedly: " + exitErr.Error()}, nil
		default:
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}, nil
		}
	}
	return &pulumirpc.RunResponse{
		Error: "Problem executing program (could not run language executor): " + err.Error(),
	}, nil
}

// pulumiPackage is one installed npm package that ships a Pulumi resource plugin.
type pulumiPackage struct {
	name, version, server string
	param                 *pulumirpc.PackageParameterization
}

type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          struct {
		Resource         bool   `json:"resource"`
		Name             string `json:"name"`
		Version          string `json:"version"`
		Server           string `json:"server"`
		Parameterization *struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Value   string `json:"value"`
		} `json:"parameterization"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return &p, nil
}

// findNodeModules returns the nearest node_modules directory at or above dir.
func findNodeModules(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		nm := filepath.Join(d, "node_modules")
		if st, err := os.Stat(nm); err == nil && st.IsDir() {
			return nm
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// pulumiPackages lists the installed npm packages (nested ones too) that declare
// `"pulumi": {"resource": true}` in their package.json.
func pulumiPackages(dir string) []pulumiPackage {
	nm := findNodeModules(dir)
	if nm == "" {
		return nil
	}
	seen := map[string]bool{}
	dedup := map[string]bool{}
	var out []pulumiPackage

	var scanDir func(string)
	scanPackage := func(pkgDir string) {
		real, err := filepath.EvalSymlinks(pkgDir)
		if err != nil || seen[real] {
			return
		}
		seen[real] = true
		if p, err := readPackageJSON(filepath.Join(real, "package.json")); err == nil && p.Pulumi.Resource {
			if pp, ok := toPulumiPackage(p); ok {
				key := pp.name + "@" + pp.version
				if pp.param != nil {
					key += "/" + pp.param.Name + "@" + pp.param.Version
				}
				if !dedup[key] {
					dedup[key] = true
					out = append(out, pp)
				}
			}
		}
		scanDir(filepath.Join(real, "node_modules"))
	}
	scanDir = func(d string) {
		entries, err := os.ReadDir(d)
		if err != nil {
			return
		}
		for _, e := range entries {
			name := e.Name()
			p := filepath.Join(d, name)
			switch {
			case name == ".pnpm": // pnpm's store: .pnpm/<pkg>@<ver>/node_modules/...
				if sub, err := os.ReadDir(p); err == nil {
					for _, s := range sub {
						scanDir(filepath.Join(p, s.Name(), "node_modules"))
					}
				}
			case strings.HasPrefix(name, "."):
			case strings.HasPrefix(name, "@"):
				if sub, err := os.ReadDir(p); err == nil {
					for _, s := range sub {
						scanPackage(filepath.Join(p, s.Name()))
					}
				}
			default:
				scanPackage(p)
			}
		}
	}
	scanDir(nm)
	sort.Slice(out, func(i, j int) bool {
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return out[i].version < out[j].version
	})
	return out
}

func toPulumiPackage(p *packageJSON) (pulumiPackage, bool) {
	name := p.Pulumi.Name
	if name == "" {
		name = p.Name
		if strings.HasPrefix(name, "@pulumi/") {
			name = strings.TrimPrefix(name, "@pulumi/")
		} else {
			name = strings.TrimPrefix(name, "@")
		}
	}
	v := p.Pulumi.Version
	if v == "" {
		v = p.Version
	}
	if name == "" || v == "" {
		return pulumiPackage{}, false
	}
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	pp := pulumiPackage{name: name, version: v, server: p.Pulumi.Server}
	if pz := p.Pulumi.Parameterization; pz != nil {
		value, err := base64.StdEncoding.DecodeString(pz.Value)
		if err != nil {
			return pulumiPackage{}, false
		}
		pv := pz.Version
		if pv != "" && !strings.HasPrefix(pv, "v") {
			pv = "v" + pv
		}
		pp.param = &pulumirpc.PackageParameterization{Name: pz.Name, Version: pv, Value: value}
	}
	return pp, true
}

func (h *host) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	var deps []*pulumirpc.PackageDependency
	for _, p := range pulumiPackages(programDir(req.GetInfo(), "")) {
		deps = append(deps, &pulumirpc.PackageDependency{
			Name: p.name, Kind: "resource", Version: p.version, Server: p.server, Parameterization: p.param,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

func (h *host) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	var deps []*pulumirpc.PluginDependency
	for _, p := range pulumiPackages(programDir(req.GetInfo(), req.GetPwd())) {
		if p.param != nil {
			continue // parameterized packages cannot be described as plain plugins
		}
		deps = append(deps, &pulumirpc.PluginDependency{
			Name: p.name, Kind: "resource", Version: p.version, Server: p.server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: deps}, nil
}

func (h *host) About(_ context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.Command(nodeBin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("running node --version: %w", err)
	}
	return &pulumirpc.AboutResponse{
		Executable: nodeBin,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

// GetProgramDependencies reports the program's direct dependencies with their installed versions.
func (h *host) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := programDir(req.GetInfo(), req.GetPwd())
	p, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	ranges := map[string]string{}
	for k, v := range p.DevDependencies {
		ranges[k] = v
	}
	for k, v := range p.Dependencies {
		ranges[k] = v
	}
	names := make([]string, 0, len(ranges))
	for k := range ranges {
		names = append(names, k)
	}
	sort.Strings(names)
	nm := findNodeModules(dir)
	var deps []*pulumirpc.DependencyInfo
	for _, name := range names {
		v := ranges[name]
		if nm != "" {
			if dp, err := readPackageJSON(filepath.Join(nm, filepath.FromSlash(name), "package.json")); err == nil {
				v = dp.Version
			}
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: name, Version: v})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// InstallDependencies runs the package manager's install in the program directory (`pulumi install`).
func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	dir := req.GetDirectory()
	if dir == "" {
		dir = programDir(req.GetInfo(), "")
	}
	pm := parseOptions(req.GetInfo()).packagemanager
	if pm == "" {
		pm = "npm"
		for lock, tool := range map[string]string{"pnpm-lock.yaml": "pnpm", "yarn.lock": "yarn", "bun.lockb": "bun"} {
			if _, err := os.Stat(filepath.Join(dir, lock)); err == nil {
				pm = tool
			}
		}
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(server.Context(), pm, "install")
	cmd.Dir = dir
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	runErr := cmd.Run()
	if err := closer.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return fmt.Errorf("%s install in %s failed: %w", pm, dir, runErr)
	}
	return nil
}

func (h *host) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}
GO_EOF
}

# --- Wrapper module: requires pkg/v3 + sdk/v3 and repeats pkg/v3's non-local replaces --------
# pkg/v3's go.mod replaces: github.com/pulumi/pulumi/sdk/v3 => ../sdk (local, replaced here by
# requiring sdk/v3 at the same version) and github.com/atotto/clipboard => tgummerer/clipboard.
write_wrapper_module() {
	local dir="$1"
	rm -rf "$dir"
	mkdir -p "$dir/langhost"
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
	langhost_main_go >"$dir/langhost/main.go"
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
	t="$(now)"
	log "building pulumi v$PULUMI_VERSION (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)"
	ensure_wrapper_module
	tmp=""
	tmp_for tmp "$bin_dir/pulumi"
	(cd "$src_dir" && go build -trimpath -ldflags "$pulumi_ldflags" -o "$tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
	got="$("$tmp" version)"
	[[ $got == "v$PULUMI_VERSION" ]] || die "built pulumi reports version '$got'"
	install_atomic "$tmp" "$bin_dir/pulumi"
	log "built pulumi v$PULUMI_VERSION in $(elapsed "$t")s"
fi

# --- 2. Node.js language host -------------------------------------------------------------------
langhost_stamp_file="$bin_dir/.pulumi-language-nodejs.stamp"
langhost_stamp="$({ langhost_main_go; echo "pulumi $PULUMI_VERSION"; } | sha256sum | cut -d' ' -f1)"
if [[ -x $bin_dir/pulumi-language-nodejs ]] && [[ -f $langhost_stamp_file ]] &&
	[[ "$(cat "$langhost_stamp_file")" == "$langhost_stamp" ]]; then
	log "pulumi-language-nodejs: cached ($bin_dir/pulumi-language-nodejs)"
else
	t="$(now)"
	log "building pulumi-language-nodejs (embedded source, sdk/v3 v$PULUMI_VERSION)"
	ensure_wrapper_module
	tmp=""
	tmp_for tmp "$bin_dir/pulumi-language-nodejs"
	(cd "$src_dir" && go build -trimpath -ldflags "$pulumi_ldflags" -o "$tmp" ./langhost)
	install_atomic "$tmp" "$bin_dir/pulumi-language-nodejs"
	echo "$langhost_stamp" >"$langhost_stamp_file"
	log "built pulumi-language-nodejs in $(elapsed "$t")s"
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
	t="$(now)"
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
	(cd "$psrc/cmd/pulumi-resource-kubernetes" && VERSION="$PULUMI_K8S_PROVIDER_VERSION" go generate)
	tmp=""
	tmp_for tmp "$provider_bin"
	(cd "$psrc" && go build -trimpath \
		-ldflags "-s -w -X $provider_mod/pkg/version.Version=$PULUMI_K8S_PROVIDER_VERSION" \
		-o "$tmp" ./cmd/pulumi-resource-kubernetes)
	install_atomic "$tmp" "$provider_bin"
	log "built pulumi-resource-kubernetes $PULUMI_K8S_PROVIDER_VERSION in $(elapsed "$t")s"
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
