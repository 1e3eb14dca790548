package appsdk

import (
	"path"
	"regexp"
)

// RubyGems installs a gem in <GEM_HOME>/gems/<name>-<version> and its specification in
// <GEM_HOME>/specifications/<name>-<version>.gemspec; GEM_HOME may sit below a directory named
// gems too (/usr/local/lib/ruby/gems/3.2.0).
var (
	rubyCoreDir  = regexp.MustCompile(`^aws-sdk-core-(\d[0-9A-Za-z.]*)$`)
	rubyCoreSpec = regexp.MustCompile(`^aws-sdk-core-(\d[0-9A-Za-z.]*)\.gemspec$`)
	rubyABI      = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
)

// rubyGems reads a gems directory: the aws-sdk-core gem's own directory, or GEM_HOMEs named by
// Ruby's version below it.
func (s *scan) rubyGems(p *proc, dir string, depth int, origin string) {
	for _, e := range s.readDir(p, dir) {
		child := path.Join(dir, e.Name())
		switch m := rubyCoreDir.FindStringSubmatch(e.Name()); {
		case m != nil:
			s.addRubyCore(p, path.Dir(dir), child, m[1])
		case e.IsDir() && rubyABI.MatchString(e.Name()):
			s.walkDir(p, child, depth+1, origin)
		}
	}
}

// rubySpecifications reads a GEM_HOME's specifications directory.
func (s *scan) rubySpecifications(p *proc, dir string) {
	for _, e := range s.readDir(p, dir) {
		if m := rubyCoreSpec.FindStringSubmatch(e.Name()); m != nil {
			s.addRubyCore(p, path.Dir(dir), path.Join(dir, e.Name()), m[1])
		}
	}
}

// addRubyCore records aws-sdk-core once per GEM_HOME, whether its gem directory or its
// specification was met first.
func (s *scan) addRubyCore(p *proc, gemHome, found, version string) {
	s.add(p, gemHome+"|"+ModuleRuby, SDK{Name: SDKRuby, Module: ModuleRuby, Version: version, Path: found})
}
