package appsdk

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
)

// dotnetDeps reads an app's <name>.deps.json, whose "libraries" are keyed "<package>/<version>"
// (e.g. "AWSSDK.Core/3.7.300.1").
func (s *scan) dotnetDeps(p *proc, file string) {
	b, resolved, err := p.root.readFile(file, maxLockFile)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.skip(p.pid, file, unreadable(err, -1))
		}
		return
	}
	var deps struct {
		Libraries map[string]json.RawMessage `json:"libraries"`
	}
	if err := json.Unmarshal(b, &deps); err != nil {
		s.skip(p.pid, resolved, "deps.json does not parse: "+err.Error())
		return
	}
	for key := range deps.Libraries {
		if name, v, ok := strings.Cut(key, "/"); ok && strings.EqualFold(name, ModuleNet) {
			s.add(p, resolved, SDK{Name: SDKNet, Module: ModuleNet, Version: v, Path: resolved})
		}
	}
}
