package appsdk

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// maxLinks is how many symlinks one path may pass through, as Linux's own limit.
const maxLinks = 40

var errLinkLoop = errors.New("too many levels of symbolic links")

// appRoot reads a process's files through its root directory (/proc/<pid>/root) as the process
// sees them. Symlinks are resolved here, inside the root: read through /proc/<pid>/root by the
// kernel, an absolute link would point into the scanner's own filesystem. ".." stops at the
// root, as it does for the app. Files are then opened through an os.Root, which refuses any
// path that would leave it, so a link changed between resolving and opening cannot escape.
type appRoot struct {
	root *os.Root
}

func openAppRoot(dir string) (*appRoot, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &appRoot{root: r}, nil
}

func (a *appRoot) Close() error { return a.root.Close() }

// resolve returns p, an absolute path as the app sees it, with every symlink followed within
// the root: a clean absolute path that names no symlink.
func (a *appRoot) resolve(p string) (string, error) {
	todo := strings.Split(p, "/")
	var done []string
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(path.Join(done...), c)
		fi, err := a.root.Lstat(cur)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: errLinkLoop}
		}
		target, err := a.root.Readlink(cur)
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			done = done[:0]
		}
		todo = slices.Concat(strings.Split(target, "/"), todo)
	}
	return "/" + strings.Join(done, "/"), nil
}

// rel is the resolved app path p as a name inside the root.
func rel(p string) string {
	if r := strings.TrimPrefix(p, "/"); r != "" {
		return r
	}
	return "."
}

// stat resolves p and stats what it names, returning the resolved path too.
func (a *appRoot) stat(p string) (fs.FileInfo, string, error) {
	r, err := a.resolve(p)
	if err != nil {
		return nil, "", err
	}
	fi, err := a.root.Lstat(rel(r))
	return fi, r, err
}

// open resolves p and opens what it names.
func (a *appRoot) open(p string) (*os.File, string, error) {
	r, err := a.resolve(p)
	if err != nil {
		return nil, "", err
	}
	f, err := a.root.Open(rel(r))
	return f, r, err
}

// readFile reads the file p names, refusing one larger than limit bytes, and returns its
// resolved path too.
func (a *appRoot) readFile(p string, limit int64) ([]byte, string, error) {
	f, r, err := a.open(p)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, "", err
	}
	if int64(len(b)) > limit {
		return nil, "", fmt.Errorf("%s is larger than %d bytes", r, limit)
	}
	return b, r, nil
}

// readlink reads the symlink p names itself (its parent directories resolved), as the app
// would read it.
func (a *appRoot) readlink(p string) (string, error) {
	dir, err := a.resolve(path.Dir(p))
	if err != nil {
		return "", err
	}
	return a.root.Readlink(rel(path.Join(dir, path.Base(p))))
}
