package mk8s

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

// TestEnableAWSWorkloadIdentity edits each manifest in testdata/manifests; the golden file is
// the edited manifest. Comments, key order and layout are kept.
func TestEnableAWSWorkloadIdentity(t *testing.T) {
	tests := []struct {
		file               string
		changed, unchanged []string
	}{
		{file: "typical.yaml", changed: []string{"demo-cluster"}},
		{file: "no-addons.yaml", changed: []string{"edge"}},
		{file: "already.yaml", unchanged: []string{"done"}},
		{file: "flow-addons.yaml", changed: []string{"compact"}},
		{file: "empty-addons.yaml", changed: []string{"bare"}},
		{file: "multi-doc.yaml", changed: []string{"payments-cluster"}, unchanged: []string{"payments-dr"}},
		{file: "crlf.yaml", changed: []string{"windows"}},
		{file: "no-final-newline.yaml", changed: []string{"no-eol"}},
		{file: "literal-last.yaml", changed: []string{"scripted"}},
		{file: "cluster.json", changed: []string{"from-json"}},
		{file: "flow-in-spec.yaml", changed: []string{"tagged"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "manifests", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := EnableAWSWorkloadIdentity(in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Changed, tt.changed) || !reflect.DeepEqual(res.Unchanged, tt.unchanged) {
				t.Fatalf("changed %v, unchanged %v; want %v, %v", res.Changed, res.Unchanged, tt.changed, tt.unchanged)
			}
			if len(tt.changed) == 0 && string(res.Out) != string(in) {
				t.Fatal("nothing to change, but the output differs from the input")
			}
			golden.RequireEqual(t, res.Out)

			// Idempotent: the edited manifest needs no edit.
			again, err := EnableAWSWorkloadIdentity(res.Out)
			if err != nil {
				t.Fatal(err)
			}
			if len(again.Changed) != 0 || string(again.Out) != string(res.Out) {
				t.Fatalf("a second edit changed %v", again.Changed)
			}
		})
	}
}

// TestTextEditKeepsEveryOtherLine: where the text edit applies, the output is the input with
// the new lines inserted and nothing else changed.
func TestTextEditKeepsEveryOtherLine(t *testing.T) {
	inserted := regexp.MustCompile(`^ *(addOns:|awsWorkloadIdentity: \{\})\r?\n$`)
	for _, file := range []string{"typical.yaml", "no-addons.yaml", "multi-doc.yaml", "crlf.yaml", "flow-in-spec.yaml"} {
		in, err := os.ReadFile(filepath.Join("testdata", "manifests", file))
		if err != nil {
			t.Fatal(err)
		}
		res, err := EnableAWSWorkloadIdentity(in)
		if err != nil {
			t.Fatal(err)
		}
		inLines := strings.SplitAfter(string(in), "\n")
		j := 0
		for _, l := range strings.SplitAfter(string(res.Out), "\n") {
			switch {
			case j < len(inLines) && l == inLines[j]:
				j++
			case !inserted.MatchString(l):
				t.Errorf("%s: line %q is neither the input's next line nor an inserted one", file, l)
			}
		}
		if j != len(inLines) {
			t.Errorf("%s: input lines from %q on are missing", file, inLines[j])
		}
	}
}

func TestNotAManifest(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		notManifest       bool
	}{
		{name: "empty", in: "", wantErr: "not a Control Plane mk8s cluster manifest (kind: mk8s): found an empty file", notManifest: true},
		{name: "gvc", in: "kind: gvc\nname: x\n", wantErr: "found kind: gvc at line 1", notManifest: true},
		{name: "kubernetes object", in: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", wantErr: "found apiVersion: v1, kind: ConfigMap at line 1 (a Kubernetes object", notManifest: true},
		{name: "several kinds", in: "kind: gvc\n---\nkind: workload\n", wantErr: "found kind: gvc at line 1, kind: workload at line 3", notManifest: true},
		{name: "a list", in: "- a\n- b\n", wantErr: "found a YAML list at line 1", notManifest: true},
		{name: "no kind", in: "name: x\n", wantErr: "found a mapping with no kind at line 1", notManifest: true},
		{name: "not yaml", in: "kind: mk8s\nspec: [\n", wantErr: "not valid YAML: line 2: did not find expected node content"},
		{name: "no spec", in: "kind: mk8s\nname: x\n", wantErr: "mk8s x at line 1 has no spec mapping"},
		{name: "addOns is a string", in: "kind: mk8s\nname: x\nspec:\n  addOns: all\n", wantErr: "mk8s x: spec.addOns at line 4 is a string, not a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EnableAWSWorkloadIdentity([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			var nm *NotManifestError
			if errors.As(err, &nm) != tt.notManifest {
				t.Fatalf("err %T, NotManifestError %t", err, tt.notManifest)
			}
		})
	}
}
