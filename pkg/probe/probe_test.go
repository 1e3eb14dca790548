package probe

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// TestNoSecretsInOutput runs the whole probe, IRSA through the real SDK against a fake STS and
// Pod Identity against a fake agent, passing and failing, and looks for every secret in the
// bytes the pod would log.
func TestNoSecretsInOutput(t *testing.T) {
	token := signToken(t, goodClaims())
	podToken := signToken(t, podIdentityClaims())
	secrets := []string{
		token, podToken, lastPart(token), lastPart(podToken),
		stsAccessKeyID, stsSecretKey, stsSessionToken,
		agentAccessKeyID, agentSecretKey, agentToken,
	}

	irsa := func(t *testing.T, replies map[string]stsReply, contents string) Deps {
		t.Helper()
		srv := fakeSTSServer(t, contents, replies)
		env := irsaEnv()
		env["AWS_ENDPOINT_URL_STS"] = srv.URL
		deps := fakeDeps(env, files{testTokenPath: contents}, nil)
		deps.NewSTS = realSTS(srv)
		return deps
	}
	tests := []struct {
		name    string
		deps    func(t *testing.T) Deps
		extra   []string // more secrets this case has
		wantRes check.Status
	}{
		{
			name: "IRSA passes",
			deps: func(t *testing.T) Deps {
				t.Helper()
				return irsa(t, map[string]stsReply{
					opAssumeRoleWithWebIdentity: {"assume-role-ok.xml", http.StatusOK},
					opGetCallerIdentity:         {"caller-identity-ok.xml", http.StatusOK},
				}, token)
			},
			wantRes: check.StatusPass,
		},
		{
			name: "IRSA STS refuses",
			deps: func(t *testing.T) Deps {
				t.Helper()
				return irsa(t, map[string]stsReply{opAssumeRoleWithWebIdentity: {"access-denied.xml", http.StatusForbidden}}, token)
			},
			wantRes: check.StatusFail,
		},
		{
			name: "IRSA caller identity refuses the credentials",
			deps: func(t *testing.T) Deps {
				t.Helper()
				return irsa(t, map[string]stsReply{
					opAssumeRoleWithWebIdentity: {"assume-role-ok.xml", http.StatusOK},
					opGetCallerIdentity:         {"invalid-client-token-id.xml", http.StatusForbidden},
				}, token)
			},
			wantRes: check.StatusFail,
		},
		{
			name: "token file is not a JWT",
			deps: func(t *testing.T) Deps {
				t.Helper()
				return irsa(t, map[string]stsReply{opAssumeRoleWithWebIdentity: {"no-oidc-provider.xml", http.StatusBadRequest}}, "not-a-jwt-but-still-a-secret")
			},
			extra:   []string{"not-a-jwt-but-still-a-secret"},
			wantRes: check.StatusFail,
		},
		{
			name: "an STS that echoes the token and credentials in its errors",
			deps: func(*testing.T) Deps {
				deps := fakeDeps(irsaEnv(), files{testTokenPath: token}, STSFuncs{
					AssumeRoleWithWebIdentityFn: func(context.Context, *sts.AssumeRoleWithWebIdentityInput, ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
						return assumeRoleOutput(), nil
					},
					GetCallerIdentityFn: func(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
						return nil, &smithy.OperationError{ServiceID: "STS", OperationName: opGetCallerIdentity, Err: &smithy.GenericAPIError{
							Code:    "Weird",
							Message: "you sent " + token + " and " + stsSecretKey + " and " + stsSessionToken + " from " + stsAccessKeyID,
						}}
					},
				})
				return deps
			},
			wantRes: check.StatusFail,
		},
		{
			name: "Pod Identity passes",
			deps: func(t *testing.T) Deps {
				t.Helper()
				agent := fakeAgent(t, podToken, http.StatusOK, agentOKBody)
				deps := fakeDeps(podEnv(agent), files{testPodPath: podToken}, callerSTS(t, "arn:aws:sts::111122223333:assumed-role/checkout-role/s"))
				deps.HTTPClient = agent.Client()
				return deps
			},
			wantRes: check.StatusPass,
		},
		{
			name: "Pod Identity agent echoes the token",
			deps: func(t *testing.T) Deps {
				t.Helper()
				agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusForbidden)
					_, _ = io.WriteString(w, "refused "+r.Header.Get("Authorization"))
				}))
				t.Cleanup(agent.Close)
				deps := fakeDeps(podEnv(agent), files{testPodPath: podToken}, STSFuncs{})
				deps.HTTPClient = agent.Client()
				return deps
			},
			wantRes: check.StatusFail,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, out := jsonOutput(t, testConfig(), tt.deps(t))
			if sum.Status != tt.wantRes {
				t.Errorf("status %s, want %s:\n%s", sum.Status, tt.wantRes, out)
			}
			for _, s := range append(secrets, tt.extra...) {
				if bytes.Contains(out, []byte(s)) {
					t.Errorf("the output holds the secret %.12s...:\n%s", s, out)
				}
			}
			// Every line is an event.
			if err := check.ReadLines(bytes.NewReader(out), func(l check.Line) error {
				if l.Event == nil {
					return errors.New("not an event: " + l.Raw)
				}
				return nil
			}); err != nil {
				t.Error(err)
			}
		})
	}
}

