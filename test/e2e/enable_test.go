//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// The role enable writes in these tests. Nothing assumes it: the tests look at what the
// webhook stand-in injects, not at STS.
const (
	enRole       = "arn:aws:iam::111122223333:role/app"
	enRoleKey    = "eks.amazonaws.com/role-arn"
	enRestartKey = "kubectl.kubernetes.io/restartedAt"
)

var enIdentityKeys = []string{
	"eks.amazonaws.com/role-arn", "eks.amazonaws.com/audience",
	"eks.amazonaws.com/sts-regional-endpoints", "eks.amazonaws.com/token-expiration",
}

// enWorkloadNames are the three workloads enWorkloads creates, each labelled app=<name>.
var enWorkloadNames = []string{"web", "db", "agent"}

// TestEnableWorkloads: enable on a service account used by a Deployment, a StatefulSet and a
// DaemonSet whose pods predate the annotation restarts all three, their new pods carry the
// webhook's injection, and nothing of the account but the identity annotation changes; a
// second identical enable makes no write and no restart.
func TestEnableWorkloads(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	enAccount(t, c, ns, nil)
	e.enWorkloads(t, c, ns)
	old := enWaitRolledOut(t, c, ns)
	for app, p := range old {
		if role, vol := enInjection(p); role != "" || vol {
			t.Fatalf("pod %s of %s carries an injection before the account has a role: role %q, volume %t", p.Name, app, role, vol)
		}
	}
	saBefore := enGetSA(t, c, ns)

	args := []string{"enable", "-n", ns, "serviceaccount/app", "--role-arn", enRole, "--wait", "--timeout", "2m"}
	agent := enAgent()
	mark := e.enAuditMark(t)
	r := e.enWI(t, agent, args...)
	if r.code != 0 {
		t.Fatalf("enable: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"serviceaccount/app annotated (role-arn)",
		"deployment.apps/web restarted: pod web-",
		"statefulset.apps/db restarted: pod db-0 lacks the injection",
		"daemonset.apps/agent restarted: pod agent-",
		"deployment.apps/web successfully rolled out",
		"statefulset.apps/db successfully rolled out",
		"daemonset.apps/agent successfully rolled out",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("enable output lacks %q:\n%s", want, r.stdout)
		}
	}

	// The new pods, there once --wait returned, carry what the webhook injects.
	for app, p := range enLivePods(t, c, ns) {
		if p.UID == old[app].UID {
			t.Errorf("%s: pod %s is the pod from before enable: not restarted", app, p.Name)
		}
		role, vol := enInjection(p)
		if role != enRole || !vol {
			t.Errorf("%s: new pod %s: AWS_ROLE_ARN %q, aws-iam-token volume %t; want %s and the volume", app, p.Name, role, vol, enRole)
		}
		if got := enPodEnv(p, "AWS_WEB_IDENTITY_TOKEN_FILE"); got != "/var/run/secrets/eks.amazonaws.com/serviceaccount/token" {
			t.Errorf("%s: new pod %s: AWS_WEB_IDENTITY_TOKEN_FILE %q", app, p.Name, got)
		}
	}

	// The account: the role annotation, and not one other byte changed.
	saAfter := enGetSA(t, c, ns)
	if got := saAfter.Annotations[enRoleKey]; got != enRole {
		t.Errorf("role-arn annotation %q, want %q", got, enRole)
	}
	for _, k := range enIdentityKeys[1:] {
		if v, ok := saAfter.Annotations[k]; ok {
			t.Errorf("enable wrote %s=%q, which the flags did not ask for", k, v)
		}
	}
	enSameAccount(t, saBefore, saAfter)

	// Writes: one patch of the account and one restart per workload, nothing else; before the
	// restarts, dry-run pods until the webhook admits them with the role (its cache lags).
	events := mark.by(t, c, ns, agent)
	if dry := len(enWrites(events, agent)) - len(enStored(events, agent)); dry < 1 {
		t.Errorf("no dry-run pod before the restarts: the webhook's cache was not waited for")
	}
	writes := enStored(events, agent)
	enWantWrites(t, writes, []string{
		"patch serviceaccounts " + ns + "/app",
		"patch deployments " + ns + "/web",
		"patch statefulsets " + ns + "/db",
		"patch daemonsets " + ns + "/agent",
	})

	t.Run("second enable writes nothing", func(t *testing.T) {
		before := enTemplates(t, c, ns)
		pods := enLivePods(t, c, ns)
		agent := enAgent()
		mark := e.enAuditMark(t)
		r := e.enWI(t, agent, args...)
		if r.code != 0 {
			t.Fatalf("second enable: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		for _, want := range []string{
			"serviceaccount/app unchanged",
			"deployment.apps/web unchanged: 1 live pod already carries the identity",
			"statefulset.apps/db unchanged: 1 live pod already carries the identity",
			"daemonset.apps/agent unchanged: 1 live pod already carries the identity",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("second enable output lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "restarted") {
			t.Errorf("second enable restarted something:\n%s", r.stdout)
		}
		events := mark.by(t, c, ns, agent)
		if writes := enWrites(events, agent); len(writes) > 0 {
			t.Errorf("second enable made %d writes, want 0: %v", len(writes), writes)
		}
		t.Logf("second enable: %s", enCounts(events))
		if after := enTemplates(t, c, ns); !equalMaps(before, after) {
			t.Errorf("workloads changed by the second enable:\nbefore %v\nafter  %v", before, after)
		}
		for app, p := range enLivePods(t, c, ns) {
			if p.UID != pods[app].UID {
				t.Errorf("%s: pod %s replaced by the second enable", app, p.Name)
			}
		}
		if sa := enGetSA(t, c, ns); sa.ResourceVersion != saAfter.ResourceVersion {
			t.Errorf("service account written by the second enable: resourceVersion %s -> %s", saAfter.ResourceVersion, sa.ResourceVersion)
		}
	})
}

// TestEnableDryRunServer: --dry-run=server reports what it would do, and the server stores
// nothing: every write request carries dryRun=All.
func TestEnableDryRunServer(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	enAccount(t, c, ns, nil)
	e.enDeployment(t, c, ns)
	enWaitPodRunning(t, c, ns)
	saBefore := enGetSA(t, c, ns)
	depBefore, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	podsBefore := enLivePods(t, c, ns)

	agent := enAgent()
	mark := e.enAuditMark(t)
	r := e.enWI(t, agent, "enable", "-n", ns, "app", "--role-arn", enRole, "--dry-run=server", "-o", "json")
	if r.code != 0 {
		t.Fatalf("enable --dry-run=server: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// -o json prints the account as the server would store it; the summary goes to stderr.
	var printed corev1.ServiceAccount
	if err := json.Unmarshal([]byte(r.stdout), &printed); err != nil {
		t.Fatalf("enable --dry-run=server -o json printed no service account: %v\n%s", err, r.stdout)
	}
	if printed.Annotations[enRoleKey] != enRole || printed.Annotations["example.com/owner"] != "x" {
		t.Errorf("printed account annotations %v, want the role and the other annotations", printed.Annotations)
	}
	for _, want := range []string{
		"serviceaccount/app annotated (role-arn=" + enRole + ") (server dry run)",
		"deployment.apps/web restarted (server dry run): pod web-",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stderr)
		}
	}

	// Nothing stored: the account has its resourceVersion, the deployment its generation.
	saAfter := enGetSA(t, c, ns)
	if saAfter.ResourceVersion != saBefore.ResourceVersion || saAfter.Annotations[enRoleKey] != "" {
		t.Errorf("server dry run wrote the account: resourceVersion %s -> %s, annotations %v", saBefore.ResourceVersion, saAfter.ResourceVersion, saAfter.Annotations)
	}
	depAfter, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if depAfter.Generation != depBefore.Generation || depAfter.Spec.Template.Annotations[enRestartKey] != "" {
		t.Errorf("server dry run restarted the deployment: generation %d -> %d, template annotations %v",
			depBefore.Generation, depAfter.Generation, depAfter.Spec.Template.Annotations)
	}
	for app, p := range enLivePods(t, c, ns) {
		if p.UID != podsBefore[app].UID {
			t.Errorf("%s: pod replaced during a dry run", app)
		}
	}

	// The server saw the writes, each marked dryRun=All.
	writes := enWrites(mark.by(t, c, ns, agent), agent)
	enWantWrites(t, writes, []string{"patch serviceaccounts " + ns + "/app", "patch deployments " + ns + "/web"})
	// No dry-run pod: nothing is stored, so there is no new identity for the webhook to admit.
	for _, w := range writes {
		if !strings.Contains(w.RequestURI, "dryRun=All") {
			t.Errorf("write without dryRun=All: %s %s", w.Verb, w.RequestURI)
		}
	}
}

// TestEnableBadInputs: each bad input exits 2 with a message saying what is wrong, and no
// run of the table sends a single write to the server.
func TestEnableBadInputs(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	enAccount(t, c, ns, nil)
	// A deployment with live pods lacking the injection: an input that got through would
	// write the account and restart it.
	e.enDeployment(t, c, ns)
	enWaitPodRunning(t, c, ns)
	saBefore := enGetSA(t, c, ns)
	depBefore, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	enable := func(args ...string) []string { return append([]string{"enable", "-n", ns}, args...) }
	role := []string{"--role-arn", enRole}
	cases := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"account of 5 digits", enable("app", "--role-arn", "arn:aws:iam::12345:role/app"), "expected 12 digits"},
		{"a user, not a role", enable("app", "--role-arn", "arn:aws:iam::111122223333:user/app"), "not a role"},
		{"unknown partition", enable("app", "--role-arn", "arn:aws-mars:iam::111122223333:role/app"), `unknown partition "aws-mars"`},
		{"service sts", enable("app", "--role-arn", "arn:aws:sts::111122223333:role/app"), `names service "sts"`},
		{"region set", enable("app", "--role-arn", "arn:aws:iam:us-east-1:111122223333:role/app"), `has region "us-east-1"`},
		{"not an ARN", enable("app", "--role-arn", "app"), "is not an ARN"},
		{"space in role name", enable("app", "--role-arn", "arn:aws:iam::111122223333:role/my app"), `role name "my app"`},
		{"empty role path element", enable("app", "--role-arn", "arn:aws:iam::111122223333:role//app"), "invalid path"},
		{"token expiration 60", enable(append(role, "app", "--token-expiration", "60")...), "raise it to 600"},
		{"token expiration 999999", enable(append(role, "app", "--token-expiration", "999999")...), "11.6 days"},
		{"unknown kind", enable(append(role, "replicaset/app")...), `unknown kind "replicaset"`},
		{"missing service account", enable(append(role, "serviceaccount/nope")...), `serviceaccount "nope" not found in namespace "` + ns + `"`},
		{"missing deployment", enable(append(role, "deployment/nope")...), `deployment.apps "nope" not found`},
		{"missing namespace", []string{"enable", "-n", "wi-e2e-no-such-namespace", "app", "--role-arn", enRole}, `namespace "wi-e2e-no-such-namespace" not found`},
		{"-A without -l", enable(append(role, "-A", "app")...), "-A/--all-namespaces needs -l"},
		{"TARGET and -l", enable(append(role, "app", "-l", "team=payments")...), "not both"},
		{"bad --restart", enable(append(role, "app", "--restart=sometimes")...), `--restart must be one of auto, always, never, not "sometimes"`},
		{"bad --dry-run", enable(append(role, "app", "--dry-run=maybe")...), `--dry-run "maybe" is not supported: must be none, client or server`},
		{"bad --output", enable(append(role, "app", "-o", "table")...), `--output "table" is not supported: allowed formats are yaml, json, name`},
		{"missing --role-arn", enable("app"), "--role-arn is required"},
		{"empty --audience", enable(append(role, "app", "--audience=")...), "--audience is empty"},
		{"--wait with --dry-run", enable(append(role, "app", "--wait", "--dry-run=server")...), "--wait cannot be combined with --dry-run"},
		{"--wait with --restart=never", enable(append(role, "app", "--wait", "--restart=never")...), "--restart=never makes none"},
		{"malformed selector", enable(append(role, "-l", "team in (")...), "invalid -l selector"},
		{"selector matching nothing", enable(append(role, "-l", "team=nobody")...), "no service accounts match -l team=nobody"},
		{"no target", enable(role...), "a TARGET or -l SELECTOR is required"},
		{"unknown flag", enable(append(role, "app", "--rol")...), "unknown flag"},
		{"disable: unknown kind", []string{"disable", "-n", ns, "pod/app"}, `unknown kind "pod"`},
		{"disable: missing service account", []string{"disable", "-n", ns, "nope"}, `serviceaccount "nope" not found`},
	}
	agent := enAgent()
	mark := e.enAuditMark(t)
	for _, tc := range cases {
		r := e.enWI(t, agent, tc.args...)
		if r.code != 2 {
			t.Errorf("%s: %v: exit %d, want 2\nstdout:\n%s\nstderr:\n%s", tc.name, tc.args, r.code, r.stdout, r.stderr)
			continue
		}
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: stderr lacks %q:\n%s", tc.name, tc.want, r.stderr)
		}
	}
	events := mark.by(t, c, ns, agent)
	if writes := enWrites(events, agent); len(writes) > 0 {
		t.Errorf("the bad inputs made %d writes, want 0: %v", len(writes), writes)
	}
	t.Logf("%d bad inputs: %s", len(cases), enCounts(events))
	if sa := enGetSA(t, c, ns); sa.ResourceVersion != saBefore.ResourceVersion {
		t.Errorf("service account written: resourceVersion %s -> %s, annotations %v", saBefore.ResourceVersion, sa.ResourceVersion, sa.Annotations)
	}
	if d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil || d.Generation != depBefore.Generation {
		t.Errorf("deployment written by a bad input (err %v)", err)
	}
}

