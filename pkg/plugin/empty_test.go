package plugin

import (
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

// TestVerifyEmptySelection: verify with no TARGET over no account is a gate that checked
// nothing: kubectl's "No ... found" on stderr and exit 1, or 0 with --allow-empty.
func TestVerifyEmptySelection(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantErrOut string
	}{
		{name: "a selector that matches nothing", args: []string{"verify", "-n", "shop", "-l", "x=y"}, wantCode: ExitCheckFailed,
			wantErrOut: "No service accounts found in shop namespace matching -l x=y.\nverify checked nothing: it judges the service accounts with an identity: an eks.amazonaws.com/role-arn annotation, or pods with EKS Pod Identity's container credentials (kubectl wi status lists them); a gate that checked nothing fails (exit 1): --allow-empty lets an empty selection pass.\n"},
		{name: "every namespace", args: []string{"verify", "-A", "-l", "x=y"}, wantCode: ExitCheckFailed, wantErrOut: "No service accounts found in any namespace matching -l x=y.\n"},
		{name: "a namespace of accounts without identity", args: []string{"verify", "-n", "plain"}, wantCode: ExitCheckFailed, wantErrOut: "No service accounts found in plain namespace.\n"},
		{name: "--in-pod, accounts with no workload", args: []string{"verify", "-n", "shop", "--in-pod"}, wantCode: ExitCheckFailed,
			wantErrOut: "No workloads found in shop namespace.\nverify --in-pod checked nothing: it judges the workloads that run as a service account with an identity"},
		{name: "--allow-empty", args: []string{"verify", "-n", "shop", "-l", "x=y", "--allow-empty"}, wantCode: ExitOK,
			wantErrOut: "No service accounts found in shop namespace matching -l x=y.\nverify checked nothing: it judges the service accounts with an identity: an eks.amazonaws.com/role-arn annotation, or pods with EKS Pod Identity's container credentials (kubectl wi status lists them) (--allow-empty: exit 0).\n"},
		{name: "--allow-empty with a TARGET", args: []string{"verify", "app", "-n", "shop", "--allow-empty"}, wantCode: ExitUsage,
			wantErrOut: "error: --allow-empty lets a selection of no service account pass: it applies with no TARGET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(kt.Namespace("shop"), kt.Namespace("plain"), kt.ServiceAccount("plain", "default", nil),
				kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: roleARN}))
			r := runWI(t, client, append(tt.args, "--image", "wi.local/kubectl-wi:dev")...)
			r.errOut = withoutAssociationsNote(r.errOut)
			if r.code != tt.wantCode || !strings.HasPrefix(r.errOut, tt.wantErrOut) || r.out != "" {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant %d and a stderr starting\n%s", r.code, r.out, r.errOut, tt.wantCode, tt.wantErrOut)
			}
			if strings.Contains(r.errOut, "No ") && strings.Contains(r.errOut, "error:") {
				t.Fatalf("the empty selection is printed as an error:\n%s", r.errOut)
			}
			if w := r.calls().Writes(); w != 0 {
				t.Fatalf("%d writes: %v", w, r.calls())
			}
		})
	}
}

// TestExplainEmptySelection: explain over no account says so on stderr and exits 1 (0 with
// --allow-empty); its verdict on stdout is not a pass.
func TestExplainEmptySelection(t *testing.T) {
	good := exAWS{trust: exTrust("system:serviceaccount:shop:app")}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string
		wantErrOut string
	}{
		{name: "a selector that matches nothing", args: []string{"-l", "x=y", "-o", "text"}, wantCode: ExitCheckFailed,
			wantOut:    "\nSKIP no service account judged: all 2 checks passed for 0 service accounts\n",
			wantErrOut: "No service accounts found in shop namespace matching -l x=y.\nexplain checked nothing: it judges the service accounts with an eks.amazonaws.com/role-arn annotation or an EKS Pod Identity association; Pod Identity associations not read: no EKS cluster named (pass --eks-cluster NAME"},
		{name: "--allow-empty", args: []string{"-l", "x=y", "-o", "text", "--allow-empty"}, wantCode: ExitOK,
			wantOut: "\nSKIP no service account judged", wantErrOut: "No service accounts found in shop namespace matching -l x=y.\n"},
		{name: "--allow-empty with a TARGET", args: []string{"app", "--allow-empty"}, wantCode: ExitUsage,
			wantErrOut: "error: --allow-empty lets a selection of no service account pass: it applies with no TARGET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runExplain(t, good, tt.args...)
			// runExplain prints an error as Main prints any, with "error: "; Main prints this one bare.
			errOut = strings.TrimPrefix(errOut, "error: ")
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) || !strings.HasPrefix(errOut, strings.TrimPrefix(tt.wantErrOut, "error: ")) {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant %d, %q and %q", code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErrOut)
			}
			if strings.Contains(out, "PASS all") {
				t.Fatalf("an empty selection passes:\n%s", out)
			}
		})
	}
}

// withoutAssociationsNote is stderr without the note that Pod Identity associations were not
// read (no EKS cluster in the tests' kubeconfig), which the tests of other lines set aside.
func withoutAssociationsNote(errOut string) string {
	var kept []string
	for _, l := range strings.SplitAfter(errOut, "\n") {
		if !strings.HasPrefix(l, "note: EKS Pod Identity associations were not read") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "")
}
