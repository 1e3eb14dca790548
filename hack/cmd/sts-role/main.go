// Command sts-role adds roles to the AWS stand-in's configuration, or replaces those of the
// same name, editing the file as data: every other key stays whatever its place, and the file
// stays 0600 (it holds the test user's keys). The stand-in reads the file again when it
// changes. Scripts use it where the e2e tests use their own helper.
//
//	sts-role -config $WI_STATE/sts.yaml NAME TRUST_POLICY_JSON [NAME TRUST_POLICY_JSON...]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"
)

func main() {
	config := flag.String("config", "", "the stand-in's configuration file (required)")
	flag.Parse()
	if err := run(*config, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "sts-role:", err)
		os.Exit(2)
	}
}

type role struct {
	Name        string          `json:"name"`
	TrustPolicy json.RawMessage `json:"trustPolicy"`
}

func run(path string, args []string) error {
	if path == "" || len(args) == 0 || len(args)%2 != 0 {
		return errors.New("usage: sts-role -config FILE NAME TRUST_POLICY_JSON [NAME TRUST_POLICY_JSON...]")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	roles, _ := cfg["roles"].([]any)
	for i := 0; i < len(args); i += 2 {
		name, policy := args[i], args[i+1]
		if !json.Valid([]byte(policy)) {
			return fmt.Errorf("the trust policy of %s is not JSON", name)
		}
		roles = slices.DeleteFunc(roles, func(r any) bool {
			m, ok := r.(map[string]any)
			return ok && m["name"] == name
		})
		roles = append(roles, role{Name: name, TrustPolicy: json.RawMessage(policy)})
	}
	cfg["roles"] = roles
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sts-role-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(out); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
