package monitor

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// Credentials of the shapes a message must never carry (made up, as the SDKs' docs' examples).
const (
	fakeKeyID = "ASIAIOSFODNN7EXAMPLE"
	fakeJWT   = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl"
)

// fakeProver passes or fails each account as told, in turn (the last verdict repeats), and
// records its calls.
type fakeProver struct {
	mu        sync.Mutex
	verdicts  map[string][]bool
	calls     [][]string
	parallels []int
}

func (p *fakeProver) Prove(_ context.Context, accounts []Account, parallel int) []Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, keys(accounts))
	p.parallels = append(p.parallels, parallel)
	out := make([]Result, len(accounts))
	for i, a := range accounts {
		v := true
		if seq := p.verdicts[a.key()]; len(seq) > 0 {
			v = seq[0]
			if len(seq) > 1 {
				p.verdicts[a.key()] = seq[1:]
			}
		}
		out[i] = Result{Account: a, Verified: v, Duration: 3 * time.Second}
		if !v {
			out[i].FailedChecks = []Check{{Check: "sts.assume_role",
				Message: "STS refused AssumeRoleWithWebIdentity for token " + fakeJWT + " (caller " + fakeKeyID + ")",
				Fix:     "add the account's subject to the role's trust policy"}}
		}
	}
	return out
}

func (p *fakeProver) callCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

func (p *fakeProver) call(i int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[i]
}

func sa(name, role string) *corev1.ServiceAccount {
	s := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: "uid-" + "name"}}
	if role != "" {
		s.Annotations = map[string]string{identity.AnnotationRoleARN: role}
	}
	return s
}

func pod(name, account string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: labels, UID: "uid-" + "pod"},
		Spec:       corev1.PodSpec{ServiceAccountName: account, Containers: []corev1.Container{{Name: "app", Image: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

const role = "arn:aws:iam::111122223333:role/app"

// podWebhook is the pod identity webhook's registration: pods CREATE.
func podWebhook() *admissionregistrationv1.MutatingWebhookConfiguration {
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{Name: "iam-for-pods.amazonaws.com", Rules: []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
		}}}},
	}
}

// webhookMutates makes the fake apiserver's dry-run creates come back as the webhook mutates
// them, and stores nothing.
func webhookMutates(c *fake.Clientset) {
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ca := a.(k8stesting.CreateActionImpl)
		if len(ca.CreateOptions.DryRun) == 0 {
			return false, nil, nil
		}
		p := ca.GetObject().(*corev1.Pod).DeepCopy()
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: identity.TokenVolumeName, VolumeSource: corev1.VolumeSource{
			Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "sts.amazonaws.com", Path: "token"}}}},
		}})
		return true, p, nil
	})
}

type harness struct {
	m      *Monitor
	clock  *clocktesting.FakeClock
	prover *fakeProver
	client *fake.Clientset
	done   chan error
	runErr error // what Run returned
	cancel context.CancelFunc
}

