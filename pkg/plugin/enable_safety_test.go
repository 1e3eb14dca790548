package plugin

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

// The three ways enable could change what the user did not ask for, each refused with exit 2
// and no write unless the user says so explicitly.

func TestEnableRefusesTheDefaultAccountOfAWorkload(t *testing.T) {
	nosa := kt.Deployment("shop", "nosa", "")
	other := kt.Deployment("shop", "other", "")
	db := kt.StatefulSet("shop", "db", "default") // names default explicitly: shares it too
	own := kt.Deployment("shop", "own", "own-sa")
	objs := func() *fake.Clientset {
		return fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "default", nil), kt.ServiceAccount("shop", "own-sa", nil),
			nosa, other, db, own, kt.PodOf(nosa, "nosa-1", ""), kt.PodOf(other, "other-1", ""), kt.PodOf("shop", "bare", ""))
	}
	for _, args := range [][]string{
		{"enable", "deployment/nosa", "-n", "shop", "--role-arn", roleARN},
		{"enable", "deployment/nosa", "-n", "shop", "--role-arn", roleARN, "--dry-run=server"},
		{"enable", "deployment/nosa", "-n", "shop", "--role-arn", roleARN, "--overwrite", "--create", "--reset"},
		{"enable", "sts/db", "-n", "shop", "--role-arn", roleARN},
		{"disable", "deployment/nosa", "-n", "shop"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runWI(t, objs(), args...)
			wantCode(t, r, ExitUsage)
			if n := r.calls().Writes(); n != 0 {
				t.Fatalf("%d writes: %v", n, r.calls())
			}
			for _, want := range []string{
				`runs as serviceaccount/default, the account of every pod in namespace "shop" that names none: it is shared by `,
				"pod/bare", "every such pod created later gets what it carries",
				"name the shared account to mean it: kubectl wi " + args[0] + " serviceaccount/default -n shop",
			} {
				if !strings.Contains(r.errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.errOut)
				}
			}
			if strings.Contains(r.errOut, "deployment.apps/own") {
				t.Errorf("stderr names a workload with its own account:\n%s", r.errOut)
			}
		})
	}
	r := runWI(t, objs(), "enable", "deployment/nosa", "-n", "shop", "--role-arn", roleARN)
	for _, want := range []string{"shared by deployment.apps/other, statefulset.apps/db and pod/bare"} {
		if !strings.Contains(r.errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.errOut)
		}
	}

	// Named explicitly, the shared account gets the role, and its workloads restart.
	r = runWI(t, objs(), "enable", "serviceaccount/default", "-n", "shop", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if got := getSA(t, r.client, "shop", "default").Annotations[identity.AnnotationRoleARN]; got != roleARN {
		t.Fatalf("role-arn = %q", got)
	}
	for _, want := range []string{"deployment.apps/nosa restarted", "deployment.apps/other restarted", "pod/bare needs a manual restart"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
}

func TestEnableKeepsSettingsNotNamed(t *testing.T) {
	all := map[string]string{
		identity.AnnotationRoleARN: roleARN, identity.AnnotationAudience: "foo",
		identity.AnnotationTokenExpiration: "3600", identity.AnnotationSTSRegional: "true",
	}
	tests := []struct {
		name      string
		args      []string
		wantOut   string
		wantAnnos map[string]string
	}{
		{name: "rerun naming only the role", args: nil, wantOut: "serviceaccount/app unchanged\n", wantAnnos: all},
		{name: "one setting named", args: []string{"--token-expiration", "7200"},
			wantOut:   "serviceaccount/app annotated (token-expiration)\n",
			wantAnnos: map[string]string{identity.AnnotationRoleARN: roleARN, identity.AnnotationAudience: "foo", identity.AnnotationTokenExpiration: "7200", identity.AnnotationSTSRegional: "true"}},
		{name: "a setting named false", args: []string{"--sts-regional-endpoints=false"},
			wantOut:   "serviceaccount/app annotated (sts-regional-endpoints-)\n",
			wantAnnos: map[string]string{identity.AnnotationRoleARN: roleARN, identity.AnnotationAudience: "foo", identity.AnnotationTokenExpiration: "3600"}},
		{name: "reset", args: []string{"--reset"},
			wantOut:   "serviceaccount/app annotated (audience-, sts-regional-endpoints-, token-expiration-)\n",
			wantAnnos: map[string]string{identity.AnnotationRoleARN: roleARN}},
		{name: "reset keeps what is named", args: []string{"--reset", "--audience", "foo"},
			wantOut:   "serviceaccount/app annotated (sts-regional-endpoints-, token-expiration-)\n",
			wantAnnos: map[string]string{identity.AnnotationRoleARN: roleARN, identity.AnnotationAudience: "foo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"enable", "app", "-n", "shop", "--role-arn", roleARN, "--restart=never"}, tt.args...)
			r := runWI(t, fake.NewClientset(kt.ServiceAccount("shop", "app", all)), args...)
			wantCode(t, r, ExitOK)
			if r.out != tt.wantOut {
				t.Fatalf("stdout = %q, want %q", r.out, tt.wantOut)
			}
			got := getSA(t, r.client, "shop", "app").Annotations
			delete(got, "keep.example.com/note")
			if !reflect.DeepEqual(got, tt.wantAnnos) {
				t.Fatalf("annotations = %v\nwant          %v", got, tt.wantAnnos)
			}
		})
	}
}

// A kept setting is part of what the pods must carry: a pod with the right role but the
// default audience is stale when the account keeps audience foo.
func TestEnableKeptSettingsDecideStaleness(t *testing.T) {
	web := kt.Deployment("shop", "web", "app")
	sa := kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: roleARN, identity.AnnotationAudience: "foo"})
	r := runWI(t, fake.NewClientset(sa, web, kt.Injected(web, "web-1", "", identity.Config{RoleARN: roleARN, Audience: "foo"})),
		"enable", "app", "-n", "shop", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if want := "serviceaccount/app unchanged\ndeployment.apps/web unchanged: 1 live pod already carries the identity\n"; r.out != want {
		t.Fatalf("stdout = %q, want %q", r.out, want)
	}
}

