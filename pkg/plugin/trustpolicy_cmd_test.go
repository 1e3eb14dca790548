package plugin

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

const (
	tpTestIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	tpTestHP     = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
)

// tpServiceAccount builds a service account with annotations (key, value, key, value...).
func tpServiceAccount(ns, name string, kv ...string) *corev1.ServiceAccount {
	a := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		a[kv[i]] = kv[i+1]
	}
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: a}}
}

func tpStaticIssuer(iss string) func(context.Context, kubernetes.Interface) (string, error) {
	return func(context.Context, kubernetes.Interface) (string, error) { return iss, nil }
}

// tpResult is what a run of the command printed and returned.
type tpResult struct {
	out, errOut string
	code        int
}

// runSubcommand runs one verb under a root that carries the kubectl flags, as Main does, with
// a kubeconfig that does not exist so nothing outside the test is read.
func runSubcommand(t *testing.T, build func(*genericclioptions.ConfigFlags, genericiooptions.IOStreams) *cobra.Command, args ...string) tpResult {
	t.Helper()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing-kubeconfig"))
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cf := genericclioptions.NewConfigFlags(false)
	root := &cobra.Command{Use: "wi", SilenceErrors: true, SilenceUsage: true}
	cf.AddFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	root.AddCommand(build(cf, streams))
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
	}
	return tpResult{out: out.String(), errOut: errOut.String(), code: ExitCode(err)}
}

// runTrustPolicy runs `trust-policy args...` against client, with the issuer from issuerFn.
func runTrustPolicy(t *testing.T, client kubernetes.Interface, issuerFn func(context.Context, kubernetes.Interface) (string, error), args ...string) tpResult {
	t.Helper()
	return runSubcommand(t, func(cf *genericclioptions.ConfigFlags, s genericiooptions.IOStreams) *cobra.Command {
		d := fakeDeps(client)
		d.newClient = func(*genericclioptions.ConfigFlags) (kubernetes.Interface, error) {
			if client == nil {
				t.Fatal("trust-policy built a client it should not need")
			}
			return client, nil
		}
		d.issuer = issuerFn
		return newCmdTrustPolicy(newTrustPolicyOptions(cf, s, d))
	}, append([]string{"trust-policy"}, args...)...)
}

