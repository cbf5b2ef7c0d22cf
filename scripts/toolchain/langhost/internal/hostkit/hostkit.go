// Package hostkit holds what this project's language hosts (pulumi-language-nodejs in the module root,
// pulumi-language-go in golang/) share: serving the LanguageRuntime on the port the engine reads, binding a
// package schema for code generation, and loading the packages `pulumi package add` links.
package hostkit

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// Serve parses the flags the engine passes a language host (--tracing, then the engine's address; a host declares
// the other flags it accepts before calling Serve), serves the host made by newHost until the engine goes away,
// and prints the port on the first line of stdout, where the engine reads it.
func Serve(name string, newHost func(engineAddress, tracing string) pulumirpc.LanguageRuntimeServer) {
	tracing := flag.String("tracing", "", "emit tracing to a Zipkin-compatible endpoint")
	flag.Parse()
	engineAddress := flag.Arg(0)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if engineAddress != "" {
		// Exit when the engine goes away.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, cancel); err != nil {
			Fatalf(name, "could not start health check: %v", err)
		}
	}
	stop := make(chan bool)
	go func() {
		<-ctx.Done()
		close(stop)
	}()
	host := newHost(engineAddress, *tracing)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		Fatalf(name, "could not start language host RPC server: %v", err)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		Fatalf(name, "language host RPC stopped serving: %v", err)
	}
}

// Fatalf prints the message on stderr, prefixed with the host's name, and exits 1.
func Fatalf(name, format string, args ...any) {
	fmt.Fprintf(os.Stderr, name+": "+format+"\n", args...)
	os.Exit(1)
}

// Generator turns a bound package into an SDK's files (paths relative to the output directory).
type Generator func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error)

// GeneratePackage binds the request's schema (references resolved through the engine's loader) and writes the
// files gen makes of it under the request's directory (`pulumi package add`, `pulumi package gen-sdk`).
func GeneratePackage(req *pulumirpc.GeneratePackageRequest, gen Generator) (*pulumirpc.GeneratePackageResponse, error) {
	client, loader, err := NewLoader(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer client.Close()

	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, fmt.Errorf("parsing the package schema: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}
	if diags.HasErrors() {
		return resp, nil
	}
	files, err := gen(pkg, loader)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		out := filepath.Join(req.GetDirectory(), name)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", filepath.Dir(out), err)
		}
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return nil, fmt.Errorf("writing %s: %w", out, err)
		}
	}
	return resp, nil
}

// LinkedPackage loads the definition of one package `pulumi package add` links into a program.
func LinkedPackage(
	ctx context.Context, loader schema.ReferenceLoader, dep *pulumirpc.LinkRequest_LinkDependency,
) (schema.PackageReference, *schema.Package, error) {
	desc := &schema.PackageDescriptor{Name: dep.GetPackage().GetName(), DownloadURL: dep.GetPackage().GetServer()}
	if v, err := semver.ParseTolerant(dep.GetPackage().GetVersion()); err == nil {
		desc.Version = &v
	}
	if p := dep.GetPackage().GetParameterization(); p != nil {
		desc.Parameterization = &schema.ParameterizationDescriptor{Name: p.GetName(), Value: p.GetValue()}
		if v, err := semver.ParseTolerant(p.GetVersion()); err == nil {
			desc.Parameterization.Version = v
		}
	}
	ref, err := schema.LoadPackageReferenceV2(ctx, loader, desc)
	if err != nil {
		return nil, nil, err
	}
	pkg, err := ref.Definition()
	if err != nil {
		return nil, nil, err
	}
	return ref, pkg, nil
}

// NewLoader connects to the engine's schema loader named in a request; close the first result when done.
func NewLoader(target string) (interface{ Close() error }, schema.ReferenceLoader, error) {
	client, err := schema.NewLoaderClient(target)
	if err != nil {
		return nil, nil, err
	}
	return client, schema.NewCachedLoader(client), nil
}

// Engine holds the engine's address: the one on the command line, or the one a later Handshake gives. Embed it in
// a host to serve Handshake.
type Engine struct {
	mu      sync.Mutex
	address string
}

// NewEngine starts with the address from the command line (empty when the engine will send it in Handshake).
func NewEngine(address string) Engine { return Engine{address: address} }

// Address is the engine's address as last known.
func (e *Engine) Address() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.address
}

// Handshake keeps the address the engine sends.
func (e *Engine) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" {
		e.mu.Lock()
		e.address = addr
		e.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}
