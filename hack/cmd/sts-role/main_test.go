package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The file as the e2e suite leaves it: roles is not the last key, and other keys must stay.
const suiteLeft = `account: "111122223333"
roles:
- name: old
  trustPolicy: {Version: "2012-10-17"}
- name: kept
  trustPolicy: {Version: "2012-10-17"}
users:
- arn: arn:aws:iam::111122223333:user/kubectl-wi-e2e
  accessKeyId: AKIAEXAMPLE
`

func TestRunAddsAndReplacesRoles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sts.yaml")
	if err := os.WriteFile(path, []byte(suiteLeft), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(path, []string{"old", `{"Version":"2012-10-17","Statement":[]}`, "new", `{"Version":"2012-10-17"}`}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	var cfg struct {
		Account string           `json:"account"`
		Users   []map[string]any `json:"users"`
		Roles   []struct {
			Name        string         `json:"name"`
			TrustPolicy map[string]any `json:"trustPolicy"`
		} `json:"roles"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range cfg.Roles {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, ","); got != "kept,old,new" {
		t.Errorf("roles %s, want kept,old,new", got)
	}
	if _, ok := cfg.Roles[1].TrustPolicy["Statement"]; !ok {
		t.Errorf("old was not replaced: %v", cfg.Roles[1].TrustPolicy)
	}
	if cfg.Account != "111122223333" || len(cfg.Users) != 1 || cfg.Users[0]["accessKeyId"] != "AKIAEXAMPLE" {
		t.Errorf("other keys changed: %s", raw)
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sts.yaml")
	if err := os.WriteFile(path, []byte(suiteLeft), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, {"odd"}, {"r", "{not json"}} {
		if err := run(path, args); err == nil {
			t.Errorf("run(%q) took bad input", args)
		}
	}
	if raw, _ := os.ReadFile(path); string(raw) != suiteLeft {
		t.Errorf("the file changed on bad input:\n%s", raw)
	}
}
