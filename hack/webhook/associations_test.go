package webhook

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	// Every line the watcher logs, in order: each reload and each refusal is one, so the test
	// waits for the watcher's own word that it read a file rather than for a while.
	logged := make(chan string, 16)
	a := &Associations{}
	if err := a.Watch(t.Context(), file, 10*time.Millisecond, func(f string, args ...any) { logged <- fmt.Sprintf(f, args...) }); err != nil {
		t.Fatal(err)
	}
	if !a.Has("a", "x") || a.Has("a", "y") || a.Has("b", "x") {
		t.Fatal("after the first load: want exactly a/x")
	}
	next := func(what string) string {
		t.Helper()
		select {
		case line := <-logged:
			return line
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the watcher logged nothing within 5s", what)
			return ""
		}
	}
	write(`{"identities":[{"namespace":"b","serviceAccount":"y"}]}`)
	if line := next("reload"); !strings.Contains(line, "reloaded") {
		t.Fatalf("after a good file the watcher logged %q, want a reload", line)
	}
	if !a.Has("b", "y") || a.Has("a", "x") {
		t.Fatal("after the reload: want exactly b/y")
	}
	write(`{not json`)
	if line := next("a file that does not parse"); !strings.Contains(line, "failed to parse") {
		t.Fatalf("after a file that does not parse the watcher logged %q, want the parse error", line)
	}
	if !a.Has("b", "y") {
		t.Error("a file that does not parse dropped the last good associations")
	}
	write("")
	if line := next("an emptied file"); !strings.Contains(line, "reloaded") {
		t.Fatalf("after an emptied file the watcher logged %q, want a reload", line)
	}
	if a.Has("b", "y") {
		t.Error("an emptied file kept the associations")
	}
	if (*Associations)(nil).Has("a", "x") {
		t.Error("nil associations have a/x")
	}
}
