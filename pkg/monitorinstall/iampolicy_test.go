package monitorinstall

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// The monitor's role runs explain's checks, so its read-only policy allows exactly explain's
// actions and nothing that writes.
func TestMonitorPolicyIsExplainsReads(t *testing.T) {
	actions := func(file string) []string {
		t.Helper()
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Statement []struct {
				Effect string
				Action []string
			}
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var out []string
		for _, s := range doc.Statement {
			if s.Effect != "Allow" {
				t.Errorf("%s: a %s statement", file, s.Effect)
			}
			out = append(out, s.Action...)
		}
		slices.Sort(out)
		return out
	}
	monitor, explain := actions("../../deploy/iam/monitor-policy.json"), actions("../../deploy/iam/explain-policy.json")
	if !slices.Equal(monitor, explain) {
		t.Errorf("monitor-policy.json allows %q, explain-policy.json %q", monitor, explain)
	}
	for _, a := range monitor {
		if !slices.ContainsFunc([]string{":Get", ":List", ":Describe"}, func(read string) bool { return strings.Contains(a, read) }) {
			t.Errorf("%s is not a read", a)
		}
	}
}
