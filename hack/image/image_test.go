package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// layerEntries lists the image's one layer as "name mode" lines (directories end in /) and
// the files' contents by name.
func layerEntries(t *testing.T, spec Spec) ([]string, map[string]string) {
	t.Helper()
	img, err := Build(spec)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %d, %v; want one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var entries []string
	contents := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return entries, contents
		}
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, fmt.Sprintf("%s %o", h.Name, h.Mode))
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			contents[h.Name] = string(b)
		}
	}
}

// writeTree writes files (slash paths relative to dir) with their modes.
func writeTree(t *testing.T, dir string, files map[string]os.FileMode) {
	t.Helper()
	for name, mode := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+name), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuildFiles(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]os.FileMode{
		"pause":                             0o755,
		"data.json":                         0o644,
		"node_modules/aws-sdk/package.json": 0o644,
		"node_modules/@aws-sdk/client/package.json":      0o600,
		"node_modules/@aws-sdk/client/bin/tool":          0o700,
		"botocore-1.29.27.egg-info/PKG-INFO":             0o644,
		"botocore-1.29.27.egg-info/dependency_links.txt": 0o644,
	})
	base := []string{"etc/ 755", "tmp/ 755", "etc/passwd 644"}
	tests := []struct {
		name         string
		files        []File
		want         []string // layer entries after base
		wantContents map[string]string
		wantErr      bool
	}{
		{
			name:  "a program at the root adds no directory (the pause, idle and probe images)",
			files: []File{{Source: filepath.Join(src, "pause"), Path: "/pause"}},
			want:  []string{"pause 755"},
		},
		{
			name:  "a file named directly is a program whatever its mode on disk",
			files: []File{{Source: filepath.Join(src, "data.json"), Path: "/usr/local/bin/data"}},
			want:  []string{"usr/ 755", "usr/local/ 755", "usr/local/bin/ 755", "usr/local/bin/data 755"},
		},
		{
			name: "a directory is copied in lexical order, files keep whether they are executable",
			files: []File{
				{Source: filepath.Join(src, "pause"), Path: "/pause"},
				{Source: filepath.Join(src, "node_modules"), Path: "/app/node_modules"},
			},
			want: []string{
				"pause 755",
				"app/ 755",
				"app/node_modules/ 755",
				"app/node_modules/@aws-sdk/ 755",
				"app/node_modules/@aws-sdk/client/ 755",
				"app/node_modules/@aws-sdk/client/bin/ 755",
				"app/node_modules/@aws-sdk/client/bin/tool 755",
				"app/node_modules/@aws-sdk/client/package.json 644",
				"app/node_modules/aws-sdk/ 755",
				"app/node_modules/aws-sdk/package.json 644",
			},
			wantContents: map[string]string{
				"app/node_modules/aws-sdk/package.json": "content of node_modules/aws-sdk/package.json",
			},
		},
		{
			name: "two sources under one parent write the parent once",
			files: []File{
				{Source: filepath.Join(src, "botocore-1.29.27.egg-info"), Path: "/usr/lib/python3/dist-packages/botocore-1.29.27.egg-info"},
				{Source: filepath.Join(src, "data.json"), Path: "/usr/lib/python3/dist-packages/x"},
			},
			want: []string{
				"usr/ 755",
				"usr/lib/ 755",
				"usr/lib/python3/ 755",
				"usr/lib/python3/dist-packages/ 755",
				"usr/lib/python3/dist-packages/botocore-1.29.27.egg-info/ 755",
				"usr/lib/python3/dist-packages/botocore-1.29.27.egg-info/PKG-INFO 644",
				"usr/lib/python3/dist-packages/botocore-1.29.27.egg-info/dependency_links.txt 644",
				"usr/lib/python3/dist-packages/x 755",
			},
			wantContents: map[string]string{
				"usr/lib/python3/dist-packages/botocore-1.29.27.egg-info/PKG-INFO": "content of botocore-1.29.27.egg-info/PKG-INFO",
			},
		},
		{
			name:    "a missing source",
			files:   []File{{Source: filepath.Join(src, "absent"), Path: "/absent"}},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := Spec{Files: tt.files, Entrypoint: []string{"/pause"}, User: "65532:65532", OS: "linux", Arch: "amd64"}
			if tt.wantErr {
				if _, err := Build(spec); err == nil {
					t.Fatal("Build() error = nil, want one")
				}
				return
			}
			got, contents := layerEntries(t, spec)
			want := append(slices.Clone(base), tt.want...)
			if !slices.Equal(got, want) {
				t.Errorf("layer entries:\n got %q\nwant %q", got, want)
			}
			for name, w := range tt.wantContents {
				if contents[name] != w {
					t.Errorf("%s = %q, want %q", name, contents[name], w)
				}
			}
		})
	}
}

func TestBuildSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	_, err := Build(Spec{Files: []File{{Source: dir, Path: "/d"}}, User: "65532:65532", OS: "linux", Arch: "amd64"})
	if err == nil {
		t.Fatal("Build() of a directory holding a symlink: no error, want one (the layer would hold a dangling link)")
	}
}

func TestBuildWorkingDir(t *testing.T) {
	tests := []struct {
		name       string
		workingDir string
	}{
		{name: "unset is the runtime's default", workingDir: ""},
		{name: "an app directory", workingDir: "/app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Build(Spec{WorkingDir: tt.workingDir, User: "65532:65532", OS: "linux", Arch: "amd64"})
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Config.WorkingDir != tt.workingDir {
				t.Errorf("WorkingDir = %q, want %q", cf.Config.WorkingDir, tt.workingDir)
			}
		})
	}
}
