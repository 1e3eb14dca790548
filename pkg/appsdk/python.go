package appsdk

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// pythonMetadata matches the metadata pip, setuptools and Debian leave beside an installed
// package: name-version.dist-info (pip), name-version.egg-info, a directory or a file
// (setuptools; Debian's python3-botocore and python3-boto3 ship
// /usr/lib/python3/dist-packages/botocore-1.29.27.egg-info/PKG-INFO), and name-version-pyX.egg.
var pythonMetadata = regexp.MustCompile(`(?i)^(botocore|boto3|awscli)-([^-]+?)(?:-py[0-9.]+)?\.(dist-info|egg-info|egg)$`)

var pythonSDKs = map[string]string{ModuleBotocore: SDKBotocore, ModuleBoto3: SDKBoto3, ModuleAWSCLI: SDKAWSCLI}

// pythonPackages reads the SDKs' metadata in a site-packages or dist-packages directory,
// without walking the packages themselves.
func (s *scan) pythonPackages(p *proc, dir string) {
	for _, e := range s.readDir(p, dir) {
		if m := pythonMetadata.FindStringSubmatch(e.Name()); m != nil {
			s.pythonPackage(p, path.Join(dir, e.Name()), m)
		}
	}
}

// pythonPackage reads one package's metadata (m is pythonMetadata's match of its name) and
// records the name and version it declares.
func (s *scan) pythonPackage(p *proc, entry string, m []string) {
	var file string
	switch strings.ToLower(m[3]) {
	case "dist-info":
		file = path.Join(entry, "METADATA")
	case "egg":
		file = path.Join(entry, "EGG-INFO", "PKG-INFO")
	default: // egg-info: a directory holding PKG-INFO, or the PKG-INFO itself
		file = entry
		if fi, _, err := p.root.stat(entry); err == nil && fi.IsDir() {
			file = path.Join(entry, "PKG-INFO")
		}
	}
	s.count(1)
	b, resolved, err := p.root.readFile(file, maxManifest)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.skip(p.pid, file, unreadable(err, -1))
		}
		return
	}
	name, version := metadataHeaders(b)
	sdk, ok := pythonSDKs[strings.ToLower(name)]
	if !ok {
		return
	}
	s.add(p, resolved, SDK{Name: sdk, Module: strings.ToLower(name), Version: version, Path: resolved})
}

// metadataHeaders reads Name and Version from core metadata (METADATA, PKG-INFO): headers
// up to the first blank line.
func metadataHeaders(b []byte) (name, version string) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Name":
			name = strings.TrimSpace(v)
		case "Version":
			version = strings.TrimSpace(v)
		}
	}
	return name, version
}

// awsCLIv2 reads an AWS CLI v2 installation (the installer's <dir>/v2/<version>, with
// v2/current linking the one in use); the CLI of a pip or Debian install is a Python package.
func (s *scan) awsCLIv2(p *proc, dir string) {
	v2 := path.Join(dir, "v2")
	if target, err := p.root.readlink(path.Join(v2, "current")); err == nil {
		s.count(1)
		if v := path.Base(target); isVersion(v) {
			s.add(p, path.Join(v2, v), SDK{Name: SDKAWSCLI, Module: ModuleAWSCLI, Version: v, Path: path.Join(v2, v)})
			return
		}
	}
	for _, e := range s.readDir(p, v2) {
		if e.IsDir() && isVersion(e.Name()) {
			s.add(p, path.Join(v2, e.Name()), SDK{Name: SDKAWSCLI, Module: ModuleAWSCLI, Version: e.Name(), Path: path.Join(v2, e.Name())})
		}
	}
}

func isVersion(s string) bool {
	_, ok := parseVersion(s)
	return ok
}