// TestDisable: disable removes the identity annotations and nothing else, restarts the three
// workloads whose pods carry the injection, and their new pods carry none; a second disable
// writes nothing.
func TestDisable(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	enAccount(t, c, ns, map[string]string{
		enRoleKey:                            enRole,
		"eks.amazonaws.com/token-expiration": "3600",
	})
	e.enWorkloads(t, c, ns)
	old := enWaitRolledOut(t, c, ns)
	for app, p := range old {
		if role, vol := enInjection(p); role != enRole || !vol {
			t.Fatalf("pod %s of %s was not injected by the webhook stand-in: role %q, volume %t", p.Name, app, role, vol)
		}
	}
	saBefore := enGetSA(t, c, ns)

	args := []string{"disable", "-n", ns, "serviceaccount/app", "--wait", "--timeout", "2m"}
	agent := enAgent()
	mark := e.enAuditMark(t)
	r := e.enWI(t, agent, args...)
	if r.code != 0 {
		t.Fatalf("disable: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"serviceaccount/app identity removed (role-arn, token-expiration)",
		"deployment.apps/web restarted: pod web-",
		"statefulset.apps/db restarted: pod db-0 still carries the injected role " + enRole,
		"daemonset.apps/agent restarted: pod agent-",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("disable output lacks %q:\n%s", want, r.stdout)
		}
	}
	saAfter := enGetSA(t, c, ns)
	for _, k := range enIdentityKeys {
		if v, ok := saAfter.Annotations[k]; ok {
			t.Errorf("disable left %s=%q", k, v)
		}
	}
	enSameAccount(t, saBefore, saAfter)
	for app, p := range enLivePods(t, c, ns) {
		if p.UID == old[app].UID {
			t.Errorf("%s: pod %s is the pod from before disable: not restarted", app, p.Name)
		}
		if role, vol := enInjection(p); role != "" || vol {
			t.Errorf("%s: new pod %s still carries the injection: AWS_ROLE_ARN %q, volume %t", app, p.Name, role, vol)
		}
	}
	enWantWrites(t, enStored(mark.by(t, c, ns, agent), agent), []string{
		"patch serviceaccounts " + ns + "/app",
		"patch deployments " + ns + "/web",
		"patch statefulsets " + ns + "/db",
		"patch daemonsets " + ns + "/agent",
	})

	t.Run("second disable writes nothing", func(t *testing.T) {
		agent := enAgent()
		mark := e.enAuditMark(t)
		r := e.enWI(t, agent, args...)
		if r.code != 0 {
			t.Fatalf("second disable: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "serviceaccount/app unchanged") || strings.Contains(r.stdout, "restarted") {
			t.Errorf("second disable output:\n%s", r.stdout)
		}
		if writes := enWrites(mark.by(t, c, ns, agent), agent); len(writes) > 0 {
			t.Errorf("second disable made %d writes, want 0: %v", len(writes), writes)
		}
	})
}

// TestEnableForbidden: a user who may read everything enable reads but not patch service
// accounts gets exit 3 and an error naming the missing verb and resource; nothing is written.
func TestEnableForbidden(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	enAccount(t, c, ns, nil)
	e.enDeployment(t, c, ns)
	enWaitPodRunning(t, c, ns)
	e.enGrantReadOnly(t, c, ns)
	saBefore := enGetSA(t, c, ns)
	depBefore, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	agent := enAgent()
	mark := e.enAuditMark(t)
	r := e.enWI(t, agent, "enable", "--kubeconfig", e.viewerKubeconfig, "-n", ns, "serviceaccount/app", "--role-arn", enRole)
	if r.code != 3 {
		t.Fatalf("enable as the viewer: exit %d, want 3\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if want := `ask for RBAC verb "patch" on "serviceaccounts"`; !strings.Contains(r.stderr, want) {
		t.Errorf("the error does not name the verb and resource (%s):\n%s", want, r.stderr)
	}
	if sa := enGetSA(t, c, ns); sa.ResourceVersion != saBefore.ResourceVersion {
		t.Errorf("service account written by the viewer: annotations %v", sa.Annotations)
	}
	if d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil || d.Generation != depBefore.Generation {
		t.Errorf("deployment restarted although the account could not be annotated (err %v)", err)
	}
	// The run went out as the viewer, and its one write attempt was refused.
	events := mark.by(t, c, ns, agent)
	var denied []string
	for _, ev := range events {
		if ev.User.Username != "kubectl-wi-viewer" {
			t.Errorf("request as %q, want kubectl-wi-viewer: %s %s", ev.User.Username, ev.Verb, ev.RequestURI)
		}
		if enIsWrite(ev.Verb) {
			if ev.ResponseStatus.Code != 403 {
				t.Errorf("write answered %d, want 403: %s %s", ev.ResponseStatus.Code, ev.Verb, ev.RequestURI)
			}
			denied = append(denied, ev.String())
		}
	}
	if len(denied) != 1 || denied[0] != "patch serviceaccounts "+ns+"/app" {
		t.Errorf("denied writes %v, want the one patch of serviceaccounts %s/app", denied, ns)
	}
}

// --- helpers -----------------------------------------------------------------------------

// enAgent is a program name unique to one run of the plugin. client-go puts the base name of
// argv[0] first in the User-Agent, so the audit log tells this run's requests from those of
// every other kubectl-wi that tests run at the same time.
func enAgent() string { return "kubectl-wi-e2e-" + randSuffix() }

// enWI runs the built binary as agent (its argv[0]).
func (e env) enWI(t *testing.T, agent string, args ...string) result {
	t.Helper()
	cmd := exec.Command(e.bin, args...)
	cmd.Args[0] = agent
	return e.run(t, cmd)
}

// enAccount creates service account app carrying labels, annotations and fields that enable
// and disable must leave alone, plus extra annotations.
func enAccount(t *testing.T, c kubernetes.Interface, ns string, extra map[string]string) {
	t.Helper()
	annotations := map[string]string{
		"example.com/owner":                 "x",
		"example.com/description":           `the shop's "app", {not json}`,
		"eks.amazonaws.com/unrelated-thing": "kept",
	}
	for k, v := range extra {
		annotations[k] = v
	}
	_, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "app",
			Labels:      map[string]string{"team": "payments", "app.kubernetes.io/part-of": "shop"},
			Annotations: annotations,
		},
		Secrets:                      []corev1.ObjectReference{{Name: "app-extra-secret"}},
		ImagePullSecrets:             []corev1.LocalObjectReference{{Name: "regcred"}},
		AutomountServiceAccountToken: ptr.To(true),
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if role := extra[enRoleKey]; role != "" {
		awaitWebhookRole(t, c, ns, "app", role)
	}
}

func enGetSA(t *testing.T, c kubernetes.Interface, ns string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

// enSameAccount fails unless before and after are byte-identical as JSON once the identity
// annotations, resourceVersion and managedFields are left out.
func enSameAccount(t *testing.T, before, after *corev1.ServiceAccount) {
	t.Helper()
	strip := func(sa *corev1.ServiceAccount) []byte {
		sa = sa.DeepCopy()
		sa.ResourceVersion = ""
		sa.ManagedFields = nil
		for _, k := range enIdentityKeys {
			delete(sa.Annotations, k)
		}
		b, err := json.Marshal(sa)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b, a := strip(before), strip(after); !bytes.Equal(b, a) {
		t.Errorf("the service account changed beyond its identity annotations:\nbefore %s\nafter  %s", b, a)
	}
	if after.Labels["team"] != "payments" || after.Annotations["example.com/owner"] != "x" {
		t.Errorf("labels %v, annotations %v: the team label or the owner annotation is gone", after.Labels, after.Annotations)
	}
}

func enPodSpec(e env) corev1.PodSpec {
	return corev1.PodSpec{
		ServiceAccountName:            "app",
		TerminationGracePeriodSeconds: ptr.To[int64](0),
		Containers: []corev1.Container{{
			Name: "app", Image: e.idleImage, ImagePullPolicy: corev1.PullIfNotPresent,
		}},
	}
}

// enDeployment creates Deployment web, one idle pod running as service account app.
func (e env) enDeployment(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	labels := map[string]string{"app": "web"}
	_, err := c.AppsV1().Deployments(ns).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: enPodSpec(e)},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// enWorkloads creates Deployment web, StatefulSet db and DaemonSet agent, one idle pod each,
// running as service account app.
func (e env) enWorkloads(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	e.enDeployment(t, c, ns)
	db := map[string]string{"app": "db"}
	if _, err := c.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](1), ServiceName: "db",
			Selector: &metav1.LabelSelector{MatchLabels: db},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: db}, Spec: enPodSpec(e)},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	agent := map[string]string{"app": "agent"}
	if _, err := c.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: agent},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: agent}, Spec: enPodSpec(e)},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// enWaitRolledOut waits until the three workloads have rolled out, with one running pod each
