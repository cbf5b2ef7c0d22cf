// Command pulumi-language-nodejs is a small Node.js language host for the Pulumi engine.
//
// It exists because the upstream host (module
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) is not served by the
// Go module proxy this project can reach. It implements the LanguageRuntime RPCs that
// `pulumi preview|up|refresh|destroy|install|about` use for a TypeScript or JavaScript
// program, following the contract of the @pulumi/pulumi npm package's `cmd/run` entry point:
// flags --monitor/--engine/--project/--stack/... and the PULUMI_CONFIG,
// PULUMI_CONFIG_SECRET_KEYS, PULUMI_NODEJS_TYPESCRIPT and PULUMI_NODEJS_TSCONFIG_PATH
// environment variables. RunPlugin starts source-based component packages (PulumiPlugin.yaml)
// through `cmd/run-plugin` and policy packs (PulumiPolicy.yaml) through `cmd/run-policy-pack`.
// GeneratePackage and Link give `pulumi package add` / `package gen-sdk` a TypeScript SDK
// (Pulumi's own code generator); program conversion (`pulumi convert`, GenerateProgram,
// GenerateProject) and Pack are not implemented.
package main

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"istio-canary.invalid/langhost/internal/hostkit"
)

// Exit code of @pulumi/pulumi's cmd/run when it has already reported the error to the user.
const exitedAfterLoggingUserActionableMessage = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	hostkit.Engine
	tracing string
}

func main() {
	// Flags older engines passed; options now arrive in ProgramInfo.Options. Accepted and ignored.
	flag.Bool("typescript", true, "ignored")
	flag.String("root", "", "ignored")
	flag.String("tsconfig", "", "ignored")
	flag.String("nodeargs", "", "ignored")
	flag.String("packagemanager", "", "ignored")
	hostkit.Serve("pulumi-language-nodejs", func(engineAddress, tracing string) pulumirpc.LanguageRuntimeServer {
		return &host{Engine: hostkit.NewEngine(engineAddress), tracing: tracing}
	})
}

// Handshake is the Engine's (both embedded types have one).
func (h *host) Handshake(
	ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	return h.Engine.Handshake(ctx, req)
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	v := strings.TrimPrefix(version.Version, "v")
	if v == "" {
		v = "0.0.0-dev"
	}
	return &pulumirpc.PluginInfo{Version: v}, nil
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

func (h *host) RuntimeOptionsPrompts(
	context.Context, *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	return &pulumirpc.RuntimeOptionsResponse{}, nil
}
