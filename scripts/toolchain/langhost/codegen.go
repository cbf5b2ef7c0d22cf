package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/pkg/v3/codegen/cgstrings"
	nodejsgen "github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/fsutil"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"istio-canary.invalid/langhost/internal/hostkit"
)

// GeneratePackage writes a TypeScript SDK for a package schema (`pulumi package add`,
// `pulumi package gen-sdk --language nodejs`) with Pulumi's own Node.js code generator.
func (h *host) GeneratePackage(
	_ context.Context, req *pulumirpc.GeneratePackageRequest,
) (*pulumirpc.GeneratePackageResponse, error) {
	return hostkit.GeneratePackage(req, func(pkg *schema.Package, loader schema.ReferenceLoader) (map[string][]byte, error) {
		return nodejsgen.GeneratePackage("pulumi-language-nodejs", pkg,
			req.GetExtraFiles(), req.GetLocalDependencies(), req.GetLocal(), loader)
	})
}

// Link adds generated SDKs to the program's package.json (as file: dependencies, through the
// project's package manager) and returns how to import them.
func (h *host) Link(ctx context.Context, req *pulumirpc.LinkRequest) (*pulumirpc.LinkResponse, error) {
	info := req.GetInfo()
	dir := programDir(info, "")
	opts := parseOptions(info)

	client, loader, err := hostkit.NewLoader(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer client.Close()

	pm, err := npm.ResolvePackageManager(npm.PackageManagerType(opts.packagemanager), dir)
	if err != nil {
		return nil, err
	}

	typescript := opts.typescript || opts.tsconfig != ""
	if !typescript {
		if _, err := fsutil.Searchup(dir, "tsconfig.json"); err == nil {
			typescript = true
		}
	}
	moduleSyntax := typescript || packageTypeIsModule(dir)

	var b strings.Builder
	if typescript {
		b.WriteString("You can import the SDK in your TypeScript code with:\n\n")
	} else {
		b.WriteString("You can import the SDK in your JavaScript code with:\n\n")
	}
	for _, dep := range req.GetPackages() {
		ref, pkg, err := hostkit.LinkedPackage(ctx, loader, dep)
		if err != nil {
			return nil, err
		}
		if err := pkg.ImportLanguages(map[string]schema.Language{"nodejs": nodejsgen.Importer}); err != nil {
			return nil, err
		}
		npmName := nodePackageName(pkg)
		if err := pm.Link(ctx, dir, npmName, dep.GetPath()); err != nil {
			return nil, err
		}
		ident := cgstrings.Camel(ref.Name())
		if moduleSyntax {
			fmt.Fprintf(&b, "  import * as %s from %q;\n", ident, npmName)
		} else {
			fmt.Fprintf(&b, "  const %s = require(%q);\n", ident, npmName)
		}
	}
	return &pulumirpc.LinkResponse{ImportInstructions: b.String()}, nil
}

// nodePackageName is the npm name of a generated SDK: the schema's language.nodejs.packageName,
// else @<namespace>/<name>, else @pulumi/<name>.
func nodePackageName(pkg *schema.Package) string {
	if info, ok := pkg.Language["nodejs"].(nodejsgen.NodePackageInfo); ok && info.PackageName != "" {
		return info.PackageName
	}
	if pkg.Namespace != "" {
		return "@" + pkg.Namespace + "/" + pkg.Name
	}
	return "@pulumi/" + pkg.Name
}

// packageTypeIsModule reports whether the nearest package.json at or above dir says "type": "module".
func packageTypeIsModule(dir string) bool {
	path, err := fsutil.Searchup(dir, "package.json")
	if err != nil {
		return false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var p struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(b, &p) == nil && p.Type == "module"
}