func TestEnableOverwrite(t *testing.T) {
	old := map[string]string{identity.AnnotationRoleARN: kt.OtherRoleARN}
	objs := func() []runtime.Object {
		return []runtime.Object{
			kt.ServiceAccount("shop", "a", old), kt.ServiceAccount("shop", "b", nil), kt.ServiceAccount("team", "c", old),
			kt.ServiceAccount("team", "d", map[string]string{identity.AnnotationRoleARN: roleARN}),
		}
	}
	for _, sa := range objs() {
		sa.(interface{ SetLabels(map[string]string) }).SetLabels(map[string]string{"team": "payments"})
	}

	t.Run("one account", func(t *testing.T) {
		r := runWI(t, fake.NewClientset(objs()...), "enable", "a", "-n", "shop", "--role-arn", roleARN)
		wantCode(t, r, ExitUsage)
		want := "error: refusing to replace an existing role without --overwrite: serviceaccount/a -n shop has " + kt.OtherRoleARN +
			"; nothing was changed (add --overwrite to give it " + roleARN + ")\n"
		if r.errOut != want || r.calls().Writes() != 0 {
			t.Fatalf("stderr = %q\nwant     %q\ncalls %v", r.errOut, want, r.calls())
		}
	})
	t.Run("all or nothing across namespaces", func(t *testing.T) {
		r := runWI(t, fake.NewClientset(objs()...), "enable", "-l", "team=payments", "-A", "--role-arn", roleARN, "--dry-run=server")
		wantCode(t, r, ExitUsage)
		if r.calls().Writes() != 0 {
			t.Fatalf("calls %v", r.calls())
		}
		for _, want := range []string{"serviceaccount/a -n shop has " + kt.OtherRoleARN + "; serviceaccount/c -n team has " + kt.OtherRoleARN, "give them"} {
			if !strings.Contains(r.errOut, want) {
				t.Fatalf("stderr lacks %q: %q", want, r.errOut)
			}
		}
		if strings.Contains(r.errOut, "serviceaccount/b") || strings.Contains(r.errOut, "serviceaccount/d") {
			t.Fatalf("stderr names an account without another role: %q", r.errOut)
		}
	})
	t.Run("with --overwrite", func(t *testing.T) {
		r := runWI(t, fake.NewClientset(objs()...), "enable", "-l", "team=payments", "-A", "--role-arn", roleARN, "--overwrite", "--restart=never")
		wantCode(t, r, ExitOK)
		for _, ns := range [][2]string{{"shop", "a"}, {"shop", "b"}, {"team", "c"}, {"team", "d"}} {
			if got := getSA(t, r.client, ns[0], ns[1]).Annotations[identity.AnnotationRoleARN]; got != roleARN {
				t.Fatalf("%v role-arn = %q", ns, got)
			}
		}
	})
	t.Run("the same role needs no --overwrite", func(t *testing.T) {
		r := runWI(t, fake.NewClientset(objs()...), "enable", "d", "-n", "team", "--role-arn", roleARN, "--audience", "x", "--restart=never")
		wantCode(t, r, ExitOK)
	})
}

