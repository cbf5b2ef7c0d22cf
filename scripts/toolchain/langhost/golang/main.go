// Command pulumi-language-go is a small Go language host for the Pulumi engine.
//
// The upstream host (module github.com/pulumi/pulumi/sdk/go/pulumi-language-go/v3) is not served by the Go
// module proxy this project can reach, as the Node.js one is not. It does what upstream's does for the RPCs that
// `pulumi preview|up|destroy|install|package add` use: Run builds the program with `go build` into a temporary
// binary and runs it with the engine's addresses and the stack's settings in the environment the Go SDK reads
// (pulumi.Run); InstallDependencies runs `go mod tidy`; GeneratePackage writes a Go SDK with Pulumi's own Go code
// generator; Link adds the SDK's `replace` to the program's go.mod. Prebuilt binaries (runtime.options.binary),
// debugging, plugins written in Go, program conversion and Pack are not implemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/constant"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/mod/modfile"
	"google.golang.org/protobuf/types/known/emptypb"
	"istio-canary.invalid/langhost/internal/hostkit"
)

const name = "pulumi-language-go"

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	hostkit.Engine
}

func main() {
	hostkit.Serve(name, func(engineAddress, _ string) pulumirpc.LanguageRuntimeServer {
		return &host{Engine: hostkit.NewEngine(engineAddress)}
	})
}

// Handshake is the Engine's (both embedded types have one).
func (h *host) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	return h.Engine.Handshake(ctx, req)
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: strings.TrimPrefix(version.Version, "v")}, nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("could not find go on the $PATH: %w", err)
	}
	out, err := exec.Command(gobin, "env", "GOVERSION").Output()
	if err != nil {
		return nil, fmt.Errorf("running go env GOVERSION: %w", err)
	}
	return &pulumirpc.AboutResponse{Executable: gobin, Version: strings.TrimSpace(string(out))}, nil
}

func (h *host) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}

// GetRequiredPackages reports none: the packages a Go program uses are the project's (`packages` in Pulumi.yaml,
// written by `pulumi package add`), which the engine reads itself.
func (h *host) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// GetProgramDependencies lists the program's go.mod requirements (`pulumi about`); a module replaced by a local
// directory has no version.
func (h *host) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	mod, _, err := readGoMod(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	replaced := map[string]bool{}
	for _, r := range mod.Replace {
		replaced[r.Old.Path] = true
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, r := range mod.Require {
		if r.Indirect && !req.GetTransitiveDependencies() {
			continue
		}
		v := r.Mod.Version
		if replaced[r.Mod.Path] {
			v = ""
		}
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: r.Mod.Path, Version: v})
	}
	return resp, nil
}

// InstallDependencies runs `go mod tidy` in the program's directory (`pulumi install`).
func (h *host) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	dir := req.GetDirectory()
	if dir == "" {
		dir = req.GetInfo().GetProgramDirectory()
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(server.Context(), "go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	runErr := cmd.Run()
	if err := closer.Close(); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return fmt.Errorf("go mod tidy in %s failed: %w", dir, runErr)
	}
	return nil
}

// Run builds the program (`go build` in its directory, into a temporary file) and runs it with the environment
// pulumi.Run reads: the engine's and resource monitor's addresses, project, stack, config and its secret keys.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	env, err := h.runEnv(req)
	if err != nil {
		return nil, err
	}
	bin, err := os.CreateTemp("", "pulumi-go-program.*")
	if err != nil {
		return nil, fmt.Errorf("creating the program's binary: %w", err)
	}
	_ = bin.Close()
	defer os.Remove(bin.Name())

	build := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", bin.Name(), ".")
	build.Dir = req.GetInfo().GetProgramDirectory()
	var out strings.Builder
	build.Stdout, build.Stderr = &out, &out
	if err := build.Run(); err != nil {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("go build in %s failed: %v\n%s", build.Dir, err, out.String())}, nil
	}

	cmd := exec.CommandContext(ctx, bin.Name())
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// A cancelled update interrupts the program first, as the engine interrupts its plugins.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exit) && exit.ExitCode() == constant.ExitStatusLoggedError:
		// The program has reported its error to the engine already.
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exit):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("program exited with non-zero exit code: %d", exit.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
}

