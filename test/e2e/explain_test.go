//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// awsUser is an IAM user of the AWS stand-in, whose static key explain reads AWS with.
type awsUser struct {
	ARN             string   `json:"arn"`
	AccessKeyID     string   `json:"accessKeyId"`
	SecretAccessKey string   `json:"secretAccessKey"`
	Deny            []string `json:"deny,omitempty"`
}

type awsCluster struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	Issuer string `json:"issuer"`
}

const explainRegion = "us-west-2"

// addSTSEntries appends entries to a list of the stand-in's configuration (roles, users,
// clusters), which it reads again when the file changes.
func (e env) addSTSEntries(t *testing.T, list string, entries ...any) {
	t.Helper()
	e.editSTSConfig(t, func(cfg map[string]any) {
		have, _ := cfg[list].([]any)
		cfg[list] = append(have, entries...)
	})
}

// newAWSUser adds a user (denied the given actions) and returns it.
func (e env) newAWSUser(t *testing.T, deny ...string) awsUser {
	t.Helper()
	id := strings.ToUpper(randSuffix() + randSuffix())
	u := awsUser{ARN: fmt.Sprintf("arn:aws:iam::%s:user/e2e-%s", e.stsAccount, strings.ToLower(id)), AccessKeyID: "AKIAE2E" + id, SecretAccessKey: "e2e-secret-" + randSuffix() + randSuffix(), Deny: deny}
	e.addSTSEntries(t, "users", u)
	return u
}

// awsEnv is the environment that points the AWS SDK at the stand-in with the user's key, and
// at nothing else: no profile, no instance metadata.
func (e env) awsEnv(u *awsUser) []string { return append(os.Environ(), e.awsVars(u)...) }

// awsVars are awsEnv's settings alone, to set over another environment.
func (e env) awsVars(u *awsUser) []string {
	env := []string{
		"AWS_ENDPOINT_URL=" + e.stsEndpoint, "AWS_CA_BUNDLE=" + e.caFile, "AWS_REGION=" + explainRegion,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=",
	}
	if u != nil {
		env = append(env, "AWS_ACCESS_KEY_ID="+u.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+u.SecretAccessKey)
	}
	return env
}

func (e env) awsConfig(u awsUser) aws.Config {
	return aws.Config{Region: explainRegion, HTTPClient: clusterHTTPS(), BaseEndpoint: aws.String(e.stsEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider(u.AccessKeyID, u.SecretAccessKey, "")}
}

// awaitRole waits until the stand-in has read its configuration again and serves the role
// to the user.
func (e env) awaitRole(t *testing.T, u awsUser, role string) {
	t.Helper()
	c := iam.NewFromConfig(e.awsConfig(u))
	waitFor(t, 30*time.Second, "the AWS stand-in to serve the role "+role, func(ctx context.Context) (bool, error) {
		_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		return err == nil, nil
	})
}

// stsLog is the AWS stand-in's log of requests, one line each, from a mark on.
type stsLog struct {
	path string
	off  int64
}

func (e env) stsLogMark(t *testing.T) *stsLog {
	t.Helper()
	path := filepath.Join(filepath.Dir(e.auditLog), "wi-sts.log")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the AWS stand-in's request log: %v", err)
	}
	return &stsLog{path: path, off: fi.Size()}
}

