package plugin

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/annotate"
	"github.com/kubectl-wi/kubectl-wi/pkg/monitor"
	"github.com/kubectl-wi/kubectl-wi/pkg/monitorinstall"
)

var monitorNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// runMonitor runs `kubectl wi args...` against client, with no PrometheusRule CRD served.
func runMonitor(t *testing.T, client *fake.Clientset, args ...string) result {
	t.Helper()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig")) // never a real cluster
	d := defaultDeps()
	d.newClient = func(*genericclioptions.ConfigFlags) (kubernetes.Interface, error) { return client, nil }
	d.newCustom = func(*genericclioptions.ConfigFlags) (*annotate.CustomClients, error) {
		return &annotate.CustomClients{Discovery: client.Discovery()}, nil
	}
	d.rolloutPoll = time.Millisecond
	d.now = func() time.Time { return monitorNow }
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code := run(context.Background(), streams, args, d)
	return result{code: code, out: out.String(), errOut: errOut.String(), client: client}
}

func writes(c *fake.Clientset) []string {
	var out []string
	for _, a := range c.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

func TestMonitorInstall(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    []string
		wantErr    string
		wantWrites bool
		outIsRules bool // stdout is the rules file alone, so that it can be redirected to one
	}{
		{
			name:     "client dry run prints the manifests and touches nothing",
			args:     []string{"monitor", "install", "--dry-run=client", "-o", "yaml", "--interval", "20s", "--prometheus-rules"},
			wantOut:  []string{"kind: Namespace", "---\n", "kind: Deployment", "- --interval=20s", "kind: PrometheusRule", "alert: KubectlWIIdentityBroken"},
			wantCode: 0,
		},
		{
			name:    "client dry run, names",
			args:    []string{"monitor", "install", "--dry-run=client", "-o", "name", "--namespaces", "shop"},
			wantOut: []string{"namespace/kubectl-wi-system\n", "role.rbac.authorization.k8s.io/kubectl-wi-monitor\n", "deployment.apps/kubectl-wi-monitor\n"},
		},
		{
			name:       "install writes with server-side apply",
			args:       []string{"monitor", "install", "-n", "monitoring"},
			wantOut:    []string{"namespace/monitoring created\n", "deployment.apps/kubectl-wi-monitor created\n"},
			wantWrites: true,
		},
		{
			name:       "no PrometheusRule CRD: the rules file printed alone, what was written on stderr",
			args:       []string{"monitor", "install", "--prometheus-rules"},
			wantOut:    []string{"groups:\n- name: kubectl-wi-monitor"},
			wantErr:    "deployment.apps/kubectl-wi-monitor created\n",
			wantWrites: true,
			outIsRules: true,
		},
		{name: "bad interval", args: []string{"monitor", "install", "--interval", "0s"}, wantCode: ExitUsage, wantErr: "--interval 0s"},
		{
			name: "a private endpoint for the monitor's own AWS calls",
			args: []string{"monitor", "install", "--dry-run=client", "-o", "yaml", "--aws-role-arn", "arn:aws:iam::111122223333:role/kubectl-wi-monitor",
				"--aws-endpoint-url", "sts=https://sts.internal.example", "--aws-endpoint-url", "iam=https://iam.internal.example"},
			wantOut: []string{"eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/kubectl-wi-monitor",
				"- name: AWS_ENDPOINT_URL_IAM\n          value: https://iam.internal.example\n        - name: AWS_ENDPOINT_URL_STS\n          value: https://sts.internal.example\n"},
		},
		{name: "bad endpoint", args: []string{"monitor", "install", "--aws-endpoint-url", "sts=sts.internal.example"}, wantCode: ExitUsage, wantErr: "--aws-endpoint-url sts="},
		{name: "endpoint without a service", args: []string{"monitor", "install", "--aws-endpoint-url", "https://aws.internal.example"}, wantCode: ExitUsage, wantErr: "--aws-endpoint-url"},
		{name: "bad role", args: []string{"monitor", "install", "--aws-role-arn", "arn:aws:iam::1:role/x"}, wantCode: ExitUsage, wantErr: "--aws-role-arn"},
		{name: "bad namespaces", args: []string{"monitor", "install", "--namespaces", "Shop"}, wantCode: ExitUsage, wantErr: `--namespaces "Shop"`},
		{name: "bad sts endpoint", args: []string{"monitor", "install", "--sts-endpoint", "sts.local"}, wantCode: ExitUsage, wantErr: "--sts-endpoint"},
		{name: "missing CA bundle", args: []string{"monitor", "install", "--ca-bundle", "/nonexistent.pem"}, wantCode: ExitUsage, wantErr: "--ca-bundle: cannot read"},
		{name: "bad output", args: []string{"monitor", "install", "-o", "wide"}, wantCode: ExitUsage, wantErr: "wide"},
		{name: "bad dry run", args: []string{"monitor", "install", "--dry-run=maybe"}, wantCode: ExitUsage, wantErr: "--dry-run"},
		{name: "bad cluster name", args: []string{"monitor", "install", "--cluster-name", "prod eu"}, wantCode: ExitUsage, wantErr: "--cluster-name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMonitor(t, fake.NewClientset(), tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nout: %s\nerr: %s", r.code, tt.wantCode, r.out, r.errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(r.out, w) {
					t.Errorf("out lacks %q:\n%s", w, r.out)
				}
			}
			if tt.wantErr != "" && !strings.Contains(r.errOut, tt.wantErr) {
				t.Errorf("err lacks %q:\n%s", tt.wantErr, r.errOut)
			}
			if tt.outIsRules {
				var rules monitorinstall.RulesFile
				if !strings.HasPrefix(r.out, "groups:") || yaml.UnmarshalStrict([]byte(r.out), &rules) != nil || len(rules.Groups) == 0 {
					t.Errorf("out is not a rules file alone:\n%s", r.out)
				}
			}
			if got := writes(r.client); (len(got) > 0) != tt.wantWrites {
				t.Errorf("writes %q, want writes: %v", got, tt.wantWrites)
			}
		})
	}
}

