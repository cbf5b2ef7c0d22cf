package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Plugin kinds as the engine sends them in RunPluginRequest.Kind (apitype.PluginKind).
const analyzerKind = "analyzer"

// resolveModule resolves a module request such as "@pulumi/pulumi/cmd/run-plugin" the way
// Node's require would from dir, so the plugin runs the @pulumi/pulumi it depends on.
func resolveModule(ctx context.Context, nodeBin, dir, module string) (string, error) {
	cmd := exec.CommandContext(ctx, nodeBin, "-e",
		"process.stdout.write(require.resolve(process.argv[1]))", module)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("could not resolve %s from %s (run npm install there?): %w: %s",
			module, dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// RunPlugin starts a plugin written in TypeScript or JavaScript: a source-based component
// package (PulumiPlugin.yaml, kind "resource") through @pulumi/pulumi's cmd/run-plugin, or a
// policy pack (PulumiPolicy.yaml, kind "analyzer") through cmd/run-policy-pack, as the upstream
// Node.js host does. The plugin's stdout and stderr are streamed back; a non-zero exit status
// is sent as the exit code.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	if req.GetAttachDebugger() {
		return errors.New("pulumi-language-nodejs (istio-canary): attaching a debugger to a plugin is not supported")
	}
	info := req.GetInfo()
	dir := programDir(info, req.GetPwd())
	opts := parseOptions(info)

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}

	isPolicyPack := req.GetKind() == analyzerKind
	module := "@pulumi/pulumi/cmd/run-plugin"
	if isPolicyPack {
		module = "@pulumi/pulumi/cmd/run-policy-pack"
	}
	runPath, err := resolveModule(ctx, nodeBin, dir, module)
	if err != nil {
		return err
	}

	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}

	// Node's own options go before the script (upstream passes them after it, to the script).
	args := strings.Fields(opts.nodeargs)
	args = append(args, runPath)
	if isPolicyPack {
		// cmd/run-policy-pack takes the engine's arguments first and the pack's directory last.
		args = append(args, req.GetArgs()...)
		args = append(args, dir)
	} else {
		args = append(args, dir)
		args = append(args, req.GetArgs()...)
	}

	// Policy packs written against older @pulumi/policy read the stack's identity and config
	// from the environment: serve the analyzer protocol ourselves until the engine sends the
	// stack configuration, then start the pack with it and proxy every later call to the pack.
	var proxy *sdk.PolicyProxy
	if isPolicyPack {
		proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout)
		if err != nil {
			return fmt.Errorf("could not start the policy pack proxy: %w", err)
		}
		config, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get the stack configuration for the policy pack: %w", err)
		}
		if config != nil {
			set := func(k, v string) {
				if v != "" {
					env = append(env, k+"="+v)
				}
			}
			set("PULUMI_NODEJS_ORGANIZATION", config.GetOrganization())
			set("PULUMI_NODEJS_PROJECT", config.GetProject())
			set("PULUMI_NODEJS_STACK", config.GetStack())
			set("PULUMI_NODEJS_DRY_RUN", strconv.FormatBool(config.GetDryRun()))
			if c := config.GetConfig(); c != nil {
				b, err := json.Marshal(c)
				if err != nil {
					return fmt.Errorf("could not serialize the stack configuration: %w", err)
				}
				set("PULUMI_CONFIG", string(b))
			}
		}
	}

	cmd := exec.CommandContext(ctx, nodeBin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	// Policy packs have always run in their own directory; other plugins in the CLI's.
	if isPolicyPack || req.GetPwd() == "" {
		cmd.Dir = dir
	} else {
		cmd.Dir = req.GetPwd()
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr

	if err := cmd.Start(); err != nil {
		return fmt.Errorf("could not start the plugin (%s %s): %w", nodeBin, strings.Join(args, " "), err)
	}
	if proxy != nil {
		err = proxy.Attach(ctx, cmd) // waits for the pack to exit
	} else {
		err = cmd.Wait()
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return fmt.Errorf("running the plugin in %s: %w", dir, err)
	}
	if cerr := closer.Close(); cerr != nil {
		return cerr
	}
	if exitErr != nil && ctx.Err() == nil {
		// ExitCode is -1 when a signal ended the plugin.
		return server.Send(&pulumirpc.RunPluginResponse{
			Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
		})
	}
	return nil
}
