//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// The `status -o json` document, declared here rather than imported, so a renamed or retyped
// field fails this test: the JSON is a contract.
type stReport struct {
	ServiceAccounts []stAccount `json:"serviceAccounts"`
	Findings        []stFinding `json:"findings"`
	Warnings        []string    `json:"warnings"`
}

type stAccount struct {
	Namespace       string   `json:"namespace"`
	Name            string   `json:"name"`
	RoleARN         string   `json:"roleARN"`
	Audience        string   `json:"audience"`
	TokenExpiration int64    `json:"tokenExpiration"`
	Workloads       []string `json:"workloads"`
	Pods            stCounts `json:"pods"`
}

type stCounts struct {
	Total    int `json:"total"`
	Injected int `json:"injected"`
	Stale    int `json:"stale"`
	Skipped  int `json:"skipped"`
}

type stFinding struct {
	Severity  string `json:"severity"`
	Check     string `json:"check"`
	Namespace string `json:"namespace"`
	Object    string `json:"object"`
	Pods      int    `json:"pods"`
	Message   string `json:"message"`
	Fix       string `json:"fix"`
}

// TestStatus seeds a namespace with what `kubectl wi status` must tell apart, on the real node
// and through the webhook stand-in: pods that got their role, pods started before their account
// got one, pods that opted out, a container that sets AWS_ROLE_ARN itself (so the webhook leaves
// it alone), and a token-expiration annotation below what the webhook honours.
func TestStatus(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	role := func(name string) string {
		return fmt.Sprintf("arn:aws:iam::%s:role/status-%s", e.stsAccount, name)
	}
	annotated := func(name string) map[string]string {
		return map[string]string{"eks.amazonaws.com/role-arn": role(name)}
	}

	// late: its deployment's pod runs before the account is annotated, so it has no injection.
	serviceAccount(t, c, ns, "late", nil)
	stDeployment(t, c, ns, "late", "late", 1, e.idleImage)
	stWaitRunning(t, c, ns, "app=late", 1)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":%q}}}`, role("late"))
	if _, err := c.CoreV1().ServiceAccounts(ns).Patch(ctx, "late", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	// web: annotated first, so both pods of its deployment are injected.
	serviceAccount(t, c, ns, "web", annotated("web"))
	stDeployment(t, c, ns, "web", "web", 2, e.idleImage)

	// skip: its pod opts out with the skip label.
	serviceAccount(t, c, ns, "skip", annotated("skip"))
	skipped := e.idlePod("skipped", "skip")
	skipped.Labels = map[string]string{"eks.amazonaws.com/skip-pod-identity-webhook": "true"}
	stCreatePod(t, c, ns, skipped)

	// selfset: the sidecar sets AWS_ROLE_ARN itself; the webhook injects the app container only.
	serviceAccount(t, c, ns, "selfset", annotated("selfset"))
	selfset := e.idlePod("selfset", "selfset")
	sidecar := selfset.Spec.Containers[0]
	sidecar.Name = "sidecar"
	sidecar.Env = []corev1.EnvVar{{Name: "AWS_ROLE_ARN", Value: role("hand-written")}}
	selfset.Spec.Containers = append(selfset.Spec.Containers, sidecar)
	stCreatePod(t, c, ns, selfset)
	// selfonly: its only container sets AWS_ROLE_ARN, so the webhook injects nothing and a
	// restart would not change that: skipped, not stale.
	selfonly := e.idlePod("selfonly", "selfset")
	selfonly.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "AWS_ROLE_ARN", Value: role("hand-written")}}
	stCreatePod(t, c, ns, selfonly)

	// short: token-expiration 300, which the webhook raises to 600.
	serviceAccount(t, c, ns, "short", map[string]string{
		"eks.amazonaws.com/role-arn": role("short"), "eks.amazonaws.com/token-expiration": "300",
	})
	stCreatePod(t, c, ns, e.idlePod("short", "short"))

	// plain: no role and a pod: not reported.
	serviceAccount(t, c, ns, "plain", nil)
	stCreatePod(t, c, ns, e.idlePod("plain", "plain"))

	stWaitRunning(t, c, ns, "", 8)

	wantAccounts := map[string]stAccount{
		"late":    {RoleARN: role("late"), Workloads: []string{"deployment/late"}, Pods: stCounts{Total: 1, Stale: 1}},
		"web":     {RoleARN: role("web"), Workloads: []string{"deployment/web"}, Pods: stCounts{Total: 2, Injected: 2}},
		"skip":    {RoleARN: role("skip"), Workloads: []string{}, Pods: stCounts{Total: 1, Skipped: 1}},
		"selfset": {RoleARN: role("selfset"), Workloads: []string{}, Pods: stCounts{Total: 2, Injected: 1, Skipped: 1}},
		"short":   {RoleARN: role("short"), TokenExpiration: 600, Workloads: []string{}, Pods: stCounts{Total: 1, Injected: 1}},
	}

	t.Run("json", func(t *testing.T) {
		r := e.wi(t, "status", "-n", ns, "-o", "json")
		if r.code != 0 {
			t.Fatalf("status -o json: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		var rep stReport
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("status -o json is not the report: %v\n%s", err, r.stdout)
		}
		if len(rep.Warnings) > 0 {
			t.Errorf("warnings: %v", rep.Warnings)
		}
		var names []string
		for _, sa := range rep.ServiceAccounts {
			names = append(names, sa.Name)
			want, ok := wantAccounts[sa.Name]
			if !ok {
				t.Errorf("unexpected service account %s/%s in the report: %+v", sa.Namespace, sa.Name, sa)
				continue
			}
			if want.TokenExpiration == 0 {
				want.TokenExpiration = 86400
			}
			want.Namespace, want.Name, want.Audience = ns, sa.Name, "sts.amazonaws.com"
			if fmt.Sprintf("%+v", sa) != fmt.Sprintf("%+v", want) {
				t.Errorf("service account %s:\n got %+v\nwant %+v", sa.Name, sa, want)
			}
		}
		if want := []string{"late", "selfset", "short", "skip", "web"}; !slices.Equal(names, want) {
			t.Errorf("service accounts %v, want %v (sorted)", names, want)
		}

		// Each finding, where it belongs, with its fix.
		type want struct {
			severity, check, object string
			pods                    int
			inMessage, inFix        []string
		}
		wants := []want{
			{"warning", "self-set-env", "pod/selfset", 1, []string{`"sidecar"`, "AWS_ROLE_ARN", "serviceaccount/selfset"}, []string{"remove AWS_ROLE_ARN"}},
			{"warning", "self-set-env", "pod/selfonly", 1, []string{`"app"`, "AWS_ROLE_ARN", "serviceaccount/selfset"}, []string{"remove AWS_ROLE_ARN"}},
			{"warning", "stale-pods", "deployment/late", 1, []string{"serviceaccount/late", "lacks the injection"}, []string{"kubectl rollout restart deployment/late -n " + ns}},
			{"warning", "token-expiration", "serviceaccount/short", 0, []string{`token-expiration="300"`}, []string{"--token-expiration 86400", "serviceaccount/short -n " + ns}},
		}
		if len(rep.Findings) != len(wants) {
			t.Errorf("%d findings, want %d: %+v", len(rep.Findings), len(wants), rep.Findings)
		}
		for _, w := range wants {
			i := slices.IndexFunc(rep.Findings, func(f stFinding) bool { return f.Check == w.check && f.Object == w.object })
			if i < 0 {
				t.Errorf("no %s finding on %s: %+v", w.check, w.object, rep.Findings)
				continue
			}
			f := rep.Findings[i]
			if f.Severity != w.severity || f.Namespace != ns || f.Pods != w.pods {
				t.Errorf("%s finding on %s: %+v; want severity %s, namespace %s, pods %d", w.check, w.object, f, w.severity, ns, w.pods)
			}
			for _, s := range w.inMessage {
				if !strings.Contains(f.Message, s) {
					t.Errorf("%s finding message %q lacks %q", w.check, f.Message, s)
				}
			}
			for _, s := range w.inFix {
				if !strings.Contains(f.Fix, s) {
					t.Errorf("%s finding fix %q lacks %q", w.check, f.Fix, s)
				}
			}
		}
		if slices.ContainsFunc(rep.Findings, func(f stFinding) bool { return f.Check == "webhook-missing" }) {
			t.Error("webhook-missing reported while the webhook stand-in is registered")
		}
	})

	t.Run("table", func(t *testing.T) {
		r := e.wi(t, "status", "-n", ns)
		if r.code != 0 {
			t.Fatalf("status: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		rows := stRows(t, r.stdout, []string{"SERVICEACCOUNT", "IDENTITY", "ROLE", "PODS", "INJECTED", "STALE", "SKIPPED"})
		for name, want := range wantAccounts {
			got, ok := rows[name]
			if !ok {
				t.Errorf("no row for %s:\n%s", name, r.stdout)
				continue
			}
			p := want.Pods
			if w := []string{name, "IRSA", want.RoleARN, fmt.Sprint(p.Total), fmt.Sprint(p.Injected), fmt.Sprint(p.Stale), fmt.Sprint(p.Skipped)}; !slices.Equal(got, w) {
				t.Errorf("row %v, want %v", got, w)
			}
		}
		if len(rows) != len(wantAccounts) {
			t.Errorf("%d rows, want %d:\n%s", len(rows), len(wantAccounts), r.stdout)
		}
		for _, want := range []string{
			"FINDINGS (4)",
			"warning  " + ns + "/deployment/late: pods run without the identity serviceaccount/late asks",
			"fix: restart it: kubectl rollout restart deployment/late -n " + ns,
			"warning  " + ns + "/pod/selfset: containers \"sidecar\" set AWS_ROLE_ARN",
			"warning  " + ns + "/serviceaccount/short: annotation eks.amazonaws.com/token-expiration=\"300\"",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("table output lacks %q:\n%s", want, r.stdout)
			}
		}
	})

	t.Run("wide", func(t *testing.T) {
		r := e.wi(t, "status", "-n", ns, "-o", "wide")
		if r.code != 0 {
			t.Fatalf("status -o wide: exit %d\nstderr:\n%s", r.code, r.stderr)
		}
		rows := stRows(t, r.stdout, []string{"SERVICEACCOUNT", "IDENTITY", "ROLE", "PODS", "INJECTED", "STALE", "SKIPPED", "AUDIENCE", "EXPIRATION", "WORKLOADS"})
		for name, want := range map[string][]string{
			"web":   {"sts.amazonaws.com", "86400s", "deployment/web"},
			"late":  {"sts.amazonaws.com", "86400s", "deployment/late"},
			"short": {"sts.amazonaws.com", "600s", "<none>"},
		} {
			if got := rows[name]; len(got) != 10 || !slices.Equal(got[7:], want) {
				t.Errorf("wide row of %s: %v, want it to end with %v", name, got, want)
			}
		}
	})

	t.Run("all namespaces", func(t *testing.T) {
		r := e.wi(t, "status", "-A")
		if r.code != 0 {
			t.Fatalf("status -A: exit %d\nstderr:\n%s", r.code, r.stderr)
		}
		// Other tests' namespaces may be listed too: only this one's rows are checked.
		n := 0
		for _, line := range strings.Split(r.stdout, "\n") {
			f := strings.Fields(line)
			if len(f) != 8 || f[0] != ns {
				continue
			}
			n++
			want, ok := wantAccounts[f[1]]
			if !ok || f[2] != "IRSA" || f[3] != want.RoleARN || f[4] != fmt.Sprint(want.Pods.Total) || f[6] != fmt.Sprint(want.Pods.Stale) {
				t.Errorf("-A row %v does not match %+v", f, want)
			}
		}
		if n != len(wantAccounts) {
			t.Errorf("%d rows of namespace %s, want %d:\n%s", n, ns, len(wantAccounts), r.stdout)
		}
	})

	t.Run("restart clears the stale pod", func(t *testing.T) {
		// What the finding's fix says, done here: the new pod gets the role.
		patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339))
		if _, err := c.AppsV1().Deployments(ns).Patch(ctx, "late", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		var rep stReport
		waitFor(t, 90*time.Second, "deployment/late's pod to be replaced", func(context.Context) (bool, error) {
			r := e.wi(t, "status", "-n", ns, "-o", "json")
			if r.code != 0 {
				return false, fmt.Errorf("status: exit %d: %s", r.code, r.stderr)
			}
			rep = stReport{}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				return false, err
			}
			i := slices.IndexFunc(rep.ServiceAccounts, func(a stAccount) bool { return a.Name == "late" })
			return i >= 0 && rep.ServiceAccounts[i].Pods == stCounts{Total: 1, Injected: 1}, nil
		})
		if slices.ContainsFunc(rep.Findings, func(f stFinding) bool { return f.Check == "stale-pods" }) {
			t.Errorf("stale-pods still reported after the restart: %+v", rep.Findings)
		}
	})

	t.Run("no role in the namespace", func(t *testing.T) {
		empty := e.namespace(t, c, nil)
		r := e.wi(t, "status", "-n", empty)
		want := "No resources found in " + empty + " namespace.\n"
		// After the note that Pod Identity associations were not read, when it is printed.
		if r.code != 0 || r.stdout != "" || r.stderr != want && !strings.HasSuffix(r.stderr, "\n"+want) {
			t.Fatalf("status in a namespace without roles: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("bad output", func(t *testing.T) {
		r := e.wi(t, "status", "-n", ns, "-o", "table")
		if r.code != 2 || !strings.Contains(r.stderr, `--output "table" is not supported: allowed formats are wide, json, yaml, jsonpath=TEMPLATE`) {
			t.Fatalf("status -o table: exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
		}
	})
}

// stDeployment creates a deployment of idle pods running as sa.
func stDeployment(t *testing.T, c kubernetes.Interface, ns, name, sa string, replicas int32, image string) {
	t.Helper()
	labels := map[string]string{"app": name}
	_, err := c.AppsV1().Deployments(ns).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName:            sa,
					TerminationGracePeriodSeconds: ptr.To[int64](0),
					Containers: []corev1.Container{{
						Name: "app", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
					}},
				},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func stCreatePod(t *testing.T, c kubernetes.Interface, ns string, pod *corev1.Pod) {
	t.Helper()
	if _, err := c.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// stWaitRunning waits until n pods matching selector run, and no other pod is left over.
func stWaitRunning(t *testing.T, c kubernetes.Interface, ns, selector string, n int) {
	t.Helper()
	waitFor(t, 120*time.Second, fmt.Sprintf("%d pods %q running", n, selector), func(ctx context.Context) (bool, error) {
		l, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range l.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				running++
			}
		}
		return running == n && len(l.Items) == n, nil
	})
}

// stRows parses a status table: it checks the header and returns each row's fields by its
// first column.
func stRows(t *testing.T, out string, header []string) map[string][]string {
	t.Helper()
	lines := strings.Split(out, "\n")
	if got := strings.Fields(lines[0]); !slices.Equal(got, header) {
		t.Fatalf("header %v, want %v\n%s", got, header, out)
	}
	rows := map[string][]string{}
	for _, line := range lines[1:] {
		if strings.TrimSpace(line) == "" {
			break // the findings follow the blank line
		}
		f := strings.Fields(line)
		rows[f[0]] = f
	}
	return rows
}

// Accounts on Pod Identity whose pods lack the container credentials (the default profile's
// webhook never injects them): with AWS credentials and --eks-cluster, status reads the
// cluster's associations and lists each associated account with what is wrong; without, one
// line says they were not read.
func TestStatusReadsAssociations(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requireProfile(t, "default", "the EKS profile's webhook injects Pod Identity: its pods show the association themselves")
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	role := e.addSTSRole(t, "st-pi-"+ns, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	serviceAccount(t, c, ns, "pi", nil)
	serviceAccount(t, c, ns, "idle", nil)
	e.associate(t, c, ns, "pi", role)
	e.associate(t, c, ns, "idle", role)
	e.associate(t, c, ns, "ghost", role) // no such service account
	e.idleDeployment(t, c, ns, "web", "pi")

	r := e.piWI(t, "status", "-n", ns, "--eks-cluster", e.eksCluster, "-o", "json")
	piWant(t, r, 0)
	var doc struct {
		ServiceAccounts []struct {
			Name, Identity, PodIdentityRoleARN string
			Pods                               struct{ Total, PodIdentityStale int }
		} `json:"serviceAccounts"`
		Findings []struct{ Check, Object, Message, Fix string } `json:"findings"`
		Read     struct {
			Read  bool
			Count int
		} `json:"podIdentityAssociations"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if !doc.Read.Read || doc.Read.Count != 3 {
		t.Errorf("podIdentityAssociations %+v, want read, 3", doc.Read)
	}
	rows := map[string]string{}
	for _, a := range doc.ServiceAccounts {
		rows[a.Name] = fmt.Sprintf("%s %s total=%d piStale=%d", a.Identity, a.PodIdentityRoleARN, a.Pods.Total, a.Pods.PodIdentityStale)
	}
	for name, want := range map[string]string{
		"pi": "PodIdentity " + role + " total=1 piStale=1", "idle": "PodIdentity " + role + " total=0 piStale=0", "ghost": "PodIdentity " + role + " total=0 piStale=0",
	} {
		if rows[name] != want {
			t.Errorf("%s: %q, want %q", name, rows[name], want)
		}
	}
	checks := map[string]string{}
	for _, f := range doc.Findings {
		checks[f.Check+" "+f.Object] = f.Fix
	}
	for finding, fix := range map[string]string{
		"pod-identity-uninjected deployment/web":       "kubectl wi verify serviceaccount/pi -n " + ns,
		"pod-identity-no-pods serviceaccount/idle":     "kubectl wi verify serviceaccount/idle -n " + ns,
		"pod-identity-no-account serviceaccount/ghost": "aws eks delete-pod-identity-association --cluster-name " + e.eksCluster,
	} {
		if got, ok := checks[finding]; !ok || !strings.Contains(got, fix) {
			t.Errorf("finding %s: fix %q, want one with %q (findings %v)", finding, got, fix, checks)
		}
	}
	r = e.piWI(t, "status", "-n", ns, "--eks-cluster", e.eksCluster)
	piWant(t, r, 0)
	if !regexp.MustCompile(`(?m)^pi\s+PodIdentity\s+`+regexp.QuoteMeta(role)+`\s+1\s+0\s+1\s+0$`).MatchString(r.stdout) || strings.Contains(r.stderr, "not read") {
		t.Errorf("the table does not list pi with its role and its stale pod:\n%s\n%s", r.stdout, r.stderr)
	}

	// Without AWS credentials or an EKS cluster: one line says they were not read, and how.
	r = e.wi(t, "status", "-n", ns)
	if r.code != 0 || !strings.Contains(r.stderr, "note: EKS Pod Identity associations were not read (no EKS cluster known") ||
		!strings.Contains(r.stderr, "pass --eks-cluster NAME") || strings.Contains(r.stdout, "PodIdentity") {
		t.Errorf("exit %d, want 0 saying the associations were not read\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, req := range e.awsRequests(t) {
		if req.Write && req.Namespace == ns && req.Action != "CreatePodIdentityAssociation" {
			t.Errorf("an AWS write in %s: %+v", ns, req)
		}
	}
}