// and no pod left terminating, and returns those pods by workload.
func enWaitRolledOut(t *testing.T, c kubernetes.Interface, ns string) map[string]*corev1.Pod {
	t.Helper()
	waitFor(t, 150*time.Second, "web, db and agent rolled out in "+ns, func(ctx context.Context) (bool, error) {
		d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s, err := c.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ds, err := c.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ok := d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedReplicas == 1 && d.Status.AvailableReplicas == 1 && d.Status.Replicas == 1 &&
			s.Status.ObservedGeneration == s.Generation && s.Status.ReadyReplicas == 1 && s.Status.CurrentRevision == s.Status.UpdateRevision &&
			ds.Status.ObservedGeneration == ds.Generation && ds.Status.DesiredNumberScheduled == 1 && ds.Status.UpdatedNumberScheduled == 1 && ds.Status.NumberAvailable == 1
		if !ok {
			return false, nil
		}
		return enPodsSettled(ctx, c, ns, 3)
	})
	return enLivePods(t, c, ns)
}

// enWaitPodRunning waits until one pod runs in ns and no other pod exists.
func enWaitPodRunning(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	waitFor(t, 120*time.Second, "one pod running in "+ns, func(ctx context.Context) (bool, error) {
		return enPodsSettled(ctx, c, ns, 1)
	})
}

