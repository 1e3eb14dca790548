package plugin

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
)

func TestTrustPolicyGolden(t *testing.T) {
	noIssuer := func(context.Context, kubernetes.Interface) (string, error) {
		t.Fatal("the issuer was read although it should not be needed")
		return "", nil
	}
	tests := []struct {
		name   string
		objs   []runtime.Object
		issuer func(context.Context, kubernetes.Interface) (string, error)
		args   []string
		// evaluate: the subject the policy must admit and one it must refuse; empty: not IRSA.
		admit, refuse string
		warn          string // the stderr of a run that warns
		hostPath      string
	}{
		{
			name:   "aws",
			objs:   []runtime.Object{tpServiceAccount("team", "app", identity.AnnotationRoleARN, "arn:aws:iam::111122223333:role/app")},
			issuer: tpStaticIssuer(tpTestIssuer),
			args:   []string{"app", "-n", "team", "-o", "json"},
			admit:  "system:serviceaccount:team:app", refuse: "system:serviceaccount:team:other", hostPath: tpTestHP,
		},
		{
			name:   "aws-cn",
			objs:   []runtime.Object{tpServiceAccount("team", "app", identity.AnnotationRoleARN, "arn:aws-cn:iam::111122223333:role/app")},
			issuer: tpStaticIssuer("https://oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B71EXAMPLE"),
			args:   []string{"serviceaccount/app", "-n", "team", "-o", "json"},
			admit:  "system:serviceaccount:team:app", refuse: "system:serviceaccount:other:app",
			hostPath: "oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
		},
		{
			name:   "aws-us-gov",
			issuer: tpStaticIssuer("https://oidc.eks.us-gov-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"),
			// The account does not exist yet: flags give the account and partition.
			args:  []string{"sa/app", "-n", "team", "-o", "json", "--account-id", "111122223333", "--partition", "aws-us-gov"},
			objs:  []runtime.Object{kt.Namespace("team")},
			warn:  "Warning: service account team/app does not exist: the policy admits it once it is created (kubectl wi enable serviceaccount/app -n team --create --role-arn ARN)\n",
			admit: "system:serviceaccount:team:app", refuse: "system:serviceaccount:team:app2",
			hostPath: "oidc.eks.us-gov-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
		},
		{
			name:   "namespace-wide",
			issuer: tpStaticIssuer(tpTestIssuer),
			args:   []string{"-n", "team", "--namespace-wide", "--account-id", "111122223333", "-o", "json"},
			admit:  "system:serviceaccount:team:anything", refuse: "system:serviceaccount:team2:anything", hostPath: tpTestHP,
		},
		{
			name:   "pod-identity",
			issuer: noIssuer,
			args:   []string{"app", "-n", "team", "--pod-identity", "-o", "json"},
		},
		{
			name: "text",
			objs: []runtime.Object{tpServiceAccount("team", "app",
				identity.AnnotationRoleARN, "arn:aws:iam::111122223333:role/platform/app-reader",
				identity.AnnotationAudience, "my-audience")},
			issuer: tpStaticIssuer(tpTestIssuer),
			args:   []string{"app", "-n", "team"},
		},
		{
			name:   "text-namespace-wide",
			issuer: tpStaticIssuer(tpTestIssuer),
			args:   []string{"-n", "team", "--namespace-wide", "--account-id", "111122223333"},
		},
		{
			name:   "text-pod-identity",
			issuer: noIssuer,
			args:   []string{"app", "-n", "team", "--pod-identity", "--account-id", "111122223333"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var client kubernetes.Interface
			if !strings.Contains(strings.Join(tt.args, " "), "--pod-identity") {
				client = fake.NewClientset(tt.objs...)
			}
			res := runTrustPolicy(t, client, tt.issuer, tt.args...)
			if res.code != ExitOK || res.errOut != tt.warn {
				t.Fatalf("exit %d, stderr:\n%s", res.code, res.errOut)
			}
			golden.RequireEqual(t, res.out)

			if tt.admit == "" {
				return
			}
			var p trustpolicy.Policy
			if err := json.Unmarshal([]byte(res.out), &p); err != nil {
				t.Fatalf("-o json is not a policy: %v", err)
			}
			provider := p.Statement[0].Principal.Federated
			req := func(sub string) trustpolicy.WebIdentityRequest {
				return trustpolicy.WebIdentityRequest{ProviderARN: provider, HostPath: tt.hostPath, Subject: sub, Audience: identity.DefaultAudience}
			}
			if !strings.HasSuffix(provider, ":oidc-provider/"+tt.hostPath) {
				t.Fatalf("Federated = %s, want the provider of %s", provider, tt.hostPath)
			}
			if !p.Allows(req(tt.admit)) {
				t.Errorf("policy refuses %s", tt.admit)
			}
			if p.Allows(req(tt.refuse)) {
				t.Errorf("policy admits %s", tt.refuse)
			}
		})
	}
}
