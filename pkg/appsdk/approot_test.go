package appsdk

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// layout builds files and symlinks under dir: a key ending in "/" is a directory, a value
// starting with "->" a symlink to the rest, anything else a file with that content.
func layout(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case name[len(name)-1] == '/':
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case len(content) > 2 && content[:2] == "->":
			if err := os.Symlink(content[2:], p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestAppRootResolve(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	root := filepath.Join(base, "root")
	layout(t, base, map[string]string{
		"outside/secret.txt":        "host",
		"root/srv/app/main.py":      "app",
		"root/app":                  "->/srv/app",                   // absolute: the app's /srv, not the host's
		"root/srv/app/rel":          "->../app/main.py",             // relative
		"root/srv/app/up":           "->../../../../../srv/app",     // ".." stops at the root
		"root/srv/app/escape":       "->" + outside + "/secret.txt", // a host path: absent in the app
		"root/srv/app/appabs":       "->/outside/secret.txt",
		"root/srv/app/loop":         "->loop2",
		"root/srv/app/loop2":        "->loop",
		"root/srv/app/chain":        "->/app/rel",
		"root/outside/secret.txt":   "app's own",
		"root/srv/app/dangling":     "->/nowhere",
		"root/srv/app/dir/":         "",
		"root/srv/app/dir/file.txt": "in dir",
		"root/srv/app/linkdir":      "->dir",
	})
	a, err := openAppRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tests := []struct {
		name     string
		in       string
		want     string
		wantRead string
		wantErr  error
	}{
		{name: "plain", in: "/srv/app/main.py", want: "/srv/app/main.py", wantRead: "app"},
		{name: "absolute link re-rooted", in: "/app/main.py", want: "/srv/app/main.py", wantRead: "app"},
		{name: "relative link", in: "/app/rel", want: "/srv/app/main.py", wantRead: "app"},
		{name: "dot-dot clamped at the root", in: "/srv/app/up/main.py", want: "/srv/app/main.py", wantRead: "app"},
		{name: "dot-dot in the path", in: "/../../srv/./app/../app/main.py", want: "/srv/app/main.py", wantRead: "app"},
		{name: "host path is not followed out of the root", in: "/srv/app/escape", wantErr: fs.ErrNotExist},
		{name: "absolute link reads the app's file", in: "/srv/app/appabs", want: "/outside/secret.txt", wantRead: "app's own"},
		{name: "chain of links", in: "/srv/app/chain", want: "/srv/app/main.py", wantRead: "app"},
		{name: "link to a directory", in: "/app/linkdir/file.txt", want: "/srv/app/dir/file.txt", wantRead: "in dir"},
		{name: "root", in: "/", want: "/"},
		{name: "loop", in: "/srv/app/loop", wantErr: errLinkLoop},
		{name: "dangling", in: "/app/dangling", wantErr: fs.ErrNotExist},
		{name: "missing", in: "/srv/none", wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.resolve(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("resolve(%q) error = %v, want %v", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("resolve(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
			if tt.wantRead == "" {
				return
			}
			b, r, err := a.readFile(tt.in, 1<<10)
			if err != nil || string(b) != tt.wantRead || r != tt.want {
				t.Errorf("readFile(%q) = %q, %q, %v, want %q, %q", tt.in, b, r, err, tt.wantRead, tt.want)
			}
		})
	}
}

func TestAppRootReadFileLimit(t *testing.T) {
	root := t.TempDir()
	layout(t, root, map[string]string{"big": "0123456789"})
	a, err := openAppRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, _, err := a.readFile("/big", 9); err == nil {
		t.Error("readFile over the limit: no error")
	}
	if b, _, err := a.readFile("/big", 10); err != nil || string(b) != "0123456789" {
		t.Errorf("readFile at the limit = %q, %v", b, err)
	}
}
