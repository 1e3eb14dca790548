package monitor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/explain"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// The cluster's issuer as discovery serves it, and its IAM OIDC provider.
const (
	issuerHost  = "127.0.0.1:6443"
	providerARN = "arn:aws:iam::111122223333:oidc-provider/" + issuerHost
)

// iamAWS is EKS and IAM in memory (awstest) with the cluster's OIDC provider registered.
type iamAWS struct{ *awstest.AWS }

func (iamAWS) ListOpenIDConnectProviders(context.Context) ([]string, error) {
	return []string{providerARN}, nil
}

func (iamAWS) GetOpenIDConnectProvider(_ context.Context, arn string) (awsread.OIDCProvider, error) {
	return awsread.OIDCProvider{ARN: arn, URL: issuerHost, ClientIDs: []string{"sts.amazonaws.com"}}, nil
}

// webIdentityTrust is a role's trust for the web identity sub on the cluster's provider.
func webIdentityTrust(sub string) string {
	return awstest.TrustOf(`{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` +
		issuerHost + `:sub":"` + sub + `","` + issuerHost + `:aud":"sts.amazonaws.com"}}}`)
}

// probesRun makes the fake apiserver run verify's probe pods: each is mutated as the pod
// identity webhook does and succeeds, and its log is the recorded stream of its account.
func probesRun(t *testing.T, c *fake.Clientset, streams map[string]string) verify.LogFunc {
	t.Helper()
	var mu sync.Mutex
	account := map[string]string{}
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca := a.(k8stesting.CreateActionImpl)
		p := ca.GetObject().(*corev1.Pod)
		if len(ca.CreateOptions.DryRun) > 0 || p.Labels[verify.LabelName] != verify.LabelValue {
			return false, nil, nil
		}
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: identity.TokenVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "sts.amazonaws.com", ExpirationSeconds: ptr.To[int64](86400), Path: "token"}}},
		}}})
		for i := range p.Spec.Containers {
			ctr := &p.Spec.Containers[i]
			ctr.Env = append(ctr.Env,
				corev1.EnvVar{Name: "AWS_ROLE_ARN", Value: "arn:aws:iam::111122223333:role/" + p.Spec.ServiceAccountName},
				corev1.EnvVar{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"})
			ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: identity.TokenVolumeName, MountPath: "/var/run/secrets/eks.amazonaws.com/serviceaccount", ReadOnly: true})
		}
		p.UID, p.Spec.NodeName = types.UID("uid-"+p.Name), "node-1"
		p.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{
			Name: verify.ContainerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}},
		}}}
		mu.Lock()
		account[p.Name] = p.Spec.ServiceAccountName
		mu.Unlock()
		return false, nil, nil
	})
	read := map[string][]byte{}
	for sa, stream := range streams {
		b, err := os.ReadFile("../../testdata/streams/" + stream)
		if err != nil {
			t.Fatal(err)
		}
		read[sa] = b
	}
	return func(_ context.Context, _, pod, _ string, _ bool) (io.ReadCloser, error) {
		mu.Lock()
		defer mu.Unlock()
		return io.NopCloser(strings.NewReader(string(read[account[pod]]))), nil
	}
}

