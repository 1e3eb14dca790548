//go:build e2e

package e2e

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// permission is one verb on one resource, as the commands name a missing one: the resource
// with its group when not core (deployments.apps).
type permission struct{ verb, resource string }

// TestLeastPrivilege runs each command as a user bound to nothing but the command's role from
// deploy/rbac, and then, for each permission the command cannot do without, as a user whose
// role lacks just that one: the command exits 3 and names the verb and the resource.
func TestLeastPrivilege(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	const role = "arn:aws:iam::111122223333:role/rbac"

	cases := []struct {
		name     string
		file     string
		setup    func(t *testing.T) string // the namespace to run in, with what the command reads
		args     func(ns string) []string
		required []permission
	}{
		{
			name: "status", file: "status.yaml",
			setup:    func(*testing.T) string { return ns },
			args:     func(ns string) []string { return []string{"status", "-n", ns} },
			required: []permission{{"list", "serviceaccounts"}, {"list", "pods"}},
		},
		{
			name: "trust-policy", file: "trust-policy.yaml",
			setup: func(*testing.T) string { return ns },
			args: func(ns string) []string {
				return []string{"trust-policy", "deployment/web", "-n", ns, "--account-id", "111122223333"}
			},
			required: []permission{{"get", "deployments.apps"}},
		},
		{
			name: "enable", file: "enable.yaml",
			// A fresh namespace each run: an account without a role, a deployment using it.
			setup: func(t *testing.T) string {
				ns := e.namespace(t, c, nil)
				serviceAccount(t, c, ns, "app", nil)
				rbacDeployment(t, c, ns, e.idleImage)
				return ns
			},
			args: func(ns string) []string {
				return []string{"enable", "serviceaccount/app", "-n", ns, "--role-arn", role}
			},
			required: []permission{
				{"get", "serviceaccounts"}, {"patch", "serviceaccounts"}, {"list", "pods"},
				{"list", "deployments.apps"}, {"patch", "deployments.apps"},
			},
		},
		{
			name: "disable", file: "enable.yaml",
			setup: func(t *testing.T) string {
				ns := e.namespace(t, c, nil)
				serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
				rbacDeployment(t, c, ns, e.idleImage)
				return ns
			},
			args: func(ns string) []string { return []string{"disable", "serviceaccount/app", "-n", ns} },
			required: []permission{
				{"get", "serviceaccounts"}, {"patch", "serviceaccounts"}, {"list", "pods"}, {"list", "deployments.apps"},
			},
		},
		{
			name: "verify", file: "verify.yaml",
			setup:    func(*testing.T) string { return ns },
			args:     func(ns string) []string { return e.verifyArgs(ns, "prover", e.stsEndpoint) },
			required: []permission{{"get", "serviceaccounts"}, {"create", "pods"}},
		},
	}
	// What status and trust-policy read; enable makes its own.
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	rbacDeployment(t, c, ns, e.idleImage)
	// What verify proves: an account whose role the STS stand-in trusts it with.
	prover := e.addSTSRole(t, "rbac-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":prover"))
	serviceAccount(t, c, ns, "prover", map[string]string{"eks.amazonaws.com/role-arn": prover})

	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			cr := loadClusterRole(t, tt.file)
			run := func(t *testing.T, drop *permission) result {
				t.Helper()
				target := tt.setup(t)
				kubeconfig := e.userWithRole(t, c, ns, cr, drop, "")
				return e.wi(t, append(tt.args(target), "--kubeconfig", kubeconfig)...)
			}
			t.Run("its role is enough", func(t *testing.T) {
				if r := run(t, nil); r.code != 0 {
					t.Fatalf("exit %d with only %s\nstdout:\n%s\nstderr:\n%s", r.code, tt.file, r.stdout, r.stderr)
				}
			})
			// Bound in the one namespace it works in (a RoleBinding): the cluster-scoped reads
			// are forbidden, and the command goes on without them.
			t.Run("its role bound in the namespace is enough", func(t *testing.T) {
				target := tt.setup(t)
				kubeconfig := e.userWithRole(t, c, ns, cr, nil, target)
				if r := e.wi(t, append(tt.args(target), "--kubeconfig", kubeconfig)...); r.code != 0 {
					t.Fatalf("exit %d with %s bound in %s\nstdout:\n%s\nstderr:\n%s", r.code, tt.file, target, r.stdout, r.stderr)
				}
			})
			for _, p := range tt.required {
				t.Run("without "+p.verb+" "+p.resource, func(t *testing.T) {
					r := run(t, &p)
					want := fmt.Sprintf("ask for RBAC verb %q on %q", p.verb, p.resource)
					if r.code != 3 || !strings.Contains(r.stderr, want) {
						t.Fatalf("exit %d, want 3 and stderr naming %s\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
					}
				})
			}
		})
	}
}