// lines returns the requests logged since the mark that contain every one of match.
func (l *stsLog) lines(t *testing.T, match ...string) []string {
	t.Helper()
	f, err := os.Open(l.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(l.off, 0); err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, " service=") {
			continue
		}
		for _, m := range match {
			if !strings.Contains(line, m) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// explainEvents parses explain's -o json output.
func explainEvents(t *testing.T, out string) []check.Event {
	t.Helper()
	var evs []check.Event
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev check.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Valid() != nil {
			t.Fatalf("explain wrote a line that is not an event: %q", line)
		}
		evs = append(evs, ev)
	}
	return evs
}

// accountChecks are an account's check events, by check name.
func accountChecks(evs []check.Event, sa string) map[string][]check.Event {
	out := map[string][]check.Event{}
	for _, ev := range evs {
		if ev.Type == check.TypeCheck && (ev.Data["service_account"] == sa || strings.HasPrefix(ev.Message, sa+":")) {
			out[ev.Check] = append(out[ev.Check], ev)
		}
	}
	return out
}

// explainCase is one account of the catalogue: its trust policy, and what explain must say.
type explainCase struct {
	sa       string
	policy   func(ns, sa string) map[string]any // nil: the role does not exist
	audience string                             // the account's audience annotation, if any
	check    string                             // the failing check
	want     string                             // in its message
	diff     bool                               // a corrected policy as a diff
}

// TestExplainCatalogue seeds the AWS stand-in with a catalogue of IAM misconfigurations, one
// role each, and checks that explain names each with its clause and fix, passes the healthy
// accounts, creates no pod and makes no STS call; then that --exchange proves the healthy ones
// and explains the refusals.
func TestExplainCatalogue(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	host := strings.TrimPrefix(e.issuer, "https://")
	provider := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", e.stsAccount, host)
	sub := func(ns, sa string) string { return "system:serviceaccount:" + ns + ":" + sa }
	web := func(principal, action string, cond map[string]any) map[string]any {
		st := map[string]any{"Effect": "Allow", "Principal": map[string]any{"Federated": principal}, "Action": action}
		if cond != nil {
			st["Condition"] = cond
		}
		return map[string]any{"Version": "2012-10-17", "Statement": []any{st}}
	}
	exact := func(op string, kv ...string) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return map[string]any{op: m}
	}
	good := func(ns, sa string) map[string]any {
		return web(provider, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", host+":aud", "sts.amazonaws.com", host+":sub", sub(ns, sa)))
	}
	cases := []explainCase{
		{sa: "healthy", policy: good},
		{sa: "healthy-wide", policy: func(ns, _ string) map[string]any {
			return web(provider, "sts:AssumeRoleWithWebIdentity", map[string]any{"StringEquals": map[string]any{host + ":aud": "sts.amazonaws.com"}, "StringLike": map[string]any{host + ":sub": sub(ns, "*")}})
		}},
		{sa: "star-in-equals", check: "iam.trust", want: "a * or ? inside StringEquals is a literal character", diff: true, policy: func(ns, _ string) map[string]any {
			return web(provider, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", host+":sub", sub(ns, "*")))
		}},
		{sa: "https-key", check: "iam.trust", want: "keeps the issuer's https:// in the key", diff: true, policy: func(ns, sa string) map[string]any {
			return web(provider, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", "https://"+host+":sub", sub(ns, sa)))
		}},
		{sa: "swapped", check: "iam.trust", want: "are swapped", diff: true, policy: func(ns, sa string) map[string]any {
			return web(provider, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", host+":aud", sub(ns, sa), host+":sub", "sts.amazonaws.com"))
		}},
		{sa: "other-cluster", check: "iam.trust", want: "is the provider of another issuer (https://oidc.eks.us-west-2.amazonaws.com/id/OTHERCLUSTER)", diff: true, policy: func(ns, sa string) map[string]any {
			other := "oidc.eks.us-west-2.amazonaws.com/id/OTHERCLUSTER"
			return web("arn:aws:iam::"+e.stsAccount+":oidc-provider/"+other, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", other+":sub", sub(ns, sa)))
		}},
		{sa: "other-account", check: "iam.trust", want: "is this issuer's provider in account 999999999999", diff: true, policy: func(ns, sa string) map[string]any {
			return web("arn:aws:iam::999999999999:oidc-provider/"+host, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", host+":sub", sub(ns, sa)))
		}},
		{sa: "wrong-namespace", check: "iam.trust", want: "names the namespace elsewhere; the service account is in " + ns, diff: true, policy: func(_, sa string) map[string]any {
			return web(provider, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", host+":sub", sub("elsewhere", sa)))
		}},
		{sa: "wrong-name", check: "iam.trust", want: "names the service account wrong-nam;", diff: true, policy: func(ns, _ string) map[string]any {
			return web(provider, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", host+":sub", sub(ns, "wrong-nam")))
		}},
		{sa: "case", check: "iam.trust", want: "in case only", diff: true, policy: func(ns, sa string) map[string]any {
			return web(provider, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", host+":sub", sub(strings.ToUpper(ns), sa)))
		}},
		{sa: "denied", check: "iam.trust", want: "denies it: an explicit Deny wins", diff: true, policy: func(ns, sa string) map[string]any {
			p := good(ns, sa)
			p["Statement"] = append(p["Statement"].([]any), map[string]any{"Sid": "NoOne", "Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithWebIdentity",
				"Condition": exact("StringLike", host+":sub", sub(ns, "*"))})
			return p
		}},
		{sa: "wrong-aud", check: "iam.trust", want: "does not admit the token's audience sts.amazonaws.com", diff: true, policy: func(ns, sa string) map[string]any {
			return web(provider, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", host+":aud", "vault", host+":sub", sub(ns, sa)))
		}},
		{sa: "wrong-action", check: "iam.trust", want: "does not allow sts:AssumeRoleWithWebIdentity", diff: true, policy: func(ns, sa string) map[string]any {
			return web(provider, "sts:AssumeRole", exact("StringEquals", host+":sub", sub(ns, sa)))
		}},
		{sa: "pod-identity-trust", check: "iam.trust", want: "no Allow statement names the OIDC provider", diff: true, policy: func(string, string) map[string]any {
			return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "pods.eks.amazonaws.com"}, "Action": []any{"sts:AssumeRole", "sts:TagSession"}}}}
		}},
		{sa: "other-issuer-key", check: "iam.trust", want: "names the key of another issuer", diff: true, policy: func(ns, sa string) map[string]any {
			return web(provider, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", "oidc.example.com/id/X:sub", sub(ns, sa)))
		}},
		{sa: "no-role", check: "iam.role", want: "does not exist: iam:GetRole answers NoSuchEntity"},
		{sa: "unknown-audience", audience: "not-a-client-id", check: "iam.oidc_audience", want: "does not list the audience not-a-client-id as a client ID", policy: func(ns, sa string) map[string]any {
			return web(provider, "sts:AssumeRoleWithWebIdentity", exact("StringEquals", host+":aud", "not-a-client-id", host+":sub", sub(ns, sa)))
		}},
	}
	misconfigured := 0
	for _, tc := range cases {
		if tc.check != "" {
			misconfigured++
		}
	}
	if misconfigured < 12 {
		t.Fatalf("the catalogue holds %d misconfigurations, the issue asks for at least 12", misconfigured)
	}

	user := e.newAWSUser(t)
	clusterName := "explain-" + randSuffix()
	e.addSTSEntries(t, "clusters", awsCluster{Name: clusterName, Region: explainRegion, Issuer: e.issuer})
	// Role names carry a prefix of this run, which the stand-in's log lines name.
	pfx := "ex" + randSuffix()
	roleOf := map[string]string{}
	var last string
	for _, tc := range cases {
		role := pfx + "-" + tc.sa
		roleOf[tc.sa] = fmt.Sprintf("arn:aws:iam::%s:role/%s", e.stsAccount, role)
		if tc.policy != nil {
			e.addSTSRole(t, role, tc.policy(ns, tc.sa))
			last = role
		}
		ann := map[string]string{"eks.amazonaws.com/role-arn": roleOf[tc.sa]}
		if tc.audience != "" {
			ann["eks.amazonaws.com/audience"] = tc.audience
		}
		if _, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), saObject(tc.sa, ann), createOpts()); err != nil {
			t.Fatal(err)
		}
	}
	e.awaitRole(t, user, last)

	// Pod Identity: an association whose role lacks sts:TagSession, and a healthy one.
	podRole := func(actions ...any) map[string]any {
		return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "pods.eks.amazonaws.com"}, "Action": actions}}}
	}
	noTag := pfx + "-pi-notag"
	goodPI := pfx + "-pi-good"
	e.addSTSRole(t, noTag, podRole("sts:AssumeRole"))
	e.addSTSRole(t, goodPI, podRole("sts:AssumeRole", "sts:TagSession"))
	e.awaitRole(t, user, goodPI)
	eksClient := eks.NewFromConfig(e.awsConfig(user))
	for sa, role := range map[string]string{"pi-no-tag": noTag, "pi-healthy": goodPI} {
		if _, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), saObject(sa, nil), createOpts()); err != nil {
			t.Fatal(err)
		}
		_, err := eksClient.CreatePodIdentityAssociation(context.Background(), &eks.CreatePodIdentityAssociationInput{
			ClusterName: aws.String(clusterName), Namespace: aws.String(ns), ServiceAccount: aws.String(sa),
			RoleArn: aws.String(fmt.Sprintf("arn:aws:iam::%s:role/%s", e.stsAccount, role)),
		})
		if err != nil {
			t.Fatalf("CreatePodIdentityAssociation for %s: %v", sa, err)
		}
	}

	audit := e.enAuditMark(t)
	reqs := e.stsLogMark(t)
	cmd := execWI(e, "explain", "-n", ns, "--eks-cluster", clusterName, "-o", "json")
	cmd.Env = e.awsEnv(&user)
	res := e.run(t, cmd)
	if res.code != 1 {
		t.Fatalf("explain exited %d, want 1 (checks failed):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	evs := explainEvents(t, res.stdout)
	for _, tc := range cases {
		sa := ns + "/" + tc.sa
		got := accountChecks(evs, sa)
		if tc.check == "" {
			if tr := got["iam.trust"]; len(tr) != 1 || tr[0].Status != check.StatusPass {
				t.Errorf("%s: the healthy account's trust check is %+v", sa, tr)
			}
			continue
		}
		var found *check.Event
		for _, ev := range evs {
			if ev.Check != tc.check || ev.Status != check.StatusFail {
				continue
			}
			if ev.Data["service_account"] == sa || strings.Contains(ev.Message, roleOf[tc.sa]) && tc.check == "iam.role" ||
				tc.check == "iam.oidc_audience" && strings.Contains(ev.Message, tc.audience) {
				found = &ev
				break
			}
		}
		if found == nil {
			t.Errorf("%s: no failed %s check:\n%+v", sa, tc.check, got)
			continue
		}
		if !strings.Contains(found.Message, tc.want) {
			t.Errorf("%s: %s says %q, want it to name %q", sa, tc.check, found.Message, tc.want)
		}
		if found.Fix == "" {
			t.Errorf("%s: %s has no fix", sa, tc.check)
		}
		if tc.diff && (!strings.Contains(found.Detail, "\n+") || !strings.Contains(found.Fix, "aws iam update-assume-role-policy --role-name ")) {
			t.Errorf("%s: no corrected policy as a diff and the command to apply it: detail %q fix %q", sa, found.Detail, found.Fix)
		}
	}
	pi := accountChecks(evs, ns+"/pi-no-tag")["iam.podidentity_trust"]
	if len(pi) != 1 || pi[0].Status != check.StatusFail || !strings.Contains(pi[0].Message, "does not allow sts:TagSession") {
		t.Errorf("Pod Identity without sts:TagSession: %+v", pi)
	}
	if pi := accountChecks(evs, ns+"/pi-healthy")["iam.podidentity_trust"]; len(pi) != 1 || pi[0].Status != check.StatusPass {
		t.Errorf("healthy Pod Identity: %+v", pi)
	}

	// What explain did to AWS and the cluster: reads by this user, about one per role; no STS
	// call; no pod.
	reads := reqs.lines(t, `akid="`+user.AccessKeyID+`"`)
	getRole := 0
	for _, l := range reads {
		if strings.Contains(l, `action="GetRole"`) {
			getRole++
		}
		if strings.Contains(l, "service=sts") {
			t.Errorf("explain called STS: %s", l)
		}
	}
	if roles := len(cases) + 2; getRole == 0 || getRole > roles {
		t.Errorf("explain called GetRole %d times for %d roles", getRole, roles)
	}
	if sts := reqs.lines(t, "service=sts", pfx); len(sts) > 0 {
		t.Errorf("STS calls for the namespace during explain: %q", sts)
	}
	for _, ev := range audit.since(t, c, ns) {
		if ev.Verb == "create" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "pods" && ev.ObjectRef.Namespace == ns {
			t.Errorf("explain created a pod: %+v", ev.ObjectRef)
		}
	}

	t.Run("text output shows the diff under its check", func(t *testing.T) {
		cmd := execWI(e, "explain", "serviceaccount/star-in-equals", "-n", ns, "-o", "text")
		cmd.Env = e.awsEnv(&user)
		res := e.run(t, cmd)
		if res.code != 1 || !strings.Contains(res.stdout, "FAIL iam.trust  "+ns+"/star-in-equals:") || !strings.Contains(res.stdout, `       +        "StringLike": {`) {
			t.Fatalf("exit %d:\n%s\n%s", res.code, res.stdout, res.stderr)
		}
	})

	t.Run("--exchange proves the healthy accounts and explains the refusals", func(t *testing.T) {
		reqs := e.stsLogMark(t)
		audit := e.enAuditMark(t)
		cmd := execWI(e, "explain", "-n", ns, "--exchange", "-o", "json")
		cmd.Env = e.awsEnv(&user)
		res := e.run(t, cmd)
		if res.code != 1 {
			t.Fatalf("exit %d:\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		evs := explainEvents(t, res.stdout)
		for _, sa := range []string{"healthy", "healthy-wide"} {
			got := accountChecks(evs, ns+"/"+sa)
			if a := got["exchange.assume_role"]; len(a) != 1 || a[0].Status != check.StatusPass {
				t.Errorf("%s: exchange %+v", sa, a)
			}
			if ci := got["exchange.caller_identity"]; len(ci) != 1 || ci[0].Status != check.StatusPass {
				t.Errorf("%s: caller %+v", sa, ci)
			}
		}
		star := accountChecks(evs, ns+"/star-in-equals")
		if a := star["exchange.assume_role"]; len(a) != 1 || a[0].Status != check.StatusFail {
			t.Errorf("star-in-equals: exchange %+v", a)
		}
		if tr := star["iam.trust"]; len(tr) != 1 || !strings.Contains(tr[0].Message, "literal character") {
			t.Errorf("the refusal is not explained from IAM: %+v", tr)
		}
		if !strings.Contains(res.stdout, "does not prove") {
			t.Error("the output does not say what the exchange did not prove")
		}
		if strings.Contains(res.stdout+res.stderr, "eyJ") || strings.Contains(res.stdout+res.stderr, user.SecretAccessKey) {
			t.Error("a token or a secret key appears in the output")
		}
		// One exchange per IRSA account; the stand-in logs the role of those it got that far.
		if n := len(reqs.lines(t, "service=sts", `action="AssumeRoleWithWebIdentity"`, pfx)); n < 2 || n > len(cases) {
			t.Errorf("%d AssumeRoleWithWebIdentity calls logged for %d IRSA accounts", n, len(cases))
		}
		for _, ev := range audit.since(t, c, ns) {
			if ev.Verb == "create" && ev.ObjectRef != nil && ev.ObjectRef.Resource == "pods" && ev.ObjectRef.Namespace == ns {
				t.Errorf("explain --exchange created a pod: %+v", ev.ObjectRef)
			}
		}
	})
}

// TestExplainPermissions: a denied IAM read and a denied TokenRequest are exit 3, naming the
// permission.
func TestExplainPermissions(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "explain-perm-"+ns, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), saObject("app", map[string]string{"eks.amazonaws.com/role-arn": role}), createOpts()); err != nil {
		t.Fatal(err)
	}
	denied := e.newAWSUser(t, "iam:GetRole")
	ok := e.newAWSUser(t)
	e.awaitRole(t, ok, "explain-perm-"+ns)

	cmd := execWI(e, "explain", "app", "-n", ns, "-o", "text")
	cmd.Env = e.awsEnv(&denied)
	if res := e.run(t, cmd); res.code != 3 || !strings.Contains(res.stderr, "ask for iam:GetRole") {
		t.Fatalf("denied iam:GetRole: exit %d\n%s", res.code, res.stderr)
	}
	cmd = execWI(e, "explain", "app", "-n", ns, "-o", "text")
	cmd.Env = e.awsEnv(nil)
	if res := e.run(t, cmd); res.code != 3 || !strings.Contains(res.stderr, "no AWS credentials for iam:GetRole") {
		t.Fatalf("no credentials: exit %d\n%s", res.code, res.stderr)
	}
	// As a user bound to deploy/rbac/explain.yaml, cluster-wide or in ns alone: --exchange
	// proves the account; without create serviceaccounts/token it stops, naming that permission.
	cr := loadClusterRole(t, "explain.yaml")
	for _, run := range []struct {
		drop   *permission
		bindIn string
	}{{nil, ""}, {nil, ns}, {&permission{"create", "serviceaccounts/token"}, ""}} {
		drop := run.drop
		kubeconfig := e.userWithRole(t, c, ns, cr, drop, run.bindIn)
		cmd = execWI(e, "explain", "app", "-n", ns, "--exchange", "-o", "text", "--kubeconfig", kubeconfig)
		cmd.Env = e.awsEnv(nil)
		res := e.run(t, cmd)
		switch {
		case drop == nil && (res.code != 0 || !strings.Contains(res.stdout, "PASS exchange.caller_identity")):
			t.Fatalf("explain --exchange with its role: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
		case drop != nil && (res.code != 3 || !strings.Contains(res.stderr, `ask for RBAC verb "create" on "serviceaccounts/token"`)):
			t.Fatalf("without create serviceaccounts/token: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
		}
	}
}

func saObject(name string, annotations map[string]string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}}
}

func createOpts() metav1.CreateOptions { return metav1.CreateOptions{} }

// execWI is the kubectl-wi binary with args, for a caller that sets its environment.
func execWI(e env, args ...string) *exec.Cmd { return exec.Command(e.bin, args...) }

// TestVerifyExplainsRefusal: verify, with AWS credentials at hand, adds explain's finding to
// the STS refusal of its probe: the statement and clause, and the corrected policy.
func TestVerifyExplainsRefusal(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	name := "vx-" + randSuffix()
	role := e.addSTSRole(t, name, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":*"))
	user := e.newAWSUser(t)
	e.awaitRole(t, user, name)
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})
	cmd := execWI(e, e.verifyArgs(ns, "app", e.stsEndpoint, "-o", "text")...)
	cmd.Env = e.awsEnv(&user)
	res := e.run(t, cmd)
	if res.code != 1 || !strings.Contains(res.stdout, "FAIL sts.assume_role") ||
		!strings.Contains(res.stdout, "FAIL iam.trust  "+ns+"/app:") || !strings.Contains(res.stdout, "a * or ? inside StringEquals is a literal character") ||
		!strings.Contains(res.stdout, "fix: aws iam update-assume-role-policy --role-name "+name) {
		t.Fatalf("exit %d:\n%s\n%s", res.code, res.stdout, res.stderr)
	}
}