// With AWS reads of its own the monitor says so in its metric, reads the associations of
// --eks-cluster, and joins explain's failed checks to an IRSA account's proof: the account
// whose role's trust does not admit it fails iam.trust, the healthy one fails nothing.
func TestFleetProverRunsExplainWithAWSReads(t *testing.T) {
	aws := awstest.New()
	m, prover, scrape := explainRound(t, aws)
	if !strings.Contains(scrape, "\n"+MetricAWSReadsEnabled+" 1\n") {
		t.Errorf("the scrape has no %s 1:\n%s", MetricAWSReadsEnabled, scrape)
	}
	// One explain per IRSA account: STS's refusal of broken is not explained a second time.
	if got := aws.Calls[awsread.ActionGetRole]; got != 2 {
		t.Errorf("%s was called %d times in the round, want 2 (once per IRSA account)", awsread.ActionGetRole, got)
	}
	failed := failingChecks(scrape)
	tests := []struct {
		name         string
		account      string
		wantFailed   []string // among the account's failing checks; nil: it fails none
		wantVerified float64
	}{
		{name: "the trust does not admit the account: explain's check fails beside STS's refusal", account: "broken",
			wantFailed: []string{explain.CheckTrust, "sts.assume_role"}, wantVerified: 0},
		{name: "a healthy account fails no check", account: "app", wantVerified: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := failed[tt.account]
			if tt.wantFailed == nil && len(got) > 0 {
				t.Errorf("%s failed %v, want none", tt.account, got)
			}
			for _, w := range tt.wantFailed {
				if !slices.Contains(got, w) {
					t.Errorf("%s failed %v, want %s among them", tt.account, got, w)
				}
			}
			if v := testutil.ToFloat64(m.metrics.verified.WithLabelValues("ns", tt.account, IdentityIRSA)); v != tt.wantVerified {
				t.Errorf("verified %s = %g, want %g", tt.account, v, tt.wantVerified)
			}
		})
	}

	// The association read from EKS makes ns/batch a Pod Identity account of the inventory.
	prover.mu.Lock()
	assocs := prover.assocs
	prover.mu.Unlock()
	if !assocs.Read || assocs.Cluster != awstest.Cluster || len(assocs.Items) != 1 || assocs.Items[0].ID != "a-1" {
		t.Errorf("with --eks-cluster the associations were not read: %+v", assocs)
	}
	if want := MetricIdentityVerified + `{identity_type="pod-identity",namespace="ns",service_account="batch"}`; !strings.Contains(scrape, want) {
		t.Errorf("the scrape has no %s:\n%s", want, scrape)
	}
}

// When IAM refuses the monitor's own reads, explain's checks cannot run: that is a failure of
// the monitor (its errors counter, its log), not of the accounts. A healthy account fails no
// check, and the account that fails fails only what its proof found.
func TestFleetProverExplainRefusedIsTheMonitors(t *testing.T) {
	aws := awstest.New()
	aws.Deny = []string{awsread.ActionGetRole}
	m, _, scrape := explainRound(t, aws)
	failed := failingChecks(scrape)
	if got := failed["app"]; len(got) > 0 {
		t.Errorf("the healthy account failed %v, want none: the monitor's refused reads are not its failure", got)
	}
	if got := failed["broken"]; !slices.Equal(got, []string{"sts.assume_role"}) {
		t.Errorf("broken failed %v, want only its proof's sts.assume_role", got)
	}
	if got := testutil.ToFloat64(m.metrics.errors.WithLabelValues(ErrorExplain)); got != 2 {
		t.Errorf("%s{reason=%q} = %g, want 2 (one per IRSA account)", MetricErrors, ErrorExplain, got)
	}
}

