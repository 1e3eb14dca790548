package mk8s

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzEnableAWSWorkloadIdentity: any file given to enable --manifest is edited or refused
// without a panic; an edit is idempotent (a second run changes nothing and returns the bytes
// it got) and never loses a cluster.
func FuzzEnableAWSWorkloadIdentity(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "manifests", "*"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("kind: mk8s\nname: a\nspec: {}\n"))
	f.Add([]byte("kind: mk8s\r\nname: a\r\nspec:\r\n  addOns: {}\r\n"))
	f.Add([]byte("---\n---\nkind: mk8s\n"))
	f.Add([]byte(`{"kind":"mk8s","name":"a","spec":{"addOns":{"awsWorkloadIdentity":{}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := EnableAWSWorkloadIdentity(data)
		if err != nil {
			var nm *NotManifestError
			if errors.As(err, &nm) && nm.Found == "" {
				t.Fatalf("a refusal that says nothing of what it found: %v", err)
			}
			return
		}
		again, err := EnableAWSWorkloadIdentity(res.Out)
		if err != nil {
			t.Fatalf("refuses its own output: %v\n%s", err, res.Out)
		}
		if len(again.Changed) != 0 || !bytes.Equal(again.Out, res.Out) {
			t.Fatalf("not idempotent: a second run changed %v\nfirst:\n%s\nsecond:\n%s", again.Changed, res.Out, again.Out)
		}
		if len(again.Unchanged) != len(res.Changed)+len(res.Unchanged) {
			t.Fatalf("clusters: first run %v + %v, second run %v", res.Changed, res.Unchanged, again.Unchanged)
		}
	})
}