func enPodsSettled(ctx context.Context, c kubernetes.Interface, ns string, n int) (bool, error) {
	l, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	for _, p := range l.Items {
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			return false, nil
		}
	}
	return len(l.Items) == n, nil
}

// enLivePods returns the one live (not terminating) pod of each workload, by its app label;
// a workload with more than one fails the test.
func enLivePods(t *testing.T, c kubernetes.Interface, ns string) map[string]*corev1.Pod {
	t.Helper()
	l, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods := map[string]*corev1.Pod{}
	for i := range l.Items {
		p := &l.Items[i]
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		app := p.Labels["app"]
		if prev := pods[app]; prev != nil {
			t.Fatalf("%s has two live pods, %s and %s", app, prev.Name, p.Name)
		}
		pods[app] = p
	}
	return pods
}

// enInjection reads what the webhook injected into a stored pod: AWS_ROLE_ARN of its
// container and whether the aws-iam-token projected volume is there.
func enInjection(p *corev1.Pod) (role string, volume bool) {
	for _, v := range p.Spec.Volumes {
		if v.Name == "aws-iam-token" && v.Projected != nil {
			volume = true
		}
	}
	return enPodEnv(p, "AWS_ROLE_ARN"), volume
}

func enPodEnv(p *corev1.Pod, name string) string {
	for _, v := range p.Spec.Containers[0].Env {
		if v.Name == name {
			return v.Value
		}
	}
	return ""
}

