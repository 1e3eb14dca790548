//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The monitor with AWS read credentials of its own (here an IAM user's static key of the AWS
// stand-in; in a cluster IRSA gives them to its service account): kubectl_wi_aws_reads_enabled
// is 1, and each IRSA account's proof runs explain's IAM checks too, so the account whose
// role's trust does not admit it fails explain's iam.trust beside verify's sts.assume_role in
// /metrics, `monitor status -o json` and its Warning Event, while the healthy account fails
// nothing. Its AWS calls are all reads its documented policy allows, and no secret reaches its
// log or outputs. IRSA accounts need IAM reads only: no EKS cluster is named.
func TestMonitorRunWithAWSReads(t *testing.T) {
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	wrongRole := "monitor-aws-wrong-" + randSuffix()
	wrong := e.addSTSRole(t, wrongRole, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":someone-else"))
	serviceAccount(t, c, ns, "broken", map[string]string{"eks.amazonaws.com/role-arn": wrong})
	user := e.newAWSUser(t)
	e.awaitRole(t, user, wrongRole)

	reqs := e.stsLogMark(t)
	p := e.startMonitorEnv(t, ns, e.awsVars(&user), "--interval", "5m", "--jitter", "0.05", "--leader-elect=false",
		"--metrics-addr", "127.0.0.1:0", "--namespaces", ns, "--parallel", "2", "--region", explainRegion,
		"--sts-endpoint", e.stsEndpoint, "--ca-bundle", e.caFile, "--cluster-name", "e2e", "--image", e.probeImage)

	p.awaitSeries(t, 5*time.Second, `kubectl_wi_aws_reads_enabled{cluster="e2e"} 1`)
	p.awaitSeries(t, 2*time.Minute, `kubectl_wi_identity_verified{cluster="e2e",identity_type="irsa",namespace="`+ns+`",service_account="app"} 1`)
	p.awaitSeries(t, 2*time.Minute, `kubectl_wi_identity_verified{cluster="e2e",identity_type="irsa",namespace="`+ns+`",service_account="broken"} 0`)
	if strings.Contains(p.logText(), "AWS reads are off") {
		t.Errorf("the monitor says its AWS reads are off:\n%s", p.logText())
	}

	_, metrics := p.get(t, "/metrics")
	failed := failedChecksOf(metrics, ns)
	for _, want := range []string{"sts.assume_role", "iam.trust"} {
		if !slices.Contains(failed["broken"], want) {
			t.Errorf("the broken account's failed checks in /metrics are %q, want %s among them", failed["broken"], want)
		}
	}
	if len(failed["app"]) > 0 {
		t.Errorf("the healthy account fails %q in /metrics", failed["app"])
	}

	warning := waitForEvent(t, c, ns, "broken", corev1.EventTypeWarning, "IdentityProofFailed")
	for _, want := range []string{"sts.assume_role", "iam.trust"} {
		if !strings.Contains(warning.Message, want) {
			t.Errorf("the Warning Event does not name %s: %q", want, warning.Message)
		}
	}
	if got := eventsOf(t, c, ns, "app", "IdentityProofFailed"); len(got) != 0 {
		t.Errorf("a Warning on the healthy account: %+v", got)
	}

	// The status object is written at the end of the round.
	waitFor(t, 30*time.Second, "the status object with both accounts", func(ctx context.Context) (bool, error) {
		cm, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "kubectl-wi-monitor-status", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return strings.Count(cm.Data["status.json"], `"serviceAccount"`) == 2, nil
	})
	status := e.wi(t, "monitor", "status", "-n", ns, "-o", "json")
	if status.code != 0 {
		t.Fatalf("monitor status: exit %d\n%s\n%s", status.code, status.stdout, status.stderr)
	}
	var st struct {
		AWSReads string `json:"awsReads"`
		Accounts []struct {
			ServiceAccount string        `json:"serviceAccount"`
			Verified       bool          `json:"verified"`
			FailedChecks   []statusCheck `json:"failedChecks"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(status.stdout), &st); err != nil {
		t.Fatalf("monitor status -o json: %v\n%s", err, status.stdout)
	}
	if st.AWSReads != "enabled" || len(st.Accounts) != 2 || st.Accounts[0].ServiceAccount != "app" || st.Accounts[1].ServiceAccount != "broken" {
		t.Fatalf("monitor status -o json: %s", status.stdout)
	}
	if a := st.Accounts[0]; !a.Verified || len(a.FailedChecks) != 0 {
		t.Errorf("the healthy account's status: %+v", a)
	}
	broken := st.Accounts[1]
	trust := slices.IndexFunc(broken.FailedChecks, func(c statusCheck) bool { return c.Check == "iam.trust" })
	if broken.Verified || trust < 0 {
		t.Fatalf("the broken account's status has no failed iam.trust: %+v", broken)
	}
	// explain's finding: the clause that names another account, and the command that fixes it.
	if c := broken.FailedChecks[trust]; !strings.Contains(c.Message, "someone-else") || !strings.Contains(c.Fix, "aws iam update-assume-role-policy --role-name "+wrongRole) {
		t.Errorf("iam.trust of the broken account: %+v", c)
	}

	// What the monitor asked AWS with its key: reads of its policy, GetRole for each account.
	policy := policyActions(t, filepath.Join("..", "..", "deploy", "iam", "monitor-policy.json"))
	call := regexp.MustCompile(` service=(\S+) action="([^"]+)"`)
	getRole := 0
	for _, l := range reqs.lines(t, `akid="`+user.AccessKeyID+`"`) {
		m := call.FindStringSubmatch(l)
		if m == nil || !slices.Contains(policy, m[1]+":"+m[2]) {
			t.Errorf("a call the monitor's policy does not allow: %s", l)
			continue
		}
		if m[2] == "GetRole" {
			getRole++
		}
	}
	if getRole < 2 {
		t.Errorf("the monitor called iam:GetRole %d times with its key, want one per account at least", getRole)
	}

	// No secret anywhere the monitor writes: its log, /metrics, the status object, the Events.
	var events strings.Builder
	list, err := c.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range list.Items {
		events.WriteString(ev.Message + "\n")
	}
	_, metrics = p.get(t, "/metrics")
	for where, out := range map[string]string{"log": p.logText(), "/metrics": metrics, "monitor status": status.stdout + status.stderr, "Events": events.String()} {
		noSecrets(t, where, out, user.SecretAccessKey, user.AccessKeyID)
	}
}

// statusCheck is a failed check in `monitor status -o json`.
type statusCheck struct {
	Check   string `json:"check"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// failedChecksOf are the failing checks of each account of ns in a scrape of /metrics.
func failedChecksOf(scrape, ns string) map[string][]string {
	series := regexp.MustCompile(`(?m)^kubectl_wi_identity_check_failed\{check="([^"]+)",cluster="e2e",namespace="` + regexp.QuoteMeta(ns) + `",service_account="([^"]+)"\} 1$`)
	out := map[string][]string{}
	for _, m := range series.FindAllStringSubmatch(scrape, -1) {
		out[m[2]] = append(out[m[2]], m[1])
	}
	return out
}

// policyActions are the actions an IAM policy document allows.
func policyActions(t *testing.T, file string) []string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Effect string
			Action []string
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []string
	for _, s := range doc.Statement {
		if s.Effect == "Allow" {
			out = append(out, s.Action...)
		}
	}
	return out
}