func start(t *testing.T, client *fake.Clientset, prover *fakeProver, cfg Config) *harness {
	t.Helper()
	fc := clocktesting.NewFakeClock(t0)
	cfg.Interval = cmpOr(cfg.Interval, 10*time.Minute)
	cfg.Parallel = cmpOr(cfg.Parallel, 2)
	cfg.Identity = cmpOr(cfg.Identity, "monitor-0")
	cfg.Namespace = "kubectl-wi-system"
	m, err := New(cfg, Deps{Client: client, Prover: prover, Clock: fc, Rand: func() float64 { return 0 },
		Log: logr.Discard(), Registry: prometheus.NewRegistry(), AWSReads: "not configured: no AWS credentials"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{m: m, clock: fc, prover: prover, client: client, done: make(chan error, 1), cancel: cancel}
	go func() { h.done <- m.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func cmpOr[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

func (h *harness) stop() {
	h.cancel()
	select {
	case h.runErr = <-h.done:
	case <-time.After(10 * time.Second):
	}
}

// eventually waits, in real time, for cond, moving the fake clock by step each time.
func (h *harness) eventually(t *testing.T, what string, step time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
		if step > 0 {
			h.clock.Step(step)
		}
	}
}

func (h *harness) events(t *testing.T) []corev1.Event {
	t.Helper()
	l, err := h.client.CoreV1().Events("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func (h *harness) status(t *testing.T) (string, Status) {
	t.Helper()
	cm, err := h.client.CoreV1().ConfigMaps("kubectl-wi-system").Get(context.Background(), DefaultStatusConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := json.Unmarshal([]byte(cm.Data[StatusKey]), &st); err != nil {
		t.Fatal(err)
	}
	return cm.Data[StatusKey], st
}

func noSecrets(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{fakeKeyID, fakeJWT} {
		if strings.Contains(s, secret) {
			t.Errorf("%s carries a credential %q: %s", where, secret, s)
		}
	}
}

func TestMonitorProvesReportsAndRecovers(t *testing.T) {
	leftover := pod("wi-probe-old", "app", map[string]string{verify.LabelName: verify.LabelValue, ProbeLabelName: ProbeLabelValue})
	userProbe := pod("wi-probe-user", "plain", map[string]string{verify.LabelName: verify.LabelValue, ProbeLabelName: "kubectl-wi"})
	client := fake.NewClientset(sa("app", role), sa("broken", role), sa("plain", ""),
		pod("web-1", "app", nil), leftover, userProbe, podWebhook())
	webhookMutates(client)
	prover := &fakeProver{verdicts: map[string][]bool{"ns/broken": {false, true}}}
	h := start(t, client, prover, Config{Namespaces: []string{"ns"}, Parallel: 3, LeaderElect: false})

	h.eventually(t, "the first round and its status", 0, func() bool {
		_, err := client.CoreV1().ConfigMaps("kubectl-wi-system").Get(context.Background(), DefaultStatusConfigMap, metav1.GetOptions{})
		return err == nil
	})
	if got := h.prover.call(0); strings.Join(got, ",") != "ns/app,ns/broken" {
		t.Errorf("first round proved %v, want ns/app and ns/broken (plain has no identity)", got)
	}
	if h.prover.parallels[0] != 3 {
		t.Errorf("parallel %d, want 3", h.prover.parallels[0])
	}
	m := h.m.metrics
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"verified app", testutil.ToFloat64(m.verified.WithLabelValues("ns", "app", IdentityIRSA)), 1},
		{"verified broken", testutil.ToFloat64(m.verified.WithLabelValues("ns", "broken", IdentityIRSA)), 0},
		{"check failed broken", testutil.ToFloat64(m.checkFailed.WithLabelValues("ns", "broken", "sts.assume_role")), 1},
		{"stale pods app (web-1 without the token)", testutil.ToFloat64(m.stalePods.WithLabelValues("ns", "app")), 1},
		{"last verified", testutil.ToFloat64(m.lastVerified.WithLabelValues("ns", "app")), float64(t0.Unix())},
		{"runs", testutil.ToFloat64(m.runs), 1},
		{"leader", testutil.ToFloat64(m.leader), 1},
		{"aws reads", testutil.ToFloat64(m.awsReads), 0},
		{"proof errors", testutil.ToFloat64(m.errors.WithLabelValues(ErrorProof)), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.verified); n != 2 {
		t.Errorf("%d verified series, want 2", n)
	}
	h.eventually(t, "webhook up", 0, func() bool { return testutil.CollectAndCount(m.webhookUp) == 1 && testutil.ToFloat64(m.webhookUp) == 1 })

	// The sweep deleted the monitor's leftover probe pod, and only it.
	if _, err := client.CoreV1().Pods("ns").Get(context.Background(), "wi-probe-old", metav1.GetOptions{}); err == nil {
		t.Error("the leftover probe pod of the monitor is still there")
	}
	if _, err := client.CoreV1().Pods("ns").Get(context.Background(), "wi-probe-user", metav1.GetOptions{}); err != nil {
		t.Errorf("the sweep deleted a user's verify probe pod: %v", err)
	}

	evs := h.events(t)
	if len(evs) != 1 || evs[0].Reason != ReasonProofFailed || evs[0].Type != corev1.EventTypeWarning || evs[0].InvolvedObject.Name != "broken" ||
		!strings.Contains(evs[0].Message, "sts.assume_role") || !strings.Contains(evs[0].Message, "trust policy") {
		t.Fatalf("events after the first round: %+v", evs)
	}
	noSecrets(t, "the Warning Event", evs[0].Message)
	raw, st := h.status(t)
	noSecrets(t, "the status object", raw)
	if len(st.Accounts) != 2 || !st.Accounts[0].Verified || st.Accounts[1].Verified || st.Accounts[1].FailedChecks[0].Check != "sts.assume_role" ||
		st.Accounts[0].StalePods != 1 || st.Leader != "monitor-0" || !strings.HasPrefix(st.AWSReads, "not configured") {
		t.Errorf("status: %s", raw)
	}

	// An interval later: broken passes now; a Normal Event, its failing check's series gone.
	h.eventually(t, "the second round", time.Minute, func() bool { return h.prover.callCount() >= 2 })
	h.eventually(t, "the recovery's Event", 0, func() bool { return len(h.events(t)) == 2 })
	if got := testutil.ToFloat64(m.verified.WithLabelValues("ns", "broken", IdentityIRSA)); got != 1 {
		t.Errorf("verified broken = %g after it passed", got)
	}
	if n := testutil.CollectAndCount(m.checkFailed); n != 0 {
		t.Errorf("%d check_failed series after every check passed, want 0", n)
	}
	var recovered int
	for _, ev := range h.events(t) {
		if ev.Reason == ReasonProofRecovered && ev.Type == corev1.EventTypeNormal && ev.InvolvedObject.Name == "broken" {
			recovered++
		}
	}
	if recovered != 1 {
		t.Errorf("%d recovery Events, want 1", recovered)
	}

	// Nothing changed: another round writes no Event.
	h.eventually(t, "the third round", time.Minute, func() bool { return h.prover.callCount() >= 3 })
	time.Sleep(100 * time.Millisecond)
	if n := len(h.events(t)); n != 2 {
		t.Errorf("%d Events after a round that changed nothing, want still 2", n)
	}
}

func TestMonitorChangeIsProvenBeforeTheInterval(t *testing.T) {
	client := fake.NewClientset(sa("app", role), sa("other", role), podWebhook())
	webhookMutates(client)
	prover := &fakeProver{}
	h := start(t, client, prover, Config{Interval: time.Hour, Debounce: 5 * time.Second})
	h.eventually(t, "the first round", 0, func() bool { return prover.callCount() == 1 })

	s, err := client.CoreV1().ServiceAccounts("ns").Get(context.Background(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Annotations[identity.AnnotationRoleARN] = "arn:aws:iam::111122223333:role/another"
	if _, err := client.CoreV1().ServiceAccounts("ns").Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := h.clock.Now()
	h.eventually(t, "the change's proof", time.Second, func() bool { return prover.callCount() == 2 })
	if got := prover.call(1); strings.Join(got, ",") != "ns/app" {
		t.Errorf("after the annotation's change it proved %v, want ns/app only", got)
	}
	if took := h.clock.Now().Sub(start); took > time.Minute {
		t.Errorf("the change was proven %s later, want within about the debounce (5s), long before the interval", took)
	}

	// A new pod without the identity is a change too.
	if _, err := client.CoreV1().Pods("ns").Create(context.Background(), pod("web-2", "other", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually(t, "the new pod's proof", time.Second, func() bool { return prover.callCount() == 3 })
	if got := prover.call(2); strings.Join(got, ",") != "ns/other" {
		t.Errorf("after a pod without the identity it proved %v, want ns/other", got)
	}
}

func TestMonitorBudget(t *testing.T) {
	var objs []runtime.Object
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		objs = append(objs, sa(n, role))
	}
	client := fake.NewClientset(objs...)
	webhookMutates(client)
	prover := &fakeProver{}
	h := start(t, client, prover, Config{Budget: 2, Parallel: 1})
	h.eventually(t, "the first round", 0, func() bool { return prover.callCount() == 1 })
	time.Sleep(200 * time.Millisecond)
	h.clock.Step(5 * time.Minute) // half the interval: the budget is spent
	time.Sleep(200 * time.Millisecond)
	if n := prover.callCount(); n != 1 {
		t.Fatalf("%d rounds within the first interval, want 1 (budget 2)", n)
	}
	h.eventually(t, "the next window", time.Minute, func() bool { return prover.callCount() == 2 })
	total := 0
	for i := range 2 {
		got := prover.call(i)
		if len(got) > 2 {
			t.Errorf("round %d proved %d accounts, want at most the budget 2", i, len(got))
		}
		total += len(got)
	}
	if prover.parallels[0] != 1 {
		t.Errorf("parallel %d, want 1", prover.parallels[0])
	}
	if total != 4 {
		t.Errorf("%d proofs in two windows, want 4", total)
	}
}

func TestMonitorOnlyTheLeaderProves(t *testing.T) {
	client := fake.NewClientset(sa("app", role), sa("other", role), podWebhook())
	webhookMutates(client)
	timing := Config{LeaderElect: true, LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
	p0, p1 := &fakeProver{}, &fakeProver{}
	c0, c1 := timing, timing
	c0.Identity, c1.Identity = "monitor-0", "monitor-1"
	h0 := start(t, client, p0, c0)
	h0.eventually(t, "a leader's first round", 0, func() bool { return p0.callCount() == 1 })
	h1 := start(t, client, p1, c1)
	time.Sleep(1500 * time.Millisecond)
	if n := p1.callCount(); n != 0 {
		t.Fatalf("the standby proved %d rounds", n)
	}
	if testutil.ToFloat64(h0.m.metrics.leader) != 1 || testutil.ToFloat64(h1.m.metrics.leader) != 0 {
		t.Errorf("leader gauges %g and %g, want 1 and 0", testutil.ToFloat64(h0.m.metrics.leader), testutil.ToFloat64(h1.m.metrics.leader))
	}
	if n := testutil.CollectAndCount(h1.m.metrics.verified); n != 0 {
		t.Errorf("the standby has %d verified series, want none", n)
	}

	// The leader stops (and releases the lease): the standby takes over, and does not prove
	// again what the leader proved this interval (its status says when).
	h0.stop()
	h1.eventually(t, "the standby to lead", 0, func() bool { return testutil.ToFloat64(h1.m.metrics.leader) == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := p1.callCount(); n != 0 {
		t.Errorf("the new leader proved %d rounds at once, want none before the interval", n)
	}
	h1.eventually(t, "the new leader's round an interval later", time.Minute, func() bool { return p1.callCount() == 1 })
	if n := p0.callCount(); n != 1 {
		t.Errorf("the old leader proved %d rounds, want 1", n)
	}
}

func TestTransition(t *testing.T) {
	pass, fail := true, false
	tests := []struct {
		name       string
		prev       *bool
		verified   bool
		wantType   string
		wantReason string
	}{
		{"first proof passes: nothing to say", nil, true, "", ""},
		{"first proof fails", nil, false, corev1.EventTypeWarning, ReasonProofFailed},
		{"passes after passing", &pass, true, "", ""},
		{"fails after passing", &pass, false, corev1.EventTypeWarning, ReasonProofFailed},
		{"fails after failing: no repeat", &fail, false, "", ""},
		{"passes after failing", &fail, true, corev1.EventTypeNormal, ReasonProofRecovered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotType, gotReason := transition(tt.prev, Result{Verified: tt.verified})
			if gotType != tt.wantType || gotReason != tt.wantReason {
				t.Errorf("transition = %q %q, want %q %q", gotType, gotReason, tt.wantType, tt.wantReason)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"access key id", "caller " + fakeKeyID + " refused", "caller [redacted] refused"},
		{"long-term key id", "AKIAIOSFODNN7EXAMPLE", "[redacted]"},
		{"a token", "token " + fakeJWT + " expired", "token [redacted] expired"},
		{"a secret key after its name", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=[redacted]"},
		{"a session token blob", "SessionToken " + strings.Repeat("FwoGZXIvYXdzEJr", 10), "SessionToken [redacted]"},
		{"a role ARN stays", "role " + role + " refused", "role " + role + " refused"},
		{"a role's unique id stays", "AROAEXAMPLEID1234567", "AROAEXAMPLEID1234567"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact(tt.in); got != tt.want {
				t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	client := fake.NewClientset()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no interval", Config{Parallel: 1}, "--interval"},
		{"jitter of 1", Config{Interval: time.Minute, Parallel: 1, Jitter: 1}, "--jitter"},
		{"no parallel", Config{Interval: time.Minute}, "--parallel"},
		{"negative budget", Config{Interval: time.Minute, Parallel: 1, Budget: -1}, "--budget"},
		{"good", Config{Interval: time.Minute, Parallel: 1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg, Deps{Client: client, Prover: &fakeProver{}, Registry: prometheus.NewRegistry()})
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("New = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}
