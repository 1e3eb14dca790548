package appsdk

import (
	"debug/buildinfo"
	"errors"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
)

// goBuildInfo reads the Go build info of p's executable, opened through /proc/<pid>/exe so the
// binary is read even when its path is not reachable (deleted, or on a mount of its own).
func (s *scan) goBuildInfo(p *proc, procExe string) {
	f, err := os.Open(procExe)
	if errors.Is(err, fs.ErrNotExist) {
		// The link names a file the kernel cannot reopen; the same path in the app's root may.
		f, _, err = p.root.open(p.exe)
	}
	if err != nil {
		s.skip(p.pid, p.exe, "cannot read the executable: "+unreadable(err, -1))
		return
	}
	defer f.Close()
	s.count(1)
	bi, err := buildinfo.Read(f)
	if err != nil {
		return // not a Go program, or one built without module information
	}
	for _, sdk := range goSDKs(bi) {
		sdk.Path = p.exe
		s.add(p, p.exe, sdk)
	}
}

// goSDKs lists the AWS SDK modules a Go binary links: Go v1, and of Go v2 the modules that
// carry the credential chain (config, credentials), or its core module when it links neither.
// A module replaced by a local directory has no version to judge: its Version says so.
func goSDKs(bi *debug.BuildInfo) []SDK {
	var out []SDK
	var core *SDK
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v = d.Replace.Version
			if v == "" {
				v = "replaced by " + d.Replace.Path
			}
		}
		switch d.Path {
		case ModuleGo:
			out = append(out, SDK{Name: SDKGo, Module: d.Path, Version: v})
		case ModuleGoV2Config, ModuleGoV2Creds:
			out = append(out, SDK{Name: SDKGoV2, Module: d.Path, Version: v})
		case ModuleGoV2:
			core = &SDK{Name: SDKGoV2, Module: d.Path, Version: v}
		}
	}
	if core != nil && !linksV2Chain(out) {
		out = append(out, *core)
	}
	return out
}

func linksV2Chain(sdks []SDK) bool {
	for _, s := range sdks {
		if strings.HasPrefix(s.Module, ModuleGoV2+"/") {
			return true
		}
	}
	return false
}