// explainRound runs one round of a monitor with AWS reads of aws over two IRSA accounts of
// namespace ns: app, whose role trusts it, and broken, whose role trusts another namespace's
// account; and a Pod Identity association for ns/batch. It returns the monitor, its prover
// and the scrape after the round.
func explainRound(t *testing.T, aws *awstest.AWS) (*Monitor, *FleetProver, string) {
	t.Helper()
	// No AWS credentials in the environment: what IAM says comes from the monitor's reads only.
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	aws.Roles["app"] = webIdentityTrust("system:serviceaccount:ns:app")
	aws.Roles["broken"] = webIdentityTrust("system:serviceaccount:other:broken")
	aws.Assocs["a-1"] = &awsread.Association{ID: "a-1", Namespace: "ns", ServiceAccount: "batch", RoleARN: awstest.OtherRole}

	client := fake.NewClientset(sa("app", "arn:aws:iam::111122223333:role/app"), sa("broken", "arn:aws:iam::111122223333:role/broken"), podWebhook())
	webhookMutates(client)
	logs := probesRun(t, client, map[string]string{"app": "probe-pass.jsonl", "broken": "probe-trust-policy.jsonl"})

	prover := NewFleetProver(client, ProofSettings{Image: "wi.local/kubectl-wi:dev", PullPolicy: "IfNotPresent", Timeout: 30 * time.Second},
		ProbeLabels(), &AWSReads{reads: iamAWS{aws}, EKSCluster: awstest.Cluster}, time.Now)
	prover.deps.Logs = logs
	prover.deps.Discovery = func(context.Context) ([]byte, error) { return []byte(`{"issuer":"https://` + issuerHost + `"}`), nil }

	m, err := New(Config{Interval: 10 * time.Minute, Parallel: 2, Namespaces: []string{"ns"}, Namespace: "kubectl-wi-system", Identity: "monitor-0"},
		Deps{Client: client, Prover: prover, Associations: prover.Associations, Clock: clocktesting.NewFakeClock(t0), Rand: func() float64 { return 0 },
			Log: logr.Discard(), Registry: prometheus.NewRegistry(), AWSReads: AWSReadsEnabled})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the monitor's run ended with %v", err)
		}
	})

	deadline := time.Now().Add(20 * time.Second)
	for testutil.ToFloat64(m.metrics.runs) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the first round")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return m, prover, rec.Body.String()
}

// failingChecks reads a scrape's failing checks: account -> the names of its failing checks.
func failingChecks(scrape string) map[string][]string {
	failed := map[string][]string{}
	for _, line := range strings.Split(scrape, "\n") {
		labels, ok := strings.CutPrefix(line, MetricCheckFailed+"{")
		if !ok || !strings.HasSuffix(line, "} 1") {
			continue
		}
		var acct, name string
		for _, l := range strings.Split(strings.TrimSuffix(labels, "} 1"), ",") {
			k, v, _ := strings.Cut(l, "=")
			switch k {
			case "service_account":
				acct = strings.Trim(v, `"`)
			case "check":
				name = strings.Trim(v, `"`)
			}
		}
		failed[acct] = append(failed[acct], name)
	}
	return failed
}

func TestFleetProverExplainsPodIdentityRefusalsWithItsReads(t *testing.T) {
	// No credentials of the environment: the findings can only come from the monitor's reads.
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	tests := []struct {
		name       string
		account    string
		eksCluster string // what verify passes: set for a Pod Identity refusal only
		wantCheck  string // among the findings; "": no findings and no AWS read
	}{
		{name: "an IRSA refusal is left to the monitor's own explain", account: "app"},
		{name: "a Pod Identity refusal is explained with the monitor's reads", account: "batch", eksCluster: awstest.Cluster, wantCheck: explain.CheckPodIdentityTrust},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aws := awstest.New()
			aws.Roles["app"] = webIdentityTrust("system:serviceaccount:other:app")
			aws.Roles["other"] = webIdentityTrust("system:serviceaccount:ns:batch") // no pods.eks.amazonaws.com
			aws.Assocs["a-1"] = &awsread.Association{ID: "a-1", Namespace: "ns", ServiceAccount: "batch", RoleARN: awstest.OtherRole}
			client := fake.NewClientset(sa("app", "arn:aws:iam::111122223333:role/app"), sa("batch", ""))
			prover := NewFleetProver(client, ProofSettings{Image: "wi.local/kubectl-wi:dev", Timeout: 30 * time.Second},
				ProbeLabels(), &AWSReads{reads: iamAWS{aws}, EKSCluster: awstest.Cluster}, time.Now)

			got := prover.deps.Explain(context.Background(), "ns", tt.account, tt.eksCluster)
			if tt.wantCheck == "" {
				if len(got) > 0 || len(aws.Calls) > 0 {
					t.Errorf("findings %+v after AWS calls %v, want none", got, aws.Calls)
				}
				return
			}
			if !slices.ContainsFunc(got, func(ev check.Event) bool { return ev.Check == tt.wantCheck && ev.Status == check.StatusFail }) {
				t.Errorf("findings %+v, want %s failing", got, tt.wantCheck)
			}
		})
	}
}
