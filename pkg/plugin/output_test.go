package plugin

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

func TestStatusSelectorAndFormats(t *testing.T) {
	pay := kt.ServiceAccount("shop", "pay", map[string]string{identity.AnnotationRoleARN: roleARN}) // labelled team=payments
	other := kt.ServiceAccount("shop", "other", map[string]string{identity.AnnotationRoleARN: kt.OtherRoleARN})
	other.Labels = map[string]string{"team": "search"}
	web := kt.Deployment("shop", "web", "other")
	client := func() *fake.Clientset { return fake.NewClientset(pay, other, web, kt.PodOf(web, "web-1", "")) }

	r := runStatus(t, client(), "-n", "shop", "-l", "team=payments", "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.errOut)
	}
	var doc struct {
		ServiceAccounts []struct{ Name string }   `json:"serviceAccounts"`
		Findings        []struct{ Object string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.ServiceAccounts) != 1 || doc.ServiceAccounts[0].Name != "pay" {
		t.Fatalf("-l team=payments reported %+v", doc.ServiceAccounts)
	}
	for _, f := range doc.Findings {
		if f.Object == "deployment/web" {
			t.Fatalf("a finding about a workload of an account -l left out: %+v", doc.Findings)
		}
	}

	r = runStatus(t, client(), "-n", "shop", "-o", "yaml")
	var y map[string]any
	if err := yaml.Unmarshal([]byte(r.out), &y); r.code != ExitOK || err != nil || len(y["serviceAccounts"].([]any)) != 2 {
		t.Fatalf("-o yaml: exit %d, %v:\n%s", r.code, err, r.out)
	}
	r = runStatus(t, client(), "-n", "shop", "-o", `jsonpath={range .serviceAccounts[*]}{.name}={.roleARN}{"\n"}{end}`)
	if want := "other=" + kt.OtherRoleARN + "\npay=" + roleARN + "\n"; r.code != ExitOK || r.out != want {
		t.Fatalf("-o jsonpath: exit %d, stdout %q, want %q (stderr %q)", r.code, r.out, want, r.errOut)
	}
	r = runStatus(t, client(), "-o", "jsonpath={.serviceAccounts[")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "-o jsonpath") {
		t.Fatalf("bad jsonpath: exit %d, stderr %q", r.code, r.errOut)
	}
	r = runStatus(t, client(), "-l", "team in (")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "invalid -l selector") {
		t.Fatalf("bad selector: exit %d, stderr %q", r.code, r.errOut)
	}
}

func TestTrustPolicyWorkloadTargetAndFormats(t *testing.T) {
	issuer := tpStaticIssuer("https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE")
	client := func() *fake.Clientset {
		return fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "web-sa", map[string]string{identity.AnnotationRoleARN: roleARN}),
			kt.Deployment("shop", "web", "web-sa"))
	}
	bySA := runTrustPolicy(t, client(), issuer, "serviceaccount/web-sa", "-n", "shop", "-o", "json")
	byDeploy := runTrustPolicy(t, client(), issuer, "deployment/web", "-n", "shop", "-o", "json")
	if bySA.code != ExitOK || byDeploy.code != ExitOK || bySA.out != byDeploy.out || !strings.Contains(byDeploy.out, "system:serviceaccount:shop:web-sa") {
		t.Fatalf("deployment/web: exit %d, %s\nwant the policy of its account:\n%s", byDeploy.code, byDeploy.out+byDeploy.errOut, bySA.out)
	}
	r := runTrustPolicy(t, client(), issuer, "deployment/web", "-n", "shop", "-o", "yaml")
	if r.code != ExitOK || !strings.Contains(r.out, "Action: sts:AssumeRoleWithWebIdentity") {
		t.Fatalf("-o yaml: exit %d\n%s%s", r.code, r.out, r.errOut)
	}
	r = runTrustPolicy(t, client(), issuer, "web-sa", "-n", "shop", "-o", "jsonpath={.Statement[0].Principal.Federated}")
	if r.code != ExitOK || r.out != "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE" {
		t.Fatalf("-o jsonpath: exit %d, %q %q", r.code, r.out, r.errOut)
	}
	r = runTrustPolicy(t, fake.NewClientset(), issuer, "app", "-n", "nowhere", "--account-id", "111122223333")
	if r.code != ExitOK || !strings.Contains(r.errOut, `Warning: namespace "nowhere" does not exist`) {
		t.Fatalf("missing namespace: exit %d, stderr %q", r.code, r.errOut)
	}
}

func TestVersionOutput(t *testing.T) {
	r := runWI(t, fake.NewClientset(), "version", "-o", "json")
	var v struct{ Version, GoVersion, Platform string }
	if err := json.Unmarshal([]byte(r.out), &v); r.code != ExitOK || err != nil || v.Version != version || !strings.HasPrefix(v.GoVersion, "go") || !strings.Contains(v.Platform, "/") {
		t.Fatalf("version -o json: exit %d, %v: %q", r.code, err, r.out)
	}
	r = runWI(t, fake.NewClientset(), "version", "-o", "jsonpath={.version}")
	if r.code != ExitOK || r.out != version {
		t.Fatalf("version -o jsonpath: exit %d: %q", r.code, r.out)
	}
	r = runWI(t, fake.NewClientset(), "version", "-o", "yaml")
	if r.code != ExitOK || !strings.Contains(r.out, "version: "+version) {
		t.Fatalf("version -o yaml: exit %d: %q", r.code, r.out)
	}
}

func TestEnableJSONPath(t *testing.T) {
	r := runWI(t, fake.NewClientset(kt.ServiceAccount("shop", "app", nil)), "enable", "app", "-n", "shop", "--role-arn", roleARN,
		"--dry-run=client", "-o", `jsonpath={.metadata.annotations.eks\.amazonaws\.com/role-arn}`)
	if r.code != ExitOK || r.out != roleARN {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}
	r = runWI(t, fake.NewClientset(kt.ServiceAccount("shop", "app", nil)), "enable", "app", "-n", "shop", "--role-arn", roleARN, "-o", "jsonpath={.metadata")
	if r.code != ExitUsage || !strings.Contains(r.errOut, "-o jsonpath") || r.calls().Writes() != 0 {
		t.Fatalf("a bad template: exit %d, stderr %q", r.code, r.errOut)
	}
}
