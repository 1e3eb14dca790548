package plugin

import (
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/inventory"
)

// status and enable print the same command for a workload whose stale pods a plain rollout
// restart cannot replace: both come from one place (pkg/restartfix).
func TestStatusAndEnableGiveTheSameFix(t *testing.T) {
	paused := kt.Deployment("shop", "paused", "app")
	paused.Spec.Paused = true
	db := kt.StatefulSet("shop", "db", "app")
	db.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
	web := kt.Deployment("shop", "web", "app")
	run := kt.Job("shop", "nightly-1", "app", "nightly")
	objs := func() []runtime.Object {
		return []runtime.Object{
			kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: roleARN}),
			paused, db, web, run,
			kt.PodOf(paused, "paused-1", ""), kt.PodOf(db, "db-0", ""), kt.PodOf(db, "db-1", ""), kt.PodOf(web, "web-1", ""),
			kt.PodOf(run, "nightly-1-x", ""), kt.PodOf("shop", "bare", "app"),
		}
	}
	want := map[string]string{
		"deployment/paused": "kubectl rollout resume deployment/paused -n shop && kubectl rollout restart deployment/paused -n shop",
		"statefulset/db":    "kubectl delete pod db-0 db-1 -n shop",
		"deployment/web":    "kubectl rollout restart deployment/web -n shop",
		"job/nightly-1":     "kubectl delete job nightly-1 -n shop && kubectl create job --from=cronjob/nightly nightly-1-rerun -n shop",
		"pod/bare":          "kubectl delete pod bare -n shop",
	}

	st := runStatus(t, fake.NewClientset(objs()...), "-n", "shop", "-o", "json")
	if st.code != ExitOK {
		t.Fatalf("status: exit %d: %s", st.code, st.errOut)
	}
	var doc inventory.Report
	if err := json.Unmarshal([]byte(st.out), &doc); err != nil {
		t.Fatal(err)
	}
	fixes := map[string]string{}
	for _, f := range doc.Findings {
		if f.Check == inventory.CheckStalePods {
			fixes[f.Object] = f.Fix
		}
	}
	en := runWI(t, fake.NewClientset(objs()...), "enable", "app", "-n", "shop", "--role-arn", roleARN, "--dry-run=client")
	wantCode(t, en, ExitOK)
	for obj, cmd := range want {
		if !strings.Contains(fixes[obj], cmd) {
			t.Errorf("status fix for %s = %q, want %q", obj, fixes[obj], cmd)
		}
		if obj == "deployment/web" {
			continue // enable restarts it itself
		}
		if !strings.Contains(en.out, cmd) {
			t.Errorf("enable does not print %q:\n%s", cmd, en.out)
		}
	}
	if strings.Contains(fixes["deployment/paused"], "restart it: kubectl rollout restart") {
		t.Errorf("status tells a paused deployment to restart: %q", fixes["deployment/paused"])
	}
}
