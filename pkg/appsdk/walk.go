package appsdk

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
)

// wellKnownDirs are where images put apps and their libraries. Every process's root is
// searched there after the places its own command line names.
var wellKnownDirs = []string{
	"/app", "/srv", "/opt", "/usr/src/app", "/var/task", "/var/www", "/home", "/root",
	"/usr/local/lib",     // pip's site-packages, npm's global node_modules, gems
	"/usr/local/bundle",  // the ruby images' GEM_HOME
	"/usr/local/aws-cli", // the AWS CLI v2 installer's default
	"/usr/share/java",    // Debian's jars
	"/var/lib/gems",      // Debian's gems
}

// systemLibDirs hold the distributions' Python (Debian's dist-packages), Ruby and global npm
// packages, in entries matching systemLibEntry: only those are searched, not all of /usr/lib.
var (
	systemLibDirs  = []string{"/usr/lib", "/usr/lib64"}
	systemLibEntry = regexp.MustCompile(`^(python[0-9.]*|ruby|node_modules)$`)
)

// systemBinDirs hold interpreters, not apps: an executable there does not make its directory
// a place to search.
var systemBinDirs = map[string]bool{
	"/bin": true, "/sbin": true, "/usr/bin": true, "/usr/sbin": true, "/usr/local/bin": true, "/usr/local/sbin": true,
}

// skipDirs are never entered: version control, and the caches of package managers and
// toolchains (what they hold is not what the app loads: a .NET app's deps.json, read instead,
// names what it takes from ~/.nuget). Go's module cache, <GOPATH>/pkg/mod, is skipped too: a Go
// program carries its modules in its build info. So are the kernel's file systems at the root.
var (
	skipDirs = map[string]bool{
		".git": true, ".hg": true, ".svn": true, "__pycache__": true, ".cache": true, ".npm": true,
		".m2": true, ".gradle": true, ".ivy2": true, ".sbt": true, ".nuget": true, ".rustup": true, ".cargo": true,
	}
	kernelDirs = map[string]bool{"proc": true, "sys": true, "dev": true}
)

// skipDir says whether the walk leaves out name, an entry of dir.
func skipDir(dir, name string) bool {
	return skipDirs[name] || (dir == "/" && kernelDirs[name]) || (name == "mod" && path.Base(dir) == "pkg")
}

// searchOwnPlaces searches what p's own command line names (jars, scripts, class path
// entries), its working directory and its executable's directory.
func (s *scan) searchOwnPlaces(p *proc) {
	// An argument is only a candidate path: one that names nothing readable is no finding and
	// no Skip, so no argument (a key, a token) reaches the report.
	s.searchAll(p, commandLinePaths(p.args, p.cwd), false)
	var places []string
	if p.cwd != "" && p.cwd != "/" {
		places = append(places, p.cwd)
	}
	if exeDir := path.Dir(p.exe); path.IsAbs(exeDir) {
		if !systemBinDirs[exeDir] {
			places = append(places, exeDir)
		}
		// An interpreter in <prefix>/bin keeps its packages in <prefix>/lib: a virtualenv's,
		// pyenv's, a node or ruby install's.
		if prefix := path.Dir(exeDir); path.Base(exeDir) == "bin" && prefix != "/" && prefix != "/usr" {
			places = append(places, prefix+"/lib")
		}
	}
	s.searchAll(p, places, true)
}

// searchWellKnown searches wellKnownDirs and the distributions' library directories in p's
// root.
func (s *scan) searchWellKnown(p *proc) {
	places := slices.Clone(wellKnownDirs)
	for _, dir := range systemLibDirs {
		for _, e := range s.readDir(p, dir) {
			if systemLibEntry.MatchString(e.Name()) {
				places = append(places, path.Join(dir, e.Name()))
			}
		}
	}
	s.searchAll(p, places, true)
}

// searchAll searches places in turn; report says whether a place that cannot be read is a
// Skip.
func (s *scan) searchAll(p *proc, places []string, report bool) {
	for _, place := range places {
		if s.stopAt(p, place) {
			return
		}
		s.search(p, place, report)
	}
}

// commandLinePaths are the files and directories a command line names: scripts, jars and
// assemblies (relative ones from the working directory), and a JVM's class path.
func commandLinePaths(args []string, cwd string) []string {
	var out []string
	add := func(p string) {
		if p == "" {
			return
		}
		if !path.IsAbs(p) {
			if cwd == "" {
				return
			}
			p = path.Join(cwd, p)
		}
		out = append(out, path.Clean(p))
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "-cp" || a == "-classpath" || a == "--class-path") && i+1 < len(args):
			i++
			for _, entry := range strings.Split(args[i], ":") {
				add(strings.TrimSuffix(entry, "*"))
			}
		case strings.HasPrefix(a, "-"):
		case strings.Contains(a, "/") || hasAnySuffix(a, ".py", ".js", ".mjs", ".cjs", ".jar", ".war", ".rb", ".php", ".dll"):
			add(a)
		}
	}
	return out
}

func hasAnySuffix(s string, suffixes ...string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

// search looks at one place: a directory is walked; an archive or .deps.json file is read; any
// other file (a script) has its directory walked. A place that is not there is no finding, and
// one that cannot be read a Skip when report is true. The root directory and the system bin
// directories are no place: walking them (for /entrypoint.sh, or a command's "/" argument)
// would walk the whole image or only its programs.
func (s *scan) search(p *proc, place string, report bool) {
	fi, resolved, err := p.root.stat(place)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		if report {
			s.skip(p.pid, place, unreadable(err, -1))
		}
		return
	case fi.IsDir():
		if resolved != "/" && !systemBinDirs[resolved] {
			s.walkDir(p, resolved, 0, place)
		}
	case !s.examineFile(p, resolved):
		if dir := path.Dir(resolved); dir != "/" && !systemBinDirs[dir] {
			s.walkDir(p, dir, 0, dir)
		}
	}
}

