//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// TestEnableSafeByDefault: the three ways enable could change what the user did not ask for
// are refused with exit 2 and not one write, as the apiserver's audit log shows, until the
// user says so explicitly: a workload running as the shared default account, a rerun that
// would drop settings or replace a role (also across -l -A), a KIND NAME or misspelt target.
func TestEnableSafeByDefault(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ctx := context.Background()
	ns := e.namespace(t, c, nil)
	ns2 := e.namespace(t, c, nil)
	const otherRole = "arn:aws:iam::111122223333:role/other"
	team := "safety-" + randSuffix()
	settings := map[string]string{
		enRoleKey: enRole, "eks.amazonaws.com/audience": "foo",
		"eks.amazonaws.com/token-expiration": "3600", "eks.amazonaws.com/sts-regional-endpoints": "true",
	}
	sfAccount(t, c, ns, "app", settings, nil)
	sfAccount(t, c, ns, "web", nil, nil)
	sfAccount(t, c, ns, "held", map[string]string{enRoleKey: otherRole}, map[string]string{"team": team})
	sfAccount(t, c, ns2, "held2", map[string]string{enRoleKey: otherRole}, map[string]string{"team": team})
	sfAccount(t, c, ns2, "fresh", nil, map[string]string{"team": team})
	sfDeployment(t, c, ns, "nosa", "")
	sfDeployment(t, c, ns, "other", "")
	sfDeployment(t, c, ns, "web", "web")

	before := sfAnnotations(t, c, ns, ns2)
	agent := enAgent()
	mark := e.enAuditMark(t)
	refused := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"a workload on the default account", []string{"enable", "-n", ns, "deployment/nosa", "--role-arn", enRole},
			[]string{"runs as serviceaccount/default", "it is shared by deployment.apps/other", "kubectl wi enable serviceaccount/default -n " + ns}},
		{"the same with every other flag", []string{"enable", "-n", ns, "deployment/nosa", "--role-arn", enRole, "--overwrite", "--reset", "--create"},
			[]string{"refusing to give it a role for one workload"}},
		{"another role on one account", []string{"enable", "-n", ns, "held", "--role-arn", enRole},
			[]string{"refusing to replace an existing role without --overwrite: serviceaccount/held -n " + ns + " has " + otherRole}},
		{"another role across -l -A", []string{"enable", "-l", "team=" + team, "-A", "--role-arn", enRole},
			[]string{"serviceaccount/held -n " + ns + " has " + otherRole, "serviceaccount/held2 -n " + ns2 + " has " + otherRole, "give them"}},
		{"KIND NAME", []string{"enable", "-n", ns, "deployment", "web", "--create", "--role-arn", enRole},
			[]string{`"deployment web": TARGET is KIND/NAME or NAME, not KIND NAME: write deployment/web`}},
		{"a misspelt account", []string{"enable", "-n", ns, "wbe", "--create=false", "--role-arn", enRole},
			[]string{`serviceaccount "wbe" not found in namespace "` + ns + `"; did you mean serviceaccount/web?`}},
		{"a misspelt deployment", []string{"enable", "-n", ns, "deploy/nsoa", "--role-arn", enRole},
			[]string{`deployment.apps "nsoa" not found in namespace "` + ns + `"; did you mean deployment/nosa?`}},
	}
	for _, tc := range refused {
		r := e.enWI(t, agent, tc.args...)
		if r.code != 2 {
			t.Errorf("%s: %v: exit %d, want 2\nstdout:\n%s\nstderr:\n%s", tc.name, tc.args, r.code, r.stdout, r.stderr)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.name, want, r.stderr)
			}
		}
	}
	// A rerun naming only the role keeps the other settings: nothing to write.
	r := e.enWI(t, agent, "enable", "-n", ns, "app", "--role-arn", enRole, "--restart=never")
	if r.code != 0 || r.stdout != "serviceaccount/app unchanged\n" {
		t.Errorf("rerun naming only the role: exit %d, stdout %q, stderr %q; want 0 and unchanged", r.code, r.stdout, r.stderr)
	}
	if writes := enWrites(mark.by(t, c, ns, agent), agent); len(writes) > 0 {
		t.Errorf("the refused runs made %d writes, want 0: %v", len(writes), writes)
	}
	if after := sfAnnotations(t, c, ns, ns2); after != before {
		t.Errorf("annotations changed:\n%s\nwant\n%s", after, before)
	}
	for _, name := range []string{"deployment", "wbe"} {
		if _, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("service account %q exists (err %v): a refused target created it", name, err)
		}
	}

	// Said explicitly, each is done.
	for _, tc := range []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"enable", "-n", ns, "serviceaccount/default", "--role-arn", enRole, "--restart=never"}, "serviceaccount/default annotated (role-arn)"},
		{[]string{"enable", "-l", "team=" + team, "-A", "--role-arn", enRole, "--overwrite", "--restart=never"}, "serviceaccount/held2 -n " + ns2 + " annotated (role-arn)"},
		{[]string{"enable", "-n", ns, "app", "--role-arn", enRole, "--reset", "--restart=never"}, "serviceaccount/app annotated (audience-, sts-regional-endpoints-, token-expiration-)"},
		{[]string{"enable", "-n", ns, "cache", "--create", "--role-arn", enRole, "--restart=never"}, "serviceaccount/cache created (role-arn)"},
	} {
		r := e.enWI(t, agent, tc.args...)
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and %q", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	want := map[string]string{ns + "/default": enRole, ns + "/held": enRole, ns2 + "/held2": enRole, ns2 + "/fresh": enRole, ns + "/cache": enRole}
	for key, role := range want {
		nsName, name, _ := strings.Cut(key, "/")
		sa, err := c.CoreV1().ServiceAccounts(nsName).Get(ctx, name, metav1.GetOptions{})
		if err != nil || sa.Annotations[enRoleKey] != role {
			t.Errorf("%s: role %q (err %v), want %s", key, sa.Annotations[enRoleKey], err, role)
		}
	}
	if sa, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, "app", metav1.GetOptions{}); err != nil || len(sa.Annotations) != 1 {
		t.Errorf("app after --reset: annotations %v (err %v), want the role alone", sa.Annotations, err)
	}
}

func sfAccount(t *testing.T, c kubernetes.Interface, ns, name string, annotations, labels map[string]string) {
	t.Helper()
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations, Labels: labels},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// sfDeployment creates a Deployment of no replicas whose pods would run as sa ("" names none).
func sfDeployment(t *testing.T, c kubernetes.Interface, ns, name, sa string) {
	t.Helper()
	labels := map[string]string{"app": name}
	if _, err := c.AppsV1().Deployments(ns).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{{Name: "app", Image: "none"}}},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// sfAnnotations renders every service account's annotations and resourceVersion in the
// namespaces, to compare before and after.
func sfAnnotations(t *testing.T, c kubernetes.Interface, namespaces ...string) string {
	t.Helper()
	var b strings.Builder
	for _, ns := range namespaces {
		l, err := c.CoreV1().ServiceAccounts(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, sa := range l.Items {
			b.WriteString(ns + "/" + sa.Name + " " + sa.ResourceVersion + " ")
			for _, k := range enIdentityKeys {
				b.WriteString(k + "=" + sa.Annotations[k] + " ")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