func TestEnableTargetMistakes(t *testing.T) {
	objs := func() *fake.Clientset {
		return fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "web", nil), kt.ServiceAccount("shop", "worker", nil),
			kt.Deployment("shop", "web", "web"), kt.Deployment("shop", "web-lost", "lost"))
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "KIND NAME", args: []string{"enable", "deployment", "web", "--create"},
			wantErr: `error: "deployment web": TARGET is KIND/NAME or NAME, not KIND NAME: write deployment/web` + "\nSee 'kubectl wi enable --help' for usage.\n"},
		{name: "a kind alone", args: []string{"enable", "sa", "--create"}, wantErr: `error: "sa" is a kind, not a name`},
		{name: "disable KIND NAME", args: []string{"disable", "sts", "db"}, wantErr: `error: "sts db": TARGET is KIND/NAME or NAME, not KIND NAME: write sts/db`},
		{name: "misspelt account", args: []string{"enable", "wbe"},
			wantErr: `error: serviceaccount "wbe" not found in namespace "shop"; did you mean serviceaccount/web?` + "\n"},
		{name: "misspelt deployment", args: []string{"enable", "deploy/wbe"},
			wantErr: `error: deployment.apps "wbe" not found in namespace "shop"; did you mean deployment/web?` + "\n"},
		{name: "nothing close", args: []string{"enable", "cache"},
			wantErr: `error: serviceaccount "cache" not found in namespace "shop"; create it with --create, or kubectl create serviceaccount cache -n shop` + "\n"},
		{name: "create makes no account a workload names", args: []string{"enable", "deploy/web-lost", "--create"},
			wantErr: `error: serviceaccount "lost" not found in namespace "shop" (the service account of deployment.apps/web-lost); create it first: kubectl wi enable serviceaccount/lost -n shop --create --role-arn ARN`},
		{name: "create with a selector", args: []string{"enable", "-l", "a=b", "--create"},
			wantErr: "error: --create creates the service accounts TARGET names, and -l selects existing ones"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string(nil), tt.args...), "-n", "shop")
			if args[0] == "enable" {
				args = append(args, "--role-arn", roleARN)
			}
			r := runWI(t, objs(), args...)
			wantCode(t, r, ExitUsage)
			if !strings.HasPrefix(r.errOut, tt.wantErr) {
				t.Fatalf("stderr = %q\nwant     %q", r.errOut, tt.wantErr)
			}
			if n := r.calls().Writes(); n != 0 {
				t.Fatalf("%d writes: %v", n, r.calls())
			}
		})
	}

	// --create creates exactly the account named.
	r := runWI(t, objs(), "enable", "cache", "--create", "-n", "shop", "--role-arn", roleARN)
	wantCode(t, r, ExitOK)
	if c := r.calls(); c["create serviceaccounts"] != 1 || c.Writes() != 1 {
		t.Fatalf("calls = %v", c)
	}
	if r.out != "serviceaccount/cache created (role-arn)\n" {
		t.Fatalf("stdout = %q", r.out)
	}
}
