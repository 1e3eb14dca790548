package targets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: a user's targets file is loaded or refused without a panic, and a refusal names
// the file.
func FuzzLoad(f *testing.F) {
	builtin, err := os.ReadFile("builtin.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(builtin)
	f.Add([]byte("kinds:\n- name: widget\n  group: example.com\n"))
	f.Add([]byte("kinds: [{}]\ncharts: [{}]\n"))
	f.Add([]byte("\x00\xff"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "targets.yaml")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		err := Builtin().Load(path, false)
		if err == nil {
			return
		}
		var fe *FileError
		if !errors.As(err, &fe) && !strings.Contains(err.Error(), path) {
			t.Fatalf("a refusal that does not name the file: %v", err)
		}
	})
}
