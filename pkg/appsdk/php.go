package appsdk

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path"
)

// maxLockFile bounds the dependency lists read (composer's installed.json, .NET's deps.json).
const maxLockFile = 32 << 20

// composerVendor reads a composer vendor directory through vendor/composer/installed.json,
// which lists every package installed there, and walks only vendor/bundle (Ruby's Bundler)
// beside it; false when dir is no composer vendor directory.
func (s *scan) composerVendor(p *proc, dir string, depth int, origin string) bool {
	installed := path.Join(dir, "composer", "installed.json")
	_, resolved, err := p.root.stat(installed)
	if err != nil {
		return false
	}
	s.examineFile(p, resolved)
	if fi, resolved, err := p.root.stat(path.Join(dir, "bundle")); err == nil && fi.IsDir() {
		s.walkDir(p, resolved, depth+1, origin)
	}
	return true
}

// composerInstalled reads installed.json: composer 2's {"packages": [...]} or composer 1's
// bare list.
func (s *scan) composerInstalled(p *proc, file string) {
	b, resolved, err := p.root.readFile(file, maxLockFile)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.skip(p.pid, file, unreadable(err, -1))
		}
		return
	}
	type pkg struct{ Name, Version string }
	var v2 struct{ Packages []pkg }
	pkgs := &v2.Packages
	if json.Unmarshal(b, &v2) != nil {
		if err := json.Unmarshal(b, pkgs); err != nil {
			s.skip(p.pid, resolved, "installed.json does not parse: "+err.Error())
			return
		}
	}
	for _, k := range *pkgs {
		if k.Name == ModulePHP {
			s.add(p, resolved, SDK{Name: SDKPHP, Module: ModulePHP, Version: k.Version, Path: resolved})
		}
	}
}
