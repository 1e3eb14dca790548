package probe

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// TestMinIO runs the probe against MinIO's recorded answers: a role ARN of partition minio, an
// AssumeRoleWithWebIdentity reply with an empty AssumedRoleUser, and no GetCallerIdentity
// (InvalidParameterValue "Unsupported action GetCallerIdentity"). The role check passes, the
// assume passes naming the role, and the caller identity is a warn that says why.
func TestMinIO(t *testing.T) {
	const minioRole = "arn:minio:iam:::role/oxnUw3DAuQF1uggjXGxI2AmW8IA"
	token := signToken(t, goodClaims())
	srv := fakeSTSServer(t, token, map[string]stsReply{
		opAssumeRoleWithWebIdentity: {"minio-assume-role-ok.xml", http.StatusOK},
		opGetCallerIdentity:         {"minio-unsupported-action.xml", http.StatusBadRequest},
	})
	env := irsaEnv()
	env[envRoleARN] = minioRole
	env["AWS_ENDPOINT_URL_STS"] = srv.URL
	deps := fakeDeps(env, files{testTokenPath: token}, nil)
	deps.NewSTS = realSTS(srv)
	cfg := testConfig()
	cfg.ExpectedRoleARN = minioRole

	rec := &recorder{}
	sum, err := Run(t.Context(), cfg, deps, rec)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != check.StatusWarn || sum.Failed != 0 || sum.Warned != 1 {
		t.Fatalf("summary %+v, want warn with 0 failed and 1 warned; events %v", sum, rec.events)
	}
	st := rec.statuses()
	for _, c := range []string{CheckEnvRoleARN, CheckSTSAssumeRole} {
		if st[c] != check.StatusPass {
			t.Errorf("%s is %s, want pass", c, st[c])
		}
	}
	if ev := rec.find(t, check.TypeCheck, CheckEnvRoleARN); !strings.Contains(ev.Message, "partition minio is not AWS's") {
		t.Errorf("env.role_arn message %q does not name the partition", ev.Message)
	}
	if ev := rec.find(t, check.TypeCheck, CheckSTSAssumeRole); ev.Message != "assumed "+minioRole {
		t.Errorf("sts.assume_role message %q, want %q", ev.Message, "assumed "+minioRole)
	}
	ev := rec.find(t, check.TypeCheck, CheckSTSCallerIdentity)
	if ev.Status != check.StatusWarn || !strings.Contains(ev.Message, "does not implement GetCallerIdentity (InvalidParameterValue: Unsupported action GetCallerIdentity)") {
		t.Errorf("sts.caller_identity = %s %q, want a warn naming the unsupported action", ev.Status, ev.Message)
	}
}