// visit marks a directory or file (resolved) of p's root as read; false when it already was.
func (s *scan) visit(p *proc, dir string) bool {
	key := fmt.Sprintf("%d|%s", p.rootIndex, dir)
	if s.visited[key] {
		return false
	}
	s.visited[key] = true
	return true
}

// deeper says whether depth is within the limit, reporting once per searched place when not.
func (s *scan) deeper(p *proc, depth int, origin, dir string) bool {
	if depth <= s.lim.MaxDepth {
		return true
	}
	if !p.depthSkipped[origin] {
		p.depthSkipped[origin] = true
		s.skip(p.pid, dir, fmt.Sprintf("depth limit of %d reached below %s: deeper directories were not read", s.lim.MaxDepth, origin))
	}
	return false
}

// walkDir walks dir, a resolved directory depth levels below the searched place origin.
func (s *scan) walkDir(p *proc, dir string, depth int, origin string) {
	if !s.deeper(p, depth, origin, dir) || !s.visit(p, dir) || s.special(p, dir, depth, origin) {
		return
	}
	for _, e := range s.readDir(p, dir) {
		if s.stopAt(p, dir) {
			return
		}
		name, child := e.Name(), path.Join(dir, e.Name())
		switch t := e.Type(); {
		case t.IsDir():
			if skipDir(dir, name) {
				continue
			}
			if m := pythonMetadata.FindStringSubmatch(name); m != nil {
				s.pythonPackage(p, child, m)
				continue
			}
			s.walkDir(p, child, depth+1, origin)
		case t&fs.ModeSymlink != 0:
			s.symlink(p, child, depth, origin)
		case t.IsRegular():
			s.examineFile(p, child)
		}
	}
}

// symlink follows a link met in a walk, within the root: a directory is walked (once, as
// every directory), a file examined. A link that cannot be resolved is a Skip, unless it
// merely points at nothing.
func (s *scan) symlink(p *proc, link string, depth int, origin string) {
	fi, resolved, err := p.root.stat(link)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		s.skip(p.pid, link, fmt.Sprintf("symlink not followed: %v", err))
	case fi.IsDir():
		if !skipDir(path.Dir(link), path.Base(link)) {
			s.walkDir(p, resolved, depth+1, origin)
		}
	case fi.Mode().IsRegular():
		s.examineFile(p, resolved)
	}
}

// pythonVersionDir is a Python installation's lib/pythonX.Y: its standard library, thousands of
// files, and its site-packages.
var pythonVersionDir = regexp.MustCompile(`^python\d+(\.\d+)?$`)

// special handles the directories that hold packages in a layout of their own, instead of
// walking them; false for any other directory.
func (s *scan) special(p *proc, dir string, depth int, origin string) bool {
	if pythonVersionDir.MatchString(path.Base(dir)) {
		for _, sub := range []string{"site-packages", "dist-packages"} {
			if fi, resolved, err := p.root.stat(path.Join(dir, sub)); err == nil && fi.IsDir() && s.visit(p, resolved) {
				s.pythonPackages(p, resolved)
			}
		}
		return true
	}
	switch path.Base(dir) {
	case "node_modules":
		s.nodeModules(p, dir, depth, origin)
	case "site-packages", "dist-packages":
		s.pythonPackages(p, dir)
	case "aws-cli":
		s.awsCLIv2(p, dir)
	case "gems":
		s.rubyGems(p, dir, depth, origin)
	case "specifications":
		s.rubySpecifications(p, dir)
	case "vendor":
		return s.composerVendor(p, dir, depth, origin)
	default:
		return false
	}
	return true
}

// examineFile reads a file (resolved) that may name an SDK, once; false when its name is not
// one that can.
func (s *scan) examineFile(p *proc, file string) bool {
	read := fileReader(file)
	if read == nil {
		return false
	}
	if s.visit(p, file) {
		s.count(1)
		read(s, p, file)
	}
	return true
}

// fileReader is the reader of the files whose name says they may name an SDK; nil for others.
func fileReader(file string) func(*scan, *proc, string) {
	name := path.Base(file)
	switch {
	case hasAnySuffix(name, ".jar", ".war", ".ear"):
		return (*scan).javaArchive
	case strings.HasSuffix(name, ".deps.json"):
		return (*scan).dotnetDeps
	case name == "installed.json" && path.Base(path.Dir(file)) == "composer":
		return (*scan).composerInstalled
	}
	return nil
}

// readDir lists dir (resolved or not) in p's root, sorted, counting every entry against the
// scan's file limit; what the limit cuts off is not returned. A directory that is not there
// lists nothing; one that cannot be read is a Skip.
func (s *scan) readDir(p *proc, dir string) []fs.DirEntry {
	f, _, err := p.root.open(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.skip(p.pid, dir, unreadable(err, -1))
		}
		return nil
	}
	defer f.Close()
	var out []fs.DirEntry
	for {
		room := s.lim.MaxFiles - s.files
		if room <= 0 {
			break
		}
		batch, err := f.ReadDir(min(room, 256))
		s.count(len(batch))
		out = append(out, batch...)
		if err != nil || len(batch) == 0 {
			break
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}
