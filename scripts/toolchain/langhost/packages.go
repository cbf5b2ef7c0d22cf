package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

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