// Install's manifests are valid objects of their kinds: what GitOps applies.
func TestMonitorInstallManifestsDecode(t *testing.T) {
	r := runMonitor(t, fake.NewClientset(), "monitor", "install", "--dry-run=client", "-o", "yaml")
	for _, doc := range strings.Split(r.out, "---\n") {
		var obj map[string]any
		if err := yaml.UnmarshalStrict([]byte(doc), &obj); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if obj["kind"] == nil || obj["apiVersion"] == nil {
			t.Errorf("document without kind or apiVersion:\n%s", doc)
		}
	}
}

func TestMonitorUninstall(t *testing.T) {
	client := fake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "wi-probe-abcde", Labels: map[string]string{
		"app.kubernetes.io/name": "kubectl-wi-probe", "app.kubernetes.io/managed-by": "kubectl-wi-monitor",
	}}})
	if r := runMonitor(t, client, "monitor", "install"); r.code != 0 {
		t.Fatalf("install: exit %d: %s", r.code, r.errOut)
	}
	r := runMonitor(t, client, "monitor", "uninstall")
	if r.code != 0 {
		t.Fatalf("uninstall: exit %d: %s", r.code, r.errOut)
	}
	for _, w := range []string{"deployment.apps/kubectl-wi-monitor -n kubectl-wi-system deleted\n", "pod/wi-probe-abcde -n shop deleted\n", "namespace/kubectl-wi-system deleted\n"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("out lacks %q:\n%s", w, r.out)
		}
	}
	again := runMonitor(t, client, "monitor", "uninstall")
	if again.code != 0 || again.out != "" || !strings.Contains(again.errOut, "nothing to remove") {
		t.Errorf("rerun: exit %d, out %q, err %q", again.code, again.out, again.errOut)
	}
}

func TestMonitorStatus(t *testing.T) {
	status := monitor.Status{
		Updated: monitorNow.Add(-30 * time.Second), Leader: "kubectl-wi-monitor-7d9-abc", WebhookUp: true, AgentReady: false,
		AWSReads: "not configured: no AWS credentials",
		Accounts: []monitor.AccountStatus{
			{Namespace: "shop", ServiceAccount: "cart", Identity: "irsa", Verified: true, LastRun: monitorNow.Add(-90 * time.Second)},
			{
				Namespace: "shop", ServiceAccount: "orders", Identity: "irsa", StalePods: 2, LastRun: monitorNow.Add(-20 * time.Minute),
				FailedChecks: []monitor.Check{{Check: "sts.assume", Message: "AccessDenied", Fix: "kubectl wi trust-policy serviceaccount/orders -n shop"}},
			},
		},
	}
	raw, err := json.Marshal(status)
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kubectl-wi-system", Name: "kubectl-wi-monitor-status"}, Data: map[string]string{"status.json": string(raw)}}
	tests := []struct {
		name     string
		objs     []runtime.Object
		args     []string
		wantCode int
		want     []string
		wantErr  string
	}{
		{
			name: "table", objs: []runtime.Object{cm}, args: []string{"monitor", "status"},
			want: []string{
				"Monitor: last round 30s ago by kubectl-wi-monitor-7d9-abc; webhook up; Pod Identity agent not ready; AWS reads not configured: no AWS credentials\n",
				"NAMESPACE  SERVICE ACCOUNT  IDENTITY  VERIFIED  FAILED CHECKS  STALE PODS  AGE\n",
				"shop       cart             irsa      yes       -              0           90s\n",
				"shop       orders           irsa      NO        sts.assume     2           20m\n",
				"Fixes:\n  shop/orders sts.assume: kubectl wi trust-policy serviceaccount/orders -n shop\n",
			},
		},
		{
			name: "json with ages", objs: []runtime.Object{cm}, args: []string{"monitor", "status", "-o", "json"},
			want: []string{`"ageSeconds": 30`, `"serviceAccount": "orders"`, `"ageSeconds": 1200`, `"check": "sts.assume"`},
		},
		{name: "not installed", args: []string{"monitor", "status"}, wantCode: ExitUsage, wantErr: "no monitor status in namespace kubectl-wi-system"},
		{name: "another namespace", objs: []runtime.Object{cm}, args: []string{"monitor", "status", "-n", "monitoring"}, wantCode: ExitUsage, wantErr: "namespace monitoring"},
		{name: "bad output", objs: []runtime.Object{cm}, args: []string{"monitor", "status", "-o", "wide"}, wantCode: ExitUsage, wantErr: "wide"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMonitor(t, fake.NewClientset(tt.objs...), tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nout: %s\nerr: %s", r.code, tt.wantCode, r.out, r.errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.out, w) {
					t.Errorf("out lacks %q:\n%s", w, r.out)
				}
			}
			if tt.wantErr != "" && !strings.Contains(r.errOut, tt.wantErr) {
				t.Errorf("err lacks %q:\n%s", tt.wantErr, r.errOut)
			}
		})
	}
}
