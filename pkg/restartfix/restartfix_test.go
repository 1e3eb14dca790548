package restartfix

import "testing"

func TestFor(t *testing.T) {
	tests := []struct {
		name string
		w    Workload
		want string
		roll bool
	}{
		{"deployment", Workload{Kind: "deployment.apps", Name: "web", Namespace: "shop"}, "kubectl rollout restart deployment/web -n shop", true},
		{"paused deployment", Workload{Kind: "deployment", Name: "web", Namespace: "shop", Paused: true},
			"kubectl rollout resume deployment/web -n shop && kubectl rollout restart deployment/web -n shop; the deployment is paused: a restart waits for the resume", false},
		{"statefulset", Workload{Kind: "statefulset.apps", Name: "db", Namespace: "shop"}, "kubectl rollout restart statefulset/db -n shop", true},
		{"OnDelete statefulset", Workload{Kind: "statefulset", Name: "db", Namespace: "shop", OnDelete: true, Pods: []string{"db-1", "db-0"}},
			"kubectl delete pod db-0 db-1 -n shop; updateStrategy OnDelete: the controller replaces only pods that are deleted", false},
		{"daemonset", Workload{Kind: "daemonset", Name: "agent", Namespace: "kube"}, "kubectl rollout restart daemonset/agent -n kube", true},
		{"OnDelete daemonset", Workload{Kind: "daemonset.apps", Name: "agent", Namespace: "kube", OnDelete: true, Pods: []string{"agent-x"}},
			"kubectl delete pod agent-x -n kube; updateStrategy OnDelete: the controller replaces only pods that are deleted", false},
		{"job", Workload{Kind: "job.batch", Name: "migrate", Namespace: "shop"}, "kubectl delete job migrate -n shop; create the job again from its manifest", false},
		{"cronjob", Workload{Kind: "cronjob.batch", Name: "nightly", Namespace: "shop", Job: "nightly-1"},
			"kubectl delete job nightly-1 -n shop && kubectl create job --from=cronjob/nightly nightly-1-rerun -n shop; or wait for its next run", false},
		{"bare pod", Workload{Kind: "pod", Name: "p", Namespace: "shop"}, "kubectl delete pod p -n shop; create the pod again from its manifest: pods are never mutated once running", false},
		{"foreign controller", Workload{Kind: "rollout.argoproj.io", Name: "r", Namespace: "shop", Pods: []string{"r-b", "r-a"}},
			"kubectl delete pod r-a r-b -n shop; rollout.argoproj.io/r creates them again", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := For(tt.w)
			if got.String() != tt.want || got.Rollout != tt.roll {
				t.Fatalf("For = %q (rollout %t)\nwant  %q (rollout %t)", got.String(), got.Rollout, tt.want, tt.roll)
			}
		})
	}
}