// enTemplates is what a restart changes on each workload: generation and restartedAt.
func enTemplates(t *testing.T, c kubernetes.Interface, ns string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["web"] = fmt.Sprintf("gen %d restartedAt %q", d.Generation, d.Spec.Template.Annotations[enRestartKey])
	s, err := c.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["db"] = fmt.Sprintf("gen %d restartedAt %q", s.Generation, s.Spec.Template.Annotations[enRestartKey])
	ds, err := c.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out["agent"] = fmt.Sprintf("gen %d restartedAt %q", ds.Generation, ds.Spec.Template.Annotations[enRestartKey])
	for _, name := range enWorkloadNames {
		if !strings.Contains(out[name], "restartedAt") {
			t.Fatalf("no state for %s", name)
		}
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// enGrantReadOnly lets the viewer get and list service accounts, pods and the three workload
// kinds in ns, and nothing else, and waits until the authorizer knows it.
func (e env) enGrantReadOnly(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	ctx := context.Background()
	read := []string{"get", "list"}
	if _, err := c.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "wi-read-only"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts", "pods"}, Verbs: read},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "daemonsets"}, Verbs: read},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "wi-read-only"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "wi-read-only"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "kubectl-wi-viewer"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", e.viewerKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the viewer's role to apply", func(ctx context.Context) (bool, error) {
		_, err1 := viewer.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
		_, err2 := viewer.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
		return err1 == nil && err2 == nil, nil
	})
}

