package appsdk

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"strings"
)

// maxManifest bounds the package manifests read (package.json, METADATA, pom.properties).
const maxManifest = 1 << 20

// nodeModules reads a node_modules directory: the aws-sdk package (JavaScript v2) and
// @aws-sdk/credential-provider-node (v3's default credential chain), then the node_modules
// nested in its packages, and pnpm's store.
func (s *scan) nodeModules(p *proc, dir string, depth int, origin string) {
	s.npmPackage(p, path.Join(dir, ModuleJS), SDKJS)
	s.npmPackage(p, path.Join(dir, ModuleJSV3Chain), SDKJSV3)
	if !s.deeper(p, depth+1, origin, dir) {
		return
	}
	for _, e := range s.readDir(p, dir) {
		if s.stopAt(p, dir) {
			return
		}
		name, child := e.Name(), path.Join(dir, e.Name())
		switch {
		case name == ".pnpm":
			s.pnpmStore(p, child)
		case strings.HasPrefix(name, "."):
		case strings.HasPrefix(name, "@"):
			for _, pkg := range s.readDir(p, child) {
				s.nestedNodeModules(p, path.Join(child, pkg.Name()), depth+2, origin)
			}
		default:
			s.nestedNodeModules(p, child, depth+1, origin)
		}
	}
}

// nestedNodeModules reads pkg/node_modules when there is one: npm nests a package's own copy
// of a dependency there when it differs from the top one.
func (s *scan) nestedNodeModules(p *proc, pkg string, depth int, origin string) {
	s.count(1)
	fi, resolved, err := p.root.stat(path.Join(pkg, "node_modules"))
	if err != nil || !fi.IsDir() || !s.visit(p, resolved) {
		return
	}
	s.nodeModules(p, resolved, depth, origin)
}

// pnpmStore reads the SDK packages of pnpm's node_modules/.pnpm, where each version lives in
// <name>@<version>/node_modules/<name> (a scope's slash written "+").
func (s *scan) pnpmStore(p *proc, dir string) {
	for _, e := range s.readDir(p, dir) {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, ModuleJS+"@"):
			s.npmPackage(p, path.Join(dir, name, "node_modules", ModuleJS), SDKJS)
		case strings.HasPrefix(name, strings.ReplaceAll(ModuleJSV3Chain, "/", "+")+"@"):
			s.npmPackage(p, path.Join(dir, name, "node_modules", ModuleJSV3Chain), SDKJSV3)
		}
	}
}

// npmPackage reads pkgDir/package.json and records it when it names module.
func (s *scan) npmPackage(p *proc, pkgDir, sdk string) {
	module := pkgDirModule(pkgDir)
	b, resolved, err := p.root.readFile(path.Join(pkgDir, "package.json"), maxManifest)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	s.count(1)
	if err != nil {
		s.skip(p.pid, path.Join(pkgDir, "package.json"), unreadable(err, -1))
		return
	}
	var m struct{ Name, Version string }
	if err := json.Unmarshal(b, &m); err != nil {
		s.skip(p.pid, resolved, "package.json does not parse: "+err.Error())
		return
	}
	if m.Name != module {
		return
	}
	s.add(p, resolved, SDK{Name: sdk, Module: module, Version: m.Version, Path: resolved})
}

// pkgDirModule is the package name a node_modules path ends in: "aws-sdk", or a scoped
// "@aws-sdk/credential-provider-node".
func pkgDirModule(pkgDir string) string {
	base, scope := path.Base(pkgDir), path.Base(path.Dir(pkgDir))
	if strings.HasPrefix(scope, "@") {
		return scope + "/" + base
	}
	return base
}
