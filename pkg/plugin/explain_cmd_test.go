package plugin

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/explain"
)

const exHost = "127.0.0.1:6443"

// exAWS serves one role's trust policy and the cluster's provider; deny answers one action
// AccessDenied.
type exAWS struct {
	awsread.Reader // nil: a call outside IRSA's reads panics the test
	trust          string
	deny           string
}

func (f exAWS) err(action string) error {
	if f.deny == action {
		return awsconfig.Wrap(&smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized"}, action, "")
	}
	return nil
}

func (f exAWS) GetRole(_ context.Context, name string) (awsread.Role, error) {
	return awsread.Role{ARN: "arn:aws:iam::111122223333:role/" + name, TrustPolicy: url.QueryEscape(f.trust)}, f.err(awsread.ActionGetRole)
}

func (f exAWS) ListOpenIDConnectProviders(context.Context) ([]string, error) {
	return []string{"arn:aws:iam::111122223333:oidc-provider/" + exHost}, f.err(awsread.ActionListOpenIDConnectProviders)
}

func (f exAWS) GetOpenIDConnectProvider(_ context.Context, arn string) (awsread.OIDCProvider, error) {
	return awsread.OIDCProvider{ARN: arn, URL: exHost, ClientIDs: []string{"sts.amazonaws.com"}}, f.err(awsread.ActionGetOpenIDConnectProvider)
}

func exTrust(sub string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/` + exHost + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + exHost + `:sub":"` + sub + `","` + exHost + `:aud":"sts.amazonaws.com"}}}]}`
}

func runExplain(t *testing.T, reads awsread.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cf := genericclioptions.NewConfigFlags(false)
	cf.Namespace = ptr.To("shop")
	c := fake.NewClientset(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "app",
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/app"}}})
	d := fakeDeps(c)
	d.discovery = func(kubernetes.Interface) apicall.DiscoveryFunc {
		return func(context.Context) ([]byte, error) { return []byte(`{"issuer":"https://` + exHost + `"}`), nil }
	}
	d.loadAWS = func(context.Context, awsconfig.Options) (aws.Config, error) {
		return aws.Config{Region: "us-west-2"}, nil
	}
	d.explainClients = func(aws.Config) (awsread.Reader, explain.STS) { return reads, nil }
	cmd := newCmdExplain(newExplainOptions(cf, streams, d))
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		errOut.WriteString("error: " + err.Error())
	}
	return out.String(), errOut.String(), ExitCode(err)
}

func TestExplainCommand(t *testing.T) {
	good := exAWS{trust: exTrust("system:serviceaccount:shop:app")}
	t.Run("healthy, text", func(t *testing.T) {
		out, errOut, code := runExplain(t, good, "app")
		if code != ExitOK || !strings.Contains(out, "PASS iam.trust  shop/app: the trust policy of arn:aws:iam::111122223333:role/app admits") {
			t.Fatalf("code %d\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("a wrong namespace: exit 1, the clause, the diff and the fix", func(t *testing.T) {
		out, _, code := runExplain(t, exAWS{trust: exTrust("system:serviceaccount:prod:app")}, "app", "-o", "text")
		for _, want := range []string{
			`FAIL iam.trust  shop/app: the trust policy of arn:aws:iam::111122223333:role/app does not admit system:serviceaccount:shop:app`,
			`names the namespace prod; the service account is in shop`,
			"       -          \"" + exHost + `:sub": "system:serviceaccount:prod:app",`,
			"       +          \"" + exHost + `:sub": "system:serviceaccount:shop:app",`,
			"  fix: aws iam update-assume-role-policy --role-name app --policy-document '",
		} {
			if !strings.Contains(out, want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		}
		if code != ExitCheckFailed {
			t.Fatalf("code %d, want 1", code)
		}
	})
	t.Run("json: events, the diff in detail", func(t *testing.T) {
		out, _, code := runExplain(t, exAWS{trust: exTrust("system:serviceaccount:shop:*")}, "-o", "json")
		if code != ExitCheckFailed {
			t.Fatalf("code %d", code)
		}
		var trust *check.Event
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var ev check.Event
			if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Valid() != nil {
				t.Fatalf("line %q is not an event: %v", line, err)
			}
			if ev.Check == explain.CheckTrust {
				trust = &ev
			}
		}
		if trust == nil || !strings.Contains(trust.Detail, "+        \"StringLike\": {") || trust.Data["corrected_policy"] == nil {
			t.Fatalf("trust event %+v", trust)
		}
	})
	t.Run("a denied read is exit 3 naming the action", func(t *testing.T) {
		_, errOut, code := runExplain(t, exAWS{trust: exTrust("x"), deny: awsread.ActionGetRole}, "app")
		if code != ExitEnvironment || !strings.Contains(errOut, "ask for iam:GetRole") {
			t.Fatalf("code %d\n%s", code, errOut)
		}
	})
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"TARGET with -A", []string{"app", "-A"}, "give no -A or -l"},
		{"two targets", []string{"a", "b"}, "at most one TARGET"},
		{"bad output", []string{"-o", "yaml"}, `--output "yaml" is not supported`},
		{"bad selector", []string{"-l", "a=("}, "invalid -l selector"},
		{"bad issuer", []string{"--issuer", "http://x"}, "invalid --issuer"},
		{"tui without a terminal", []string{"-o", "tui"}, "needs a terminal"},
		{"a custom resource", []string{"storageclusters.core.libopenstorage.org/x"}, "custom resource"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := runExplain(t, good, tt.args...)
			if code != ExitUsage || !strings.Contains(errOut, tt.want) {
				t.Fatalf("code %d, want 2 with %q:\n%s", code, tt.want, errOut)
			}
		})
	}
	t.Run("a missing target is exit 2", func(t *testing.T) {
		_, errOut, code := runExplain(t, good, "nope")
		if code != ExitUsage || !strings.Contains(errOut, `"nope" not found in namespace "shop"`) {
			t.Fatalf("code %d\n%s", code, errOut)
		}
	})
}