func loadClusterRole(t *testing.T, file string) *rbacv1.ClusterRole {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	var cr rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(b, &cr); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return &cr
}

// without returns the rules of cr with drop's verb taken off drop's resource alone.
func without(cr *rbacv1.ClusterRole, drop *permission) []rbacv1.PolicyRule {
	if drop == nil {
		return cr.Rules
	}
	resource, group, _ := strings.Cut(drop.resource, ".")
	var out []rbacv1.PolicyRule
	for _, r := range cr.Rules {
		if !slices.Contains(r.APIGroups, group) || !slices.Contains(r.Resources, resource) || !slices.Contains(r.Verbs, drop.verb) {
			out = append(out, r)
			continue
		}
		// The other resources keep every verb; this one loses the dropped verb.
		if rest := slices.DeleteFunc(slices.Clone(r.Resources), func(s string) bool { return s == resource }); len(rest) > 0 {
			out = append(out, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: rest, Verbs: r.Verbs})
		}
		if verbs := slices.DeleteFunc(slices.Clone(r.Verbs), func(s string) bool { return s == drop.verb }); len(verbs) > 0 {
			out = append(out, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: []string{resource}, Verbs: verbs})
		}
	}
	return out
}

// userWithRole makes a service account bound to cr less drop, cluster-wide or, when bindIn
// names a namespace, in that namespace only (a RoleBinding), and returns a kubeconfig that
// authenticates as it with a short-lived token. Everything is removed when the test ends.
func (e env) userWithRole(t *testing.T, c kubernetes.Interface, ns string, cr *rbacv1.ClusterRole, drop *permission, bindIn string) string {
	t.Helper()
	ctx := context.Background()
	name := "wi-rbac-" + randSuffix()
	serviceAccount(t, c, ns, name, nil)
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: without(cr, drop)}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	roleRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}}
	var err error
	if bindIn == "" {
		_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: roleRef, Subjects: subjects}, metav1.CreateOptions{})
	} else {
		_, err = c.RbacV1().RoleBindings(bindIn).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: roleRef, Subjects: subjects}, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		if bindIn != "" {
			_ = c.RbacV1().RoleBindings(bindIn).Delete(context.Background(), name, metav1.DeleteOptions{})
		}
		_ = c.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	tr, err := c.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := clientcmd.LoadFromFile(e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = cluster
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "local", AuthInfo: name, Namespace: ns}
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	// The authorizer reads bindings from a cache: wait until it grants the role's first rule.
	restCfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	user := kubernetes.NewForConfigOrDie(restCfg)
	first := role.Rules[0]
	waitFor(t, 30*time.Second, "the binding of "+name+" to take effect", func(ctx context.Context) (bool, error) {
		ra := &authorizationv1.ResourceAttributes{Namespace: cmp.Or(bindIn, ns), Verb: first.Verbs[0], Group: first.APIGroups[0], Resource: first.Resources[0]}
		review, err := user.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: ra},
		}, metav1.CreateOptions{})
		return err == nil && review.Status.Allowed, nil
	})
	return path
}

// rbacDeployment makes deployment web of one replica running as app; its pod may stay Pending.
func rbacDeployment(t *testing.T, c kubernetes.Interface, ns, image string) {
	t.Helper()
	labels := map[string]string{"app": "web"}
	_, err := c.AppsV1().Deployments(ns).Create(context.Background(), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{ServiceAccountName: "app", TerminationGracePeriodSeconds: ptr.To[int64](0),
					Containers: []corev1.Container{{Name: "app", Image: image, ImagePullPolicy: corev1.PullIfNotPresent}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// TestVerifyRefusedBeforeThePod: a user with verify's role but neither "create configmaps" nor
// "delete pods" runs verify with --ca-bundle. The ConfigMap is refused first, so no probe pod
// was ever asked for: the run exits 3 naming what was refused, and warns of no pod it failed
// to delete.
func TestVerifyRefusedBeforeThePod(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/refused"})
	cr := loadClusterRole(t, "verify.yaml")
	cr.Rules = without(cr, &permission{"delete", "pods"})
	kubeconfig := e.userWithRole(t, c, ns, cr, &permission{"create", "configmaps"}, "")

	r := e.wi(t, append(e.verifyArgs(ns, "serviceaccount/app", e.stsEndpoint), "--kubeconfig", kubeconfig)...)
	if r.code != 3 || !strings.Contains(r.stderr, `ask for RBAC verb "create" on "configmaps"`) {
		t.Fatalf("exit %d, want 3 naming create configmaps\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, "failed to delete") || strings.Contains(out, "could not delete") {
			t.Errorf("warns about deleting what was never created:\n%s", out)
		}
	}
}