// --- the apiserver's audit log -------------------------------------------------------------

// enEvent is the part of an audit event these tests read.
type enEvent struct {
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	UserAgent  string `json:"userAgent"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
		APIGroup    string `json:"apiGroup"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// String is "verb resource namespace/name".
func (ev enEvent) String() string {
	if ev.ObjectRef == nil {
		return ev.Verb + " " + ev.RequestURI
	}
	s := ev.Verb + " " + ev.ObjectRef.Resource
	if ev.ObjectRef.Subresource != "" {
		s += "/" + ev.ObjectRef.Subresource
	}
	return s + " " + ev.ObjectRef.Namespace + "/" + ev.ObjectRef.Name
}

// enAudit marks a point in the audit log: since returns what was appended after it.
type enAudit struct {
	path  string
	start os.FileInfo
	off   int64
}

func (e env) enAuditMark(t *testing.T) *enAudit {
	t.Helper()
	fi, err := os.Stat(e.auditLog)
	if err != nil {
		t.Fatalf("the apiserver's audit log: %v", err)
	}
	return &enAudit{path: e.auditLog, start: fi, off: fi.Size()}
}

// since returns the ResponseComplete events logged after the mark. It first makes a request
// of its own (a GET of a config map that does not exist) and waits until the log shows it, so
// every request answered before it has been logged too.
func (a *enAudit) since(t *testing.T, c kubernetes.Interface, ns string) []enEvent {
	t.Helper()
	marker := "wi-audit-marker-" + randSuffix()
	_, _ = c.CoreV1().ConfigMaps(ns).Get(context.Background(), marker, metav1.GetOptions{})
	waitFor(t, 30*time.Second, "the audit log to show "+marker, func(context.Context) (bool, error) {
		events, err := a.read()
		if err != nil {
			return false, err
		}
		for _, ev := range events {
			if ev.ObjectRef != nil && ev.ObjectRef.Name == marker {
				return true, nil
			}
		}
		return false, nil
	})
	// The apiserver logs an event when its handler returns, which may be a moment after the
	// client has the response: leave a margin for the events just before the marker's.
	time.Sleep(500 * time.Millisecond)
	events, err := a.read()
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// by returns the events since the mark of the requests made by the program named agent (its
// User-Agent), and fails the test when there is none: every run a test counts writes of reads
// something first, so an empty result means the filter matched nothing, and "no writes" would
// hold of any run.
func (a *enAudit) by(t *testing.T, c kubernetes.Interface, ns, agent string) []enEvent {
	t.Helper()
	events := enByAgent(a.since(t, c, ns), agent)
	if len(events) == 0 {
		t.Fatalf("the audit log shows no request with user agent %s/...: the filter matches nothing", agent)
	}
	return events
}

// read parses the complete lines appended since the mark, following a rotation (the
// apiserver renames a full log to audit-<time>.log and starts a new one).
func (a *enAudit) read() ([]enEvent, error) {
	var data []byte
	cur, err := os.Stat(a.path)
	if err != nil {
		return nil, err
	}
	if os.SameFile(cur, a.start) {
		if data, err = enReadFrom(a.path, a.off); err != nil {
			return nil, err
		}
	} else {
		base := strings.TrimSuffix(filepath.Base(a.path), filepath.Ext(a.path))
		backups, _ := filepath.Glob(filepath.Join(filepath.Dir(a.path), base+"-*"))
		found := false
		for _, b := range backups {
			if fi, err := os.Stat(b); err == nil && os.SameFile(fi, a.start) {
				old, err := enReadFrom(b, a.off)
				if err != nil {
					return nil, err
				}
				data, found = old, true
			}
		}
		if !found {
			return nil, fmt.Errorf("the audit log %s was rotated and its old part is gone", a.path)
		}
		cur, err := enReadFrom(a.path, 0)
		if err != nil {
			return nil, err
		}
		data = append(data, cur...)
	}
	var events []enEvent
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev enEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			continue // the last line, still being written
		}
		if ev.Stage == "ResponseComplete" || ev.Stage == "Panic" {
			events = append(events, ev)
		}
	}
	return events, sc.Err()
}

