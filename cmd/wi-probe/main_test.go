package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/exitcode"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

// bareDeps is a pod with no identity at all: no AWS env, no files.
func bareDeps() probe.Deps {
	return probe.Deps{
		Getenv:   func(string) string { return "" },
		ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist },
		Now:      time.Now,
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		deps       probe.Deps
		wantCode   int
		wantErrOut string // a part of stderr
		wantResult check.Status
	}{
		{name: "unknown flag", args: []string{"--no-such-flag"}, deps: bareDeps(), wantCode: exitcode.Usage, wantErrOut: "unknown flag: --no-such-flag"},
		{name: "the plugin's subcommand word is not an argument", args: []string{"probe", "--in-pod"}, deps: bareDeps(), wantCode: exitcode.Usage, wantErrOut: `takes no arguments, got ["probe"]`},
		{name: "a subject that is no service account", args: []string{"--expected-subject", "alice"}, deps: bareDeps(), wantCode: exitcode.Usage, wantErrOut: "--expected-subject must be system:serviceaccount:NAMESPACE:NAME"},
		{name: "negative expiration", args: []string{"--expected-expiration=-1"}, deps: bareDeps(), wantCode: exitcode.Usage, wantErrOut: "--expected-expiration must be 0 or more"},
		{name: "help", args: []string{"--help"}, deps: bareDeps(), wantCode: exitcode.OK, wantErrOut: "--expected-role-arn"},
		{name: "a pod without identity fails its checks", args: []string{"--expected-subject", "system:serviceaccount:shop:checkout"}, deps: bareDeps(), wantCode: exitcode.CheckFailed, wantResult: check.StatusFail},
		{name: "no process to read is the environment's failure", args: nil, deps: probe.Deps{}, wantCode: exitcode.Environment, wantErrOut: "probe failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, tt.deps, &out, &errOut)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.wantErrOut) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), tt.wantErrOut)
			}
			if tt.wantResult == "" {
				return
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var last check.Event
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
				t.Fatalf("last line is no event: %v\n%s", err, out.String())
			}
			if last.Type != check.TypeResult || last.Status != tt.wantResult {
				t.Errorf("last event %+v, want a %s result", last, tt.wantResult)
			}
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	if code := run(ctx, nil, bareDeps(), &out, &errOut); code != exitcode.Interrupted {
		t.Errorf("exit %d after the context ended, want %d", code, exitcode.Interrupted)
	}
}

// The probe image is small because this binary links only the probe: no Kubernetes client,
// no CLI framework, no terminal UI. depguard checks direct imports; this checks them all.
func TestLinksOnlyTheProbe(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	forbidden := []string{"k8s.io/client-go", "k8s.io/cli-runtime", "github.com/spf13/cobra", "github.com/charmbracelet", "github.com/kubectl-wi/kubectl-wi/pkg/plugin"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("wi-probe links %s", dep)
			}
		}
	}
}
