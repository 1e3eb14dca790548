package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

// fleetRecorder records a fleet run, checking the reporter's contract as it goes.
type fleetRecorder struct {
	mu      sync.Mutex
	started map[Account]bool
	done    map[Account]error
	events  map[Account][]check.Event
	t       *testing.T
}

func newFleetRecorder(t *testing.T) *fleetRecorder {
	t.Helper()
	return &fleetRecorder{started: map[Account]bool{}, done: map[Account]error{}, events: map[Account][]check.Event{}, t: t}
}

// enter fails the test when two calls overlap: the fleet must serialise them.
func (r *fleetRecorder) enter() func() {
	if !r.mu.TryLock() {
		r.t.Error("two reporter calls at once")
		r.mu.Lock()
	}
	return r.mu.Unlock
}

func (r *fleetRecorder) Start(a Account) { defer r.enter()(); r.started[a] = true }
func (r *fleetRecorder) Step(a Account, _ report.Step) {
	defer r.enter()()
	if !r.started[a] {
		r.t.Errorf("a step of %s before its Start", a)
	}
}
func (r *fleetRecorder) Event(a Account, ev check.Event) {
	defer r.enter()()
	if ev.Account != a.String() {
		r.t.Errorf("event of %s carries the account %q", a, ev.Account)
	}
	r.events[a] = append(r.events[a], ev)
}
func (r *fleetRecorder) Raw(Account, string)                  {}
func (r *fleetRecorder) Done(a Account, _ Outcome, err error) { defer r.enter()(); r.done[a] = err }

// fleetCluster has one namespace of accounts, each with its own role, the webhook injecting
// it; pods of the accounts in failing get the recorded trust-policy refusal as their log.
func fleetCluster(t *testing.T, n int, failing map[string]bool) (*fake.Clientset, Deps, []Account) {
	t.Helper()
	wh := identityWebhook()
	objs := []runtime.Object{&wh, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}}
	var accounts []Account
	for i := range n {
		name := fmt.Sprintf("app-%02d", i)
		accounts = append(accounts, Account{Namespace: "shop", Name: name})
		objs = append(objs, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop",
			Annotations: map[string]string{roleAnnotation: "arn:aws:iam::111122223333:role/" + name}}})
	}
	c := fake.NewClientset(objs...)
	var mu sync.Mutex
	podAccount := map[string]string{}
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Spec.ServiceAccountName != "" && !strings.HasPrefix(pod.Spec.ServiceAccountName, "default") {
			webhookMutation("arn:aws:iam::111122223333:role/" + pod.Spec.ServiceAccountName)(pod)
		}
		mu.Lock()
		defer mu.Unlock()
		pod.UID = "uid"
		pod.Spec.NodeName = "node-1"
		pod.Status = succeeded()
		podAccount[pod.Name] = pod.Spec.ServiceAccountName
		return false, nil, nil
	})
	pass, err := os.ReadFile("../../testdata/streams/probe-pass.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	refused, err := os.ReadFile("../../testdata/streams/probe-trust-policy.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	n2 := 0
	var nmu sync.Mutex
	deps := Deps{
		Client:    c,
		Discovery: func(context.Context) ([]byte, error) { return []byte(`{"issuer":"` + testIssuer + `"}`), nil },
		PodName: func() string {
			nmu.Lock()
			defer nmu.Unlock()
			n2++
			name := fmt.Sprintf("wi-probe-%05d", n2)
			return name
		},
		Logs: func(_ context.Context, _, pod, _ string, _ bool) (io.ReadCloser, error) {
			mu.Lock()
			sa := podAccount[pod]
			mu.Unlock()
			if failing[sa] {
				return io.NopCloser(strings.NewReader(string(refused))), nil
			}
			return io.NopCloser(strings.NewReader(string(pass))), nil
		},
	}
	return c, deps, accounts
}

// A fleet run proves every account, one failing among many, each event carrying its account,
// and leaves no probe pod.
func TestRunFleet(t *testing.T) {
	c, deps, accounts := fleetCluster(t, 12, map[string]bool{"app-07": true})
	rec := newFleetRecorder(t)
	cfg := testConfig()
	reads := 0
	var readsMu sync.Mutex
	discover := deps.Discovery
	deps.Discovery = func(ctx context.Context) ([]byte, error) {
		readsMu.Lock()
		reads++
		readsMu.Unlock()
		return discover(ctx)
	}
	results, err := RunFleet(context.Background(), cfg, accounts, 4, deps, rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		wantPass := r.Account.Name != "app-07"
		if r.Passed() != wantPass || r.Err != nil {
			t.Errorf("%s: passed %v (%s, err %v), want %v", r.Account, r.Passed(), r.Outcome.Status, r.Err, wantPass)
		}
		evs := rec.events[r.Account]
		if len(evs) == 0 || evs[len(evs)-1].Type != check.TypeResult {
			t.Errorf("%s: no verdict last in %d events", r.Account, len(evs))
		}
		if _, ok := rec.done[r.Account]; !ok {
			t.Errorf("%s: no Done", r.Account)
		}
	}
	if pods, _ := c.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{}); len(pods.Items) != 0 {
		t.Errorf("%d probe pods left", len(pods.Items))
	}
	if reads != 1 {
		t.Errorf("the issuer was read %d times for %d accounts, want once", reads, len(accounts))
	}
}

// Cancelled in the middle, a fleet run stops starting accounts, ends the started ones with
// their cleanup, and says so.
func TestRunFleetInterrupted(t *testing.T) {
	c, deps, accounts := fleetCluster(t, 10, nil)
	ctx, cancel := context.WithCancel(context.Background())
	created := 0
	var mu sync.Mutex
	c.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if created++; created == 3 {
			cancel()
		}
		return false, nil, nil
	})
	results, err := RunFleet(ctx, testConfig(), accounts, 2, deps, newFleetRecorder(t))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	notStarted := 0
	for _, r := range results {
		if !r.Started {
			notStarted++
		}
	}
	if notStarted == 0 {
		t.Error("every account started although the run was cancelled at the third")
	}
	if pods, _ := c.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{}); len(pods.Items) != 0 {
		t.Errorf("%d probe pods left", len(pods.Items))
	}
}

// An account that names its role is proven against it; the others against the base's (here
// none: their service account's).
func TestRunFleetAccountRole(t *testing.T) {
	c, deps, accounts := fleetCluster(t, 2, nil)
	const chained = "arn:aws:iam::444455556666:role/target"
	accounts[0].RoleARN = chained
	var mu sync.Mutex
	expected := map[string]string{} // service account: the probe's --expected-role-arn
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		args := pod.Spec.Containers[0].Command
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "--expected-role-arn" {
				mu.Lock()
				expected[pod.Spec.ServiceAccountName] = args[i+1]
				mu.Unlock()
			}
		}
		return false, nil, nil
	})
	if _, err := RunFleet(context.Background(), testConfig(), accounts, 2, deps, newFleetRecorder(t)); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{accounts[0].Name: chained, accounts[1].Name: "arn:aws:iam::111122223333:role/" + accounts[1].Name}
	for sa, role := range want {
		if expected[sa] != role {
			t.Errorf("%s: the probe expected %q, want %q", sa, expected[sa], role)
		}
	}
}