func enReadFrom(path string, off int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(off, 0); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(f)
	return buf.Bytes(), err
}

// enByAgent keeps the events of requests made by the program named agent.
func enByAgent(events []enEvent, agent string) []enEvent {
	var out []enEvent
	for _, ev := range events {
		if strings.HasPrefix(ev.UserAgent, agent+"/") {
			out = append(out, ev)
		}
	}
	return out
}

func enIsWrite(verb string) bool {
	switch verb {
	case "create", "update", "patch", "delete", "deletecollection":
		return true
	}
	return false
}

// enWrites keeps the write requests of agent, server-side dry runs included.
func enWrites(events []enEvent, agent string) []enEvent {
	var out []enEvent
	for _, ev := range enByAgent(events, agent) {
		if enIsWrite(ev.Verb) {
			out = append(out, ev)
		}
	}
	return out
}

// enStored keeps the write requests of agent that store something: not the server-side dry
// runs (enable asks the webhook that way whether it admits new pods with the identity).
func enStored(events []enEvent, agent string) []enEvent {
	var out []enEvent
	for _, ev := range enWrites(events, agent) {
		if !strings.Contains(ev.RequestURI, "dryRun=All") {
			out = append(out, ev)
		}
	}
	return out
}

// enWantWrites fails unless writes are exactly want ("verb resource ns/name"), in any order.
func enWantWrites(t *testing.T, writes []enEvent, want []string) {
	t.Helper()
	got := make([]string, len(writes))
	for i, w := range writes {
		got[i] = w.String()
	}
	sort.Strings(got)
	want = append([]string(nil), want...)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("writes:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// enCounts summarises requests by verb: "get 2, list 4 (6 requests)".
func enCounts(events []enEvent) string {
	n := map[string]int{}
	for _, ev := range events {
		n[ev.Verb]++
	}
	verbs := make([]string, 0, len(n))
	for v := range n {
		verbs = append(verbs, v)
	}
	sort.Strings(verbs)
	parts := make([]string, len(verbs))
	for i, v := range verbs {
		parts[i] = fmt.Sprintf("%s %d", v, n[v])
	}
	return fmt.Sprintf("%s (%d requests)", strings.Join(parts, ", "), len(events))
}
