package webhook

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestAssociationsWatch(t *testing.T) {
	file := filepath.Join(t.TempDir(), "associations.json")
	// Written whole and renamed into place, as a writer must: the watcher may read at any time.
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file+".tmp", []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"identities":[{"namespace":"a","serviceAccount":"x"}]}`)
	var logged []string
	a := &Associations{}
	if err := a.Watch(t.Context(), file, 10*time.Millisecond, func(f string, _ ...any) { logged = append(logged, f) }); err != nil {
		t.Fatal(err)
	}
	if !a.Has("a", "x") || a.Has("a", "y") || a.Has("b", "x") {
		t.Fatal("after the first load: want exactly a/x")
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if cond() {
				return
			}
		}
		t.Fatalf("%s: not seen within 5s", what)
	}
	write(`{"identities":[{"namespace":"b","serviceAccount":"y"}]}`)
	eventually("reload", func() bool { return a.Has("b", "y") && !a.Has("a", "x") })
	write(`{not json`)
	time.Sleep(50 * time.Millisecond)
	if !a.Has("b", "y") {
		t.Error("a file that does not parse dropped the last good associations")
	}
	write("")
	eventually("an emptied file clears them", func() bool { return !a.Has("b", "y") })
	if (*Associations)(nil).Has("a", "x") {
		t.Error("nil associations have a/x")
	}
}
