package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

const mk8sManifest = `# the payments cluster
kind: mk8s
name: payments
spec:
  version: 1.28.4
  addOns:
    dashboard: {}   # behind SSO
`

func writeManifest(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEnableManifest(t *testing.T) {
	path := writeManifest(t, mk8sManifest)
	client := fake.NewClientset()
	r := runWI(t, client, "enable", "--manifest", path)
	wantCode(t, r, ExitOK)
	want := mk8sManifest + "    awsWorkloadIdentity: {}\n"
	if got := readFile(t, path); got != want {
		t.Fatalf("file =\n%s\nwant\n%s", got, want)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want the file's own 0640", info.Mode().Perm())
	}
	wantOut := "mk8s/payments configured (spec.addOns.awsWorkloadIdentity)\n" +
		"Next: apply it with the Control Plane CLI: cpln apply --file " + path + "\n" +
		"Then, once the cluster runs the add-on, give service accounts their roles: kubectl wi enable SERVICEACCOUNT -n NAMESPACE --role-arn ARN\n"
	if r.out != wantOut || r.errOut != "" {
		t.Fatalf("stdout = %q\nstderr = %q", r.out, r.errOut)
	}
	if len(client.Actions()) != 0 {
		t.Fatalf("--manifest called the cluster: %v", client.Actions())
	}

	// Again: unchanged, not written.
	before, _ := os.Stat(path)
	r = runWI(t, client, "enable", "--manifest", path)
	wantCode(t, r, ExitOK)
	after, _ := os.Stat(path)
	if !strings.HasPrefix(r.out, "mk8s/payments unchanged: spec.addOns.awsWorkloadIdentity is on already\nNothing to write.") || !after.ModTime().Equal(before.ModTime()) || readFile(t, path) != want {
		t.Fatalf("second run: stdout = %q, file rewritten %t", r.out, !after.ModTime().Equal(before.ModTime()))
	}
}

func TestEnableManifestPrints(t *testing.T) {
	for _, args := range [][]string{{"--dry-run=client"}, {"-o", "yaml"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			path := writeManifest(t, mk8sManifest)
			r := runWI(t, fake.NewClientset(), append([]string{"enable", "--manifest", path}, args...)...)
			wantCode(t, r, ExitOK)
			if r.out != mk8sManifest+"    awsWorkloadIdentity: {}\n" {
				t.Fatalf("stdout = %q", r.out)
			}
			if readFile(t, path) != mk8sManifest {
				t.Fatal("the file was written")
			}
			if !strings.HasPrefix(r.errOut, "mk8s/payments configured (spec.addOns.awsWorkloadIdentity) (") {
				t.Fatalf("stderr = %q", r.errOut)
			}
		})
	}
}

func TestEnableManifestErrors(t *testing.T) {
	gvc := writeManifest(t, "kind: gvc\nname: payments\n")
	missing := filepath.Join(t.TempDir(), "none.yaml")
	ok := writeManifest(t, mk8sManifest)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "not mk8s", args: []string{"--manifest", gvc},
			wantErr: "error: --manifest " + gvc + ": not a Control Plane mk8s cluster manifest (kind: mk8s): found kind: gvc at line 1\n"},
		{name: "missing file", args: []string{"--manifest", missing},
			wantErr: "error: cannot read --manifest " + missing + ": no such file or directory\n"},
		{name: "role", args: []string{"--manifest", ok, "--role-arn", roleARN},
			wantErr: "error: --role-arn cannot be combined with --manifest: the awsWorkloadIdentity add-on of a Control Plane cluster takes no role"},
		{name: "target", args: []string{"app", "--manifest", ok},
			wantErr: `error: --manifest edits a file and takes no TARGET, got ["app"]`},
		{name: "server dry run", args: []string{"--manifest", ok, "--dry-run=server"},
			wantErr: "error: --dry-run=server needs a server, and --manifest edits a file"},
		{name: "json", args: []string{"--manifest", ok, "-o", "json"},
			wantErr: `error: --output "json" is not supported: allowed formats are yaml (with --manifest`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runWI(t, fake.NewClientset(), append([]string{"enable"}, tt.args...)...)
			wantCode(t, r, ExitUsage)
			if !strings.HasPrefix(r.errOut, tt.wantErr) {
				t.Fatalf("stderr = %q\nwant prefix %q", r.errOut, tt.wantErr)
			}
			if readFile(t, ok) != mk8sManifest {
				t.Fatal("the manifest was written")
			}
		})
	}
}
