//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// TestStatusFixesAreTheOnesThatWork: for a paused Deployment and an OnDelete StatefulSet whose
// pods predate the role, enable and status print the same commands, and those commands, run
// as printed by a shell with real kubectl, give both workloads pods that carry the role.
func TestStatusFixesAreTheOnesThatWork(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	sfAccount(t, c, ns, "app", nil, nil)
	stDeployment(t, c, ns, "paused", "app", 1, e.idleImage)
	db := map[string]string{"app": "db"}
	if _, err := c.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](1), ServiceName: "db",
			Selector:       &metav1.LabelSelector{MatchLabels: db},
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType},
			Template:       corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: db}, Spec: enPodSpec(e)},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stWaitRunning(t, c, ns, "app in (paused, db)", 2)
	if _, err := c.AppsV1().Deployments(ns).Patch(ctx, "paused", types.MergePatchType, []byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	resume := "kubectl rollout resume deployment/paused -n " + ns + " && kubectl rollout restart deployment/paused -n " + ns
	deletePod := "kubectl delete pod db-0 -n " + ns
	r := e.wi(t, "enable", "app", "-n", ns, "--role-arn", enRole)
	if r.code != 0 || !strings.Contains(r.stdout, "deployment.apps/paused needs a manual restart: "+resume+"  #") ||
		!strings.Contains(r.stdout, "statefulset.apps/db needs a manual restart: "+deletePod+"  #") {
		t.Fatalf("enable: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = e.wi(t, "status", "-n", ns, "-o", "json")
	var report struct {
		Findings []struct{ Check, Object, Fix string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &report); r.code != 0 || err != nil {
		t.Fatalf("status -o json: exit %d, %v\n%s", r.code, err, r.stderr)
	}
	fixes := map[string]string{}
	for _, f := range report.Findings {
		if f.Check == "stale-pods" {
			fixes[f.Object] = f.Fix
		}
	}
	for obj, cmd := range map[string]string{"deployment/paused": resume, "statefulset/db": deletePod} {
		if !strings.HasPrefix(fixes[obj], cmd) {
			t.Fatalf("status fix for %s: %q, want %q (what enable prints)", obj, fixes[obj], cmd)
		}
	}

	// verify of the deployment says its pods are stale, with the same command.
	r = e.wi(t, e.verifyArgs(ns, "deployment/paused", e.stsEndpoint, "-o", "json")...)
	found := false
	for _, line := range strings.Split(r.stdout, "\n") {
		var ev struct{ Check, Status, Fix string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Check == "outside.workload_pods" {
			found = true
			if ev.Status != "warn" || ev.Fix != resume {
				t.Errorf("verify deployment/paused: outside.workload_pods %s, fix %q; want warn, %q", ev.Status, ev.Fix, resume)
			}
		}
	}
	if !found {
		t.Errorf("verify deployment/paused reports no outside.workload_pods:\n%s\n%s", r.stdout, r.stderr)
	}

	// Run each fix exactly as printed.
	path := t.TempDir()
	if err := os.Symlink(filepath.Join(e.k8s, "kubectl"), filepath.Join(path, "kubectl")); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []string{"deployment/paused", "statefulset/db"} {
		fix, _, _ := strings.Cut(fixes[obj], ";") // the command, then a note
		cmd := exec.Command("sh", "-c", fix)
		cmd.Env = append(os.Environ(), "PATH="+path+":/usr/bin:/bin")
		if r := e.run(t, cmd); r.code != 0 {
			t.Fatalf("%s: %q: exit %d\n%s%s", obj, fix, r.code, r.stdout, r.stderr)
		}
	}
	waitFor(t, 150*time.Second, "no stale pods in "+ns, func(ctx context.Context) (bool, error) {
		r := e.wi(t, "status", "-n", ns, "-o", "jsonpath={.serviceAccounts[0].pods.stale}/{.serviceAccounts[0].pods.injected}")
		return r.code == 0 && r.stdout == "0/2", nil
	})
}

// TestConventions: what a kubectl user reaches for works as in kubectl, against the cluster.
func TestConventions(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	sfAccount(t, c, ns, "app", map[string]string{enRoleKey: enRole}, map[string]string{"team": "payments"})
	sfAccount(t, c, ns, "other", map[string]string{enRoleKey: "arn:aws:iam::111122223333:role/other"}, nil)
	sfDeployment(t, c, ns, "web", "app")

	agent := enAgent()
	mark := e.enAuditMark(t)
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"status", "-n", ns, "--request-timeout=abc"}, `--request-timeout "abc" is not a duration`},
		{[]string{"enable", "app", "-n", ns, "--role-arn", enRole, "--request-timeout=abc"}, `--request-timeout "abc"`},
		{[]string{"verify", "app", "-n", ns, "--role-arn", enRole + " "}, `invalid --role-arn: role ARN "` + enRole + ` " has role name "app "`},
		{[]string{"status", "-n", ns, "-o", "table"}, `--output "table" is not supported: allowed formats are wide, json, yaml, jsonpath=TEMPLATE`},
		{[]string{"enable", "app", "-n", ns, "--role-arn", enRole, "-o", "table"}, `--output "table" is not supported: allowed formats are yaml, json, name`},
		{[]string{"trust-policy", "deployment", "web", "-n", ns}, "write deployment/web"},
		{[]string{"verify", "deployment", "web", "-n", ns}, "write deployment/web"},
		{[]string{"verify", "ap", "-n", ns}, `serviceaccount "ap" not found in namespace "` + ns + `"; did you mean serviceaccount/app?`},
		{[]string{"verify", "deploy/wbe", "-n", ns}, `deployment.apps "wbe" not found in namespace "` + ns + `"; did you mean deployment/web?`},
		{[]string{"verify", "app", "-n", ns + "-gone"}, `namespace "` + ns + `-gone" not found`},
	} {
		r := e.enWI(t, agent, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	// A bare --dry-run is kubectl's: client, nothing sent.
	r := e.enWI(t, agent, "enable", "other", "-n", ns, "--role-arn", enRole, "--overwrite", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "(dry run)") || !strings.Contains(r.stderr, "--dry-run is deprecated and can be replaced with --dry-run=client") {
		t.Errorf("bare --dry-run: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if writes := enWrites(mark.by(t, c, ns, agent), agent); len(writes) > 0 {
		t.Errorf("%d writes, want 0: %v", len(writes), writes)
	}
	if pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{}); err != nil || len(pods.Items) > 0 {
		t.Errorf("pods in %s after refused runs: %v (err %v)", ns, pods.Items, err)
	}

	r = e.wi(t, "status", "-n", ns, "-l", "team=payments", "-o", "jsonpath={.serviceAccounts[*].name}")
	if r.code != 0 || r.stdout != "app" {
		t.Errorf("status -l team=payments: exit %d, stdout %q, stderr %q; want app alone", r.code, r.stdout, r.stderr)
	}
	r = e.wi(t, "status", "-n", ns, "-o", "yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "serviceAccounts:") || !strings.Contains(r.stdout, "name: other") {
		t.Errorf("status -o yaml: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = e.wi(t, "trust-policy", "deployment/web", "-n", ns, "-o", "yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "system:serviceaccount:"+ns+":app") {
		t.Errorf("trust-policy deployment/web -o yaml: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = e.wi(t, "trust-policy", "ghost", "-n", ns, "-o", "json", "--account-id", "111122223333")
	if r.code != 0 || !strings.Contains(r.stderr, "Warning: service account "+ns+"/ghost does not exist") {
		t.Errorf("trust-policy of a missing account: exit %d, stderr %q; want 0 and a warning", r.code, r.stderr)
	}
	r = e.wi(t, "version", "-o", "json")
	var v struct{ Version string }
	if err := json.Unmarshal([]byte(r.stdout), &v); r.code != 0 || err != nil || v.Version == "" {
		t.Errorf("version -o json: exit %d, %v: %q", r.code, err, r.stdout)
	}
}