func TestTrustPolicyErrors(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{}, "", errors.New(`User "dev" cannot get path "/.well-known/openid-configuration"`))
	role := identity.AnnotationRoleARN
	tests := []struct {
		name     string
		objs     []runtime.Object
		reactor  k8stesting.ReactionFunc // on get serviceaccounts
		issuer   func(context.Context, kubernetes.Interface) (string, error)
		args     []string
		wantCode int
		wantErr  []string // substrings of stderr
	}{
		{
			name: "no role annotation, no account flag", objs: []runtime.Object{tpServiceAccount("team", "app")},
			args: []string{"app", "-n", "team"}, wantCode: ExitUsage,
			wantErr: []string{"has no eks.amazonaws.com/role-arn annotation", "--account-id", "kubectl wi enable"},
		},
		{
			name: "no service account, no account flag",
			args: []string{"app", "-n", "team"}, wantCode: ExitUsage,
			wantErr: []string{"team/app does not exist", "--account-id"},
		},
		{
			name: "invalid role ARN, no account flag", objs: []runtime.Object{tpServiceAccount("team", "app", role, "arn:aws:iam::1234:role/app")},
			args: []string{"app", "-n", "team"}, wantCode: ExitUsage,
			wantErr: []string{"12 digits", "--account-id"},
		},
		{
			name: "namespace-wide without account", args: []string{"-n", "team", "--namespace-wide"}, wantCode: ExitUsage,
			wantErr: []string{"--account-id"},
		},
		{
			name: "discovered issuer is http", objs: []runtime.Object{tpServiceAccount("team", "app", role, "arn:aws:iam::111122223333:role/app")},
			issuer: tpStaticIssuer("http://issuer.example.com"),
			args:   []string{"app", "-n", "team"}, wantCode: ExitEnvironment,
			wantErr: []string{`issuer is "http://issuer.example.com", which is not https`, "--issuer"},
		},
		{
			name: "discovery forbidden", objs: []runtime.Object{tpServiceAccount("team", "app", role, "arn:aws:iam::111122223333:role/app")},
			issuer: func(context.Context, kubernetes.Interface) (string, error) {
				return apicall.IssuerFromDiscovery(nil, forbidden)
			},
			args: []string{"app", "-n", "team"}, wantCode: ExitEnvironment,
			wantErr: []string{"is forbidden", "--issuer URL", "system:service-account-issuer-discovery"},
		},
		{
			name: "discovery not served",
			objs: []runtime.Object{tpServiceAccount("team", "app", role, "arn:aws:iam::111122223333:role/app")},
			issuer: func(context.Context, kubernetes.Interface) (string, error) {
				return apicall.IssuerFromDiscovery(nil, apierrors.NewNotFound(schema.GroupResource{}, ""))
			},
			// A 404 of the discovery path is the environment, not a missing object.
			args: []string{"app", "-n", "team"}, wantCode: ExitEnvironment,
			wantErr: []string{"does not serve", "--issuer"},
		},
		{
			name: "service account read forbidden",
			reactor: func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts"}, "app", errors.New("no"))
			},
			args: []string{"app", "-n", "team", "--account-id", "111122223333"}, wantCode: ExitEnvironment,
			wantErr: []string{"failed to get service account team/app"},
		},
		{name: "http --issuer", args: []string{"app", "-n", "team", "--issuer", "http://x.example.com"}, wantCode: ExitUsage, wantErr: []string{"invalid --issuer", "not an https URL"}},
		{name: "bad account id", args: []string{"app", "--account-id", "12345"}, wantCode: ExitUsage, wantErr: []string{"12 digits"}},
		{name: "bad partition", args: []string{"app", "--partition", "azure"}, wantCode: ExitUsage, wantErr: []string{"not an AWS partition", "aws-us-gov"}},
		{name: "bad output", args: []string{"app", "-o", "table"}, wantCode: ExitUsage, wantErr: []string{`--output "table" is not supported: allowed formats are `}},
		{name: "a custom resource", args: []string{"storagecluster/px"}, wantCode: ExitUsage, wantErr: []string{"trust-policy takes a service account or a deployment"}},
		{name: "KIND NAME", args: []string{"deployment", "web"}, wantCode: ExitUsage, wantErr: []string{"write deployment/web"}},
		{name: "a missing deployment", args: []string{"deployment/web"}, wantCode: ExitUsage, wantErr: []string{`deployment.apps "web" not found in namespace`}},
		{name: "bad name", args: []string{"App_1"}, wantCode: ExitUsage, wantErr: []string{"not a valid object name"}},
		{name: "no name", args: []string{"-n", "team"}, wantCode: ExitUsage, wantErr: []string{"needs a service account"}},
		{name: "two names", args: []string{"a", "b"}, wantCode: ExitUsage, wantErr: []string{"takes one service account"}},
		{name: "wildcard audience", args: []string{"app", "--audience", "sts.*"}, wantCode: ExitUsage, wantErr: []string{"wildcard"}},
		{name: "pod identity and namespace-wide", args: []string{"--pod-identity", "--namespace-wide"}, wantCode: ExitUsage, wantErr: []string{"names no service account"}},
		{name: "pod identity and issuer", args: []string{"app", "--pod-identity", "--issuer", tpTestIssuer}, wantCode: ExitUsage, wantErr: []string{"does not apply"}},
		{name: "pod identity in China", args: []string{"app", "--pod-identity", "--partition", "aws-cn"}, wantCode: ExitUsage, wantErr: []string{"not available in the China regions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.objs...)
			if tt.reactor != nil {
				client.PrependReactor("get", "serviceaccounts", tt.reactor)
			}
			issuer := tt.issuer
			if issuer == nil {
				issuer = tpStaticIssuer(tpTestIssuer)
			}
			res := runTrustPolicy(t, client, issuer, tt.args...)
			if res.code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", res.code, tt.wantCode, res.errOut)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(res.errOut, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, res.errOut)
				}
			}
			if res.out != "" {
				t.Errorf("stdout not empty on error:\n%s", res.out)
			}
		})
	}
}

func TestTrustPolicyFlagsOverrideTheRoleARN(t *testing.T) {
	client := fake.NewClientset(tpServiceAccount("team", "app", identity.AnnotationRoleARN, "arn:aws:iam::111122223333:role/app"))
	called := false
	issuer := func(context.Context, kubernetes.Interface) (string, error) {
		called = true
		return "", errors.New("unused")
	}
	res := runTrustPolicy(t, client, issuer, "app", "-n", "team", "-o", "json",
		"--account-id", "444455556666", "--partition", "aws-us-gov", "--issuer", tpTestIssuer, "--audience", "custom")
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.errOut)
	}
	if called {
		t.Fatal("--issuer given, yet the cluster's issuer was read")
	}
	if !strings.Contains(res.errOut, "differs from the account 111122223333") {
		t.Errorf("no warning about the account mismatch:\n%s", res.errOut)
	}
	for _, want := range []string{
		`"Federated": "arn:aws-us-gov:iam::444455556666:oidc-provider/` + tpTestHP + `"`,
		`"` + tpTestHP + `:aud": "custom"`,
	} {
		if !strings.Contains(res.out, want) {
			t.Errorf("policy lacks %s:\n%s", want, res.out)
		}
	}
	// Only one object was read: the service account, with a GET.
	var verbs []string
	for _, a := range client.Actions() {
		verbs = append(verbs, a.GetVerb()+" "+a.GetResource().Resource)
	}
	if strings.Join(verbs, ",") != "get serviceaccounts" {
		t.Errorf("API calls = %v, want one get of the service account", verbs)
	}
}

func TestTrustPolicyWarnsOnInClusterIssuer(t *testing.T) {
	client := fake.NewClientset(tpServiceAccount("team", "app", identity.AnnotationRoleARN, "arn:aws:iam::111122223333:role/app"))
	res := runTrustPolicy(t, client, tpStaticIssuer("https://kubernetes.default.svc.cluster.local"), "app", "-n", "team", "-o", "json")
	if res.code != ExitOK || !strings.Contains(res.errOut, "in-cluster name") {
		t.Fatalf("exit %d, stderr %q; want a warning about the in-cluster issuer", res.code, res.errOut)
	}
}