func lastPart(jwt string) string { return jwt[strings.LastIndex(jwt, ".")+1:] }

func podEnv(agent *httptest.Server) map[string]string {
	return map[string]string{
		envContainerFullURI:       agent.URL + testAgentPath,
		envContainerAuthTokenFile: testPodPath,
		"AWS_REGION":              "us-west-2",
	}
}

func TestNoIdentityEnv(t *testing.T) {
	rec := &recorder{}
	sum, err := Run(context.Background(), testConfig(), fakeDeps(map[string]string{}, files{}, STSFuncs{}), rec)
	if err != nil {
		t.Fatal(err)
	}
	if sum != (Summary{Status: check.StatusFail, Checks: 1, Failed: 1}) {
		t.Errorf("summary %+v", sum)
	}
	ev := rec.find(t, check.TypeCheck, CheckEnvPath)
	if ev.Status != check.StatusFail || !strings.Contains(ev.Message, "webhook did not mutate this pod") {
		t.Errorf("env.path %+v", ev)
	}
	res := rec.last(t)
	want := check.Event{V: 1, Time: testNow, Type: check.TypeResult, Status: check.StatusFail, Message: "1 of 1 checks failed", Fix: ev.Fix}
	res.Data = nil
	if res.V != want.V || !res.Time.Equal(want.Time) || res.Type != want.Type || res.Status != want.Status || res.Message != want.Message || res.Fix != want.Fix {
		t.Errorf("result %+v, want %+v", res, want)
	}
	for _, s := range []string{"eks.amazonaws.com/role-arn", "mutatingwebhookconfigurations", "restart pods created before the annotation"} {
		if !strings.Contains(ev.Fix, s) {
			t.Errorf("fix %q lacks %q", ev.Fix, s)
		}
	}
}

func TestResultCombinesFixes(t *testing.T) {
	c := goodClaims()
	c.Issuer = "https://elsewhere"
	c.Subject = "system:serviceaccount:shop:default"
	deps := fakeDeps(irsaEnv(), files{testTokenPath: signToken(t, c)}, okSTS())
	rec := &recorder{}
	sum, err := Run(context.Background(), testConfig(), deps, rec)
	if err != nil {
		t.Fatal(err)
	}
	res := rec.last(t)
	if sum.Failed != 2 || res.Message != "2 of 12 checks failed" {
		t.Errorf("summary %+v, message %q", sum, res.Message)
	}
	fixes := strings.Split(res.Fix, "\n")
	if len(fixes) != 2 || fixes[0] != rec.find(t, check.TypeCheck, CheckTokenIssuer).Fix || fixes[1] != rec.find(t, check.TypeCheck, CheckTokenSubject).Fix {
		t.Errorf("fix %q", res.Fix)
	}
}

type failingSink struct{ n int }

func (s *failingSink) Emit(check.Event) error {
	s.n++
	return errors.New("stdout closed")
}

func TestRunErrors(t *testing.T) {
	if _, err := Run(context.Background(), Config{}, Deps{}, &recorder{}); err == nil {
		t.Error("Run without Deps did not fail")
	}
	sink := &failingSink{}
	_, err := Run(context.Background(), testConfig(), fakeDeps(map[string]string{}, files{}, STSFuncs{}), sink)
	if err == nil || !strings.Contains(err.Error(), "stdout closed") || sink.n != 1 {
		t.Errorf("err %v after %d writes", err, sink.n)
	}
}