// runEnv is this process's environment plus the settings of the run, under the names the Go SDK reads.
func (h *host) runEnv(req *pulumirpc.RunRequest) ([]string, error) {
	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secrets, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := os.Environ()
	for _, kv := range [][2]string{
		{pulumi.EnvOrganization, req.GetOrganization()},
		{pulumi.EnvProject, req.GetProject()},
		{pulumi.EnvPulumiRootDirectory, req.GetInfo().GetRootDirectory()},
		{pulumi.EnvStack, req.GetStack()},
		{pulumi.EnvConfig, string(config)},
		{pulumi.EnvConfigSecretKeys, string(secrets)},
		{pulumi.EnvDryRun, strconv.FormatBool(req.GetDryRun())},
		{pulumi.EnvParallel, strconv.Itoa(int(req.GetParallel()))},
		{pulumi.EnvMonitor, req.GetMonitorAddress()},
		{pulumi.EnvEngine, h.Address()},
	} {
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return env, nil
}

// GeneratePackage writes a Go SDK for a package schema (`pulumi package add`, `pulumi package gen-sdk --language
// go`) with Pulumi's own Go code generator; with `package add` it is a module of its own (its go.mod included).
func (h *host) GeneratePackage(
	_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	if len(req.GetExtraFiles()) > 0 {
		return nil, errors.New("extra files (overlays) are not supported for Go")
	}
	return hostkit.GeneratePackage(req, func(pkg *schema.Package, _ schema.ReferenceLoader) (map[string][]byte, error) {
		return gogen.GeneratePackage(name, pkg, req.GetLocalDependencies())
	})
}

// Link points the program's go.mod at each generated SDK (a `replace` of the SDK's module path by its directory)
// and returns how to import them.
func (h *host) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	client, loader, err := hostkit.NewLoader(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	mod, file, err := readGoMod(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	var imports strings.Builder
	for _, dep := range req.GetPackages() {
		ref, pkg, err := hostkit.LinkedPackage(ctx, loader, dep)
		if err != nil {
			return nil, err
		}
		if err := pkg.ImportLanguages(map[string]schema.Language{"go": gogen.Importer}); err != nil {
			return nil, err
		}
		modulePath := gogen.ExtractModulePath(ref)
		if info, ok := pkg.Language["go"].(gogen.GoPackageInfo); ok {
			switch {
			case info.ModulePath != "":
				modulePath = info.ModulePath
			case info.ImportBasePath != "":
				modulePath = path.Dir(info.ImportBasePath)
			}
		}
		dir := filepath.ToSlash(dep.GetPath())
		if !filepath.IsAbs(dir) && !strings.HasPrefix(dir, "./") && !strings.HasPrefix(dir, "../") {
			dir = "./" + dir
		}
		if err := mod.AddReplace(modulePath, "", dir, ""); err != nil {
			return nil, fmt.Errorf("adding the replace of %s to %s: %w", modulePath, file, err)
		}
		fmt.Fprintf(&imports, "    %q\n", gogen.ExtractImportBasePath(ref))
	}
	data, err := mod.Format()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		return nil, err
	}
	return &pulumirpc.LinkResponse{
		ImportInstructions: "You can import the SDK in your Go code with:\n\n  import (\n" + imports.String() + "  )\n",
	}, nil
}

// readGoMod parses the go.mod of a program directory.
func readGoMod(dir string) (*modfile.File, string, error) {
	file := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, file, fmt.Errorf("reading the program's go.mod: %w", err)
	}
	mod, err := modfile.Parse(file, data, nil)
	if err != nil {
		return nil, file, err
	}
	return mod, file, nil
}
