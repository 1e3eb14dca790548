package monitor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/inventory"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// The monitor's name, and the label that carries it.
const (
	// Name names the monitor everywhere: its Lease, its Events' component, the managed-by of
	// its probe pods and the objects install writes.
	Name = "kubectl-wi-monitor"
	// NameLabel is Name's label on every object of the monitor (install's and the status
	// object), so uninstall finds them all.
	NameLabel = "app.kubernetes.io/name"
)

// Defaults of `kubectl-wi monitor run`.
const (
	DefaultInterval        = 15 * time.Minute
	DefaultJitter          = 0.1
	DefaultParallel        = 2
	DefaultLeaseName       = Name
	DefaultNamespace       = "kubectl-wi-system"
	DefaultStatusConfigMap = "kubectl-wi-monitor-status"
	// DefaultDebounce is how long after a change the monitor proves the account: a rollout's
	// pods come within seconds of each other, and one proof covers them.
	DefaultDebounce = 10 * time.Second
)

// ProbeLabelName and ProbeLabelValue mark the monitor's probe pods (in place of verify's managed-by), so its sweep deletes
// its leftovers and never the probe pods of someone's `kubectl wi verify`.
const (
	ProbeLabelName  = "app.kubernetes.io/managed-by"
	ProbeLabelValue = Name
)

// ProbeLabels are the labels the monitor adds to its probe pods.
func ProbeLabels() map[string]string { return map[string]string{ProbeLabelName: ProbeLabelValue} }

// ProbeSelector selects the monitor's probe pods: its sweep, and uninstall's deletes.
func ProbeSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{verify.LabelName: verify.LabelValue, ProbeLabelName: ProbeLabelValue})
}

// Config is how the monitor runs.
type Config struct {
	Interval time.Duration
	Jitter   float64 // fraction of Interval each account's next proof moves by, at random
	Parallel int     // probe pods at once
	Budget   int     // proofs per interval; 0: every account
	Debounce time.Duration
	// Namespaces are those watched and proven; empty: all.
	Namespaces []string
	// ClusterName adds cluster="<name>" to every series.
	ClusterName string
	// Namespace holds the Lease and the status ConfigMap.
	Namespace string
	// Identity names this replica in the Lease, the status and the Events (its pod's name).
	Identity        string
	LeaderElect     bool
	LeaseName       string
	StatusConfigMap string
	// LeaseDuration, RenewDeadline and RetryPeriod are the leader election's timings (zero:
	// client-go's usual 15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// WebhookCheck is how often the webhook's admission is asked; zero: the interval, at most
	// a minute.
	WebhookCheck time.Duration
}

// Deps are what the monitor reaches outside itself through; tests fake them.
type Deps struct {
	Client kubernetes.Interface
	Prover Prover
	// Associations reads the EKS cluster's Pod Identity associations (namespace "" for all),
	// once per interval; nil: none are read.
	Associations func(ctx context.Context, namespace string) (cluster string, items []inventory.Association, err error)
	Clock        clock.WithTicker
	Rand         func() float64 // in [0, 1), the jitter's
	Log          logr.Logger
	Registry     *prometheus.Registry
	// AWSReads says whether the monitor has AWS credentials: "enabled", or "not configured:
	// <why>".
	AWSReads string
}

// AWSReadsEnabled is Deps.AWSReads of a monitor with AWS credentials.
const AWSReadsEnabled = "enabled"

// Monitor proves a cluster's identity accounts continuously.
type Monitor struct {
	cfg     Config
	deps    Deps
	metrics *metrics
	kick    chan struct{}

	mu       sync.Mutex
	sched    *schedule
	accounts map[string]Account
	states   map[string]*accountState
	stale    map[string]int
	webhook  struct{ registered, up bool }
	agent    bool
	watch    *watcher
}

// accountState is an account's last proof.
type accountState struct {
	verified bool
	identity string
	failed   []Check
	lastRun  time.Time
	took     time.Duration
}

// Validate refuses a schedule the monitor cannot keep: New checks it, and `monitor run`
// before it builds a client.
func (cfg Config) Validate() error {
	switch {
	case cfg.Interval <= 0:
		return fmt.Errorf("--interval must be positive, got %s", cfg.Interval)
	case cfg.Jitter < 0 || cfg.Jitter >= 1:
		return fmt.Errorf("--jitter must be at least 0 and below 1, got %g", cfg.Jitter)
	case cfg.Parallel < 1:
		return fmt.Errorf("--parallel must be at least 1, got %d", cfg.Parallel)
	case cfg.Budget < 0:
		return fmt.Errorf("--budget must be 0 (every account) or more, got %d", cfg.Budget)
	}
	return nil
}

// New checks cfg, fills its defaults and registers the metrics.
func New(cfg Config, deps Deps) (*Monitor, error) {
	if deps.Client == nil || deps.Prover == nil {
		return nil, errors.New("monitor: a client and a prover are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.WebhookCheck <= 0 {
		cfg.WebhookCheck = min(cfg.Interval, time.Minute)
	}
	cfg.LeaseName = cmp.Or(cfg.LeaseName, DefaultLeaseName)
	cfg.Namespace = cmp.Or(cfg.Namespace, DefaultNamespace)
	cfg.StatusConfigMap = cmp.Or(cfg.StatusConfigMap, DefaultStatusConfigMap)
	if deps.Clock == nil {
		deps.Clock = clock.RealClock{}
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	m := &Monitor{cfg: cfg, deps: deps, kick: make(chan struct{}, 1),
		accounts: map[string]Account{}, states: map[string]*accountState{}, stale: map[string]int{}}
	m.metrics = newMetrics(deps.Registry, cfg.ClusterName)
	if deps.AWSReads == AWSReadsEnabled {
		m.metrics.awsReads.Set(1)
	}
	return m, nil
}

// Handler serves /metrics and /healthz, on every replica.
func (m *Monitor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.deps.Registry, promhttp.HandlerOpts{Registry: m.deps.Registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

// Run proves until ctx ends: at once without leader election, else while this replica holds
// the Lease. Losing the Lease is an error (the process restarts and stands by). Every probe
// pod it created is deleted before it returns.
func (m *Monitor) Run(ctx context.Context) error {
	if m.deps.AWSReads != AWSReadsEnabled {
		m.deps.Log.Info("AWS reads are off: explain's IAM checks and the Pod Identity associations are not read", "why", m.deps.AWSReads)
	}
	if !m.cfg.LeaderElect {
		return m.lead(ctx)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: m.cfg.LeaseName, Namespace: m.cfg.Namespace},
		Client:     m.deps.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: m.cfg.Identity},
	}
	var (
		leadErr error
		led     = make(chan struct{})
		started atomic.Bool
	)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		Name:            m.cfg.LeaseName,
		LeaseDuration:   cmp.Or(m.cfg.LeaseDuration, 15*time.Second),
		RenewDeadline:   cmp.Or(m.cfg.RenewDeadline, 10*time.Second),
		RetryPeriod:     cmp.Or(m.cfg.RetryPeriod, 2*time.Second),
		ReleaseOnCancel: true,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				started.Store(true)
				defer close(led)
				leadErr = m.lead(ctx)
			},
			OnStoppedLeading: func() {},
			OnNewLeader: func(id string) {
				m.deps.Log.Info("the lease has a leader", "lease", m.cfg.Namespace+"/"+m.cfg.LeaseName, "leader", id)
			},
		},
	})
	if err != nil {
		return fmt.Errorf("failed to set up leader election: %w", err)
	}
	le.Run(ctx)
	// Run returns once the lease is lost or ctx ended, without waiting for the leading
	// goroutine, which deletes its probe pods: wait for it.
	if started.Load() {
		<-led
	}
	if ctx.Err() != nil {
		return nil
	}
	if leadErr != nil {
		return fmt.Errorf("lost the lease %s/%s: %w", m.cfg.Namespace, m.cfg.LeaseName, leadErr)
	}
	return fmt.Errorf("lost the lease %s/%s", m.cfg.Namespace, m.cfg.LeaseName)
}

// lead is the leader's work: watch, sweep, prove on schedule and on change, report.
func (m *Monitor) lead(ctx context.Context) error {
	m.deps.Log.Info("leading: proving the identity accounts", "interval", m.cfg.Interval, "parallel", m.cfg.Parallel, "budget", m.cfg.Budget)
	m.metrics.leader.Set(1)
	defer func() {
		m.metrics.leader.Set(0)
		m.metrics.clearAccounts()
	}()
	m.mu.Lock()
	m.sched = newSchedule(m.cfg.Interval, m.cfg.Jitter, m.cfg.Debounce, m.cfg.Budget, m.rand)
	m.accounts, m.states, m.stale = map[string]Account{}, map[string]*accountState{}, map[string]int{}
	m.mu.Unlock()

	w, err := newWatcher(m.deps.Client, m.cfg.Namespaces, ProbeSelector(), changes{
		account:   m.changed,
		inventory: m.poke,
		probePods: m.countProbePods,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup // the webhook's checks
	defer func() {
		cancel()
		wg.Wait()
		w.shutdown()
	}()
	if !w.start(ctx.Done()) {
		return ctx.Err()
	}
	m.mu.Lock()
	m.watch = w
	m.mu.Unlock()
	m.sweep(ctx, w)
	m.seed(ctx)

	var webhookOnce sync.Once
	var assocRead time.Time
	var assoc []inventory.Association
	var cluster string
	for {
		now := m.deps.Clock.Now()
		if m.deps.Associations != nil && (assocRead.IsZero() || now.Sub(assocRead) >= m.cfg.Interval) {
			assocRead = now
			c, items, err := m.deps.Associations(ctx, m.singleNamespace())
			if err != nil {
				m.metrics.errors.WithLabelValues(ErrorAssociations).Inc()
				m.deps.Log.Error(err, "the Pod Identity associations were not read")
			} else {
				cluster, assoc = c, m.inScope(items)
			}
		}
		m.refresh(inventory.Scope{Namespace: m.singleNamespace(), Cluster: cluster, Associations: assoc}, now)
		webhookOnce.Do(func() {
			// After the first inventory: it says whether a webhook is registered.
			wg.Go(func() { m.webhookLoop(ctx) })
		})
		m.mu.Lock()
		batch := m.sched.take(now)
		m.mu.Unlock()
		if len(batch) > 0 {
			results := m.deps.Prover.Prove(ctx, batch, m.cfg.Parallel)
			if ctx.Err() != nil {
				return nil
			}
			m.record(ctx, results)
			m.metrics.runs.Inc()
			if err := m.writeStatus(ctx, m.status()); err != nil {
				m.metrics.errors.WithLabelValues(ErrorStatus).Inc()
				m.deps.Log.Error(err, "the status object was not written")
			}
			continue
		}
		if !m.wait(ctx) {
			return nil
		}
	}
}

// wait sleeps until the next account falls due, a change comes, or the associations are due;
// false when ctx ended.
func (m *Monitor) wait(ctx context.Context) bool {
	m.mu.Lock()
	next := m.sched.next()
	m.mu.Unlock()
	d := m.cfg.Interval
	if !next.IsZero() {
		d = min(d, max(next.Sub(m.deps.Clock.Now()), 0))
	}
	t := m.deps.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	case <-m.kick:
		// A burst of events (a rollout) gives one refresh.
		settle := m.deps.Clock.NewTimer(time.Second)
		defer settle.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-settle.C():
			return true
		}
	}
}

func (m *Monitor) rand() float64 {
	if m.deps.Rand != nil {
		return m.deps.Rand()
	}
	return randFloat()
}

// singleNamespace is the inventory's namespace: the one watched, or "" when several or all.
func (m *Monitor) singleNamespace() string {
	if len(m.cfg.Namespaces) == 1 {
		return m.cfg.Namespaces[0]
	}
	return ""
}

// inScope keeps the associations of the watched namespaces.
func (m *Monitor) inScope(items []inventory.Association) []inventory.Association {
	if len(m.cfg.Namespaces) == 0 {
		return items
	}
	var out []inventory.Association
	for _, a := range items {
		if slices.Contains(m.cfg.Namespaces, a.Namespace) {
			out = append(out, a)
		}
	}
	return out
}

// poke wakes the loop to rebuild the inventory.
func (m *Monitor) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// changed says something that can break the account changed: it is proven a debounce later.
func (m *Monitor) changed(key string) {
	m.mu.Lock()
	if m.sched != nil {
		m.sched.changed(key, m.deps.Clock.Now())
	}
	m.mu.Unlock()
	m.poke()
}

func (m *Monitor) countProbePods() {
	m.mu.Lock()
	w := m.watch
	m.mu.Unlock()
	if w != nil {
		m.metrics.probePods.Set(float64(w.probePods()))
	}
}

// identityType is the metrics' name of how an account's pods get a role: Pod Identity wins
// when both are set up (its association takes precedence over role-arn in the SDKs' chain).
func identityType(inv string) string {
	if inv == inventory.IdentityIRSA {
		return IdentityIRSA
	}
	return IdentityPodIdentity
}

// refresh rebuilds the inventory from the caches: the accounts to prove, their stale pods,
// the webhook's registration and the agent.
func (m *Monitor) refresh(scope inventory.Scope, now time.Time) {
	report := m.watch.inventory(scope)
	var accounts []Account
	stale := map[string]int{}
	for _, r := range report.ServiceAccounts {
		if r.Identity == "" {
			continue
		}
		a := Account{Namespace: r.Namespace, Name: r.Name, Identity: identityType(r.Identity)}
		accounts = append(accounts, a)
		stale[a.key()] = r.Pods.Stale + r.Pods.PodIdentityStale
	}
	registered := !slices.ContainsFunc(report.Findings, func(f inventory.Finding) bool { return f.Check == inventory.CheckWebhookMissing })
	if webhooks, _ := m.watch.webhooks.List(labels.Everything()); len(webhooks) == 0 {
		registered = false
	}
	agentExists, agentReady := m.watch.agentReady()

	m.mu.Lock()
	gone := m.sched.sync(accounts, now)
	m.accounts = map[string]Account{}
	for _, a := range accounts {
		m.accounts[a.key()] = a
	}
	for _, a := range gone {
		delete(m.states, a.key())
	}
	m.stale = stale
	m.webhook.registered = registered
	m.agent = agentReady
	usesPodIdentity := slices.ContainsFunc(accounts, func(a Account) bool { return a.Identity == IdentityPodIdentity })
	m.mu.Unlock()

	for _, a := range gone {
		m.metrics.forget(a)
	}
	for _, a := range accounts {
		m.metrics.stalePods.WithLabelValues(a.Namespace, a.Name).Set(float64(stale[a.key()]))
	}
	switch {
	case agentExists:
		m.metrics.agentReady.WithLabelValues().Set(boolFloat(agentReady))
	case usesPodIdentity:
		m.metrics.agentReady.WithLabelValues().Set(0)
	default:
		m.metrics.agentReady.Reset()
	}
	m.metrics.probePods.Set(float64(m.watch.probePods()))
}

// record keeps each result, sets its series and writes an Event when its verdict changed.
func (m *Monitor) record(ctx context.Context, results []Result) {
	now := m.deps.Clock.Now()
	for _, r := range results {
		a, k := r.Account, r.Account.key()
		m.mu.Lock()
		m.sched.done(k, now)
		if r.Interrupted {
			m.mu.Unlock()
			continue
		}
		prev := m.states[k]
		m.states[k] = &accountState{verified: r.Verified, identity: a.Identity, failed: r.FailedChecks, lastRun: now, took: r.Duration}
		m.mu.Unlock()
		if r.Err != nil {
			m.metrics.errors.WithLabelValues(ErrorProof).Inc()
			m.deps.Log.Error(r.Err, "a proof stopped before its verdict", "account", k)
		}
		if r.ExplainErr != nil {
			m.metrics.errors.WithLabelValues(ErrorExplain).Inc()
			m.deps.Log.Error(r.ExplainErr, "explain's IAM checks could not run with the monitor's AWS reads", "account", k)
		}

		if prev != nil && prev.identity != a.Identity {
			m.metrics.verified.DeletePartialMatch(prometheus.Labels{"namespace": a.Namespace, "service_account": a.Name})
		}
		m.metrics.verified.WithLabelValues(a.Namespace, a.Name, a.Identity).Set(boolFloat(r.Verified))
		failing := map[string]bool{}
		for _, c := range r.FailedChecks {
			failing[c.Check] = true
			m.metrics.checkFailed.WithLabelValues(a.Namespace, a.Name, c.Check).Set(1)
		}
		if prev != nil {
			for _, c := range prev.failed {
				if !failing[c.Check] {
					m.metrics.checkFailed.DeleteLabelValues(a.Namespace, a.Name, c.Check)
				}
			}
		}
		m.metrics.lastVerified.WithLabelValues(a.Namespace, a.Name).Set(float64(now.Unix()))
		m.metrics.duration.WithLabelValues(a.Identity).Observe(r.Duration.Seconds())

		var prevVerified *bool
		if prev != nil {
			prevVerified = &prev.verified
		}
		eventType, reason := transition(prevVerified, r)
		if reason == "" {
			continue
		}
		var uid types.UID
		if sa := m.watch.serviceAccount(a.Namespace, a.Name); sa != nil {
			uid = sa.UID
		}
		if err := m.writeEvent(ctx, a, uid, eventType, reason, eventMessage(r)); err != nil {
			m.metrics.errors.WithLabelValues(ErrorEvent).Inc()
			m.deps.Log.Error(err, "the Event was not written", "account", k, "reason", reason)
		}
	}
}

// status is the status object of the last results.
func (m *Monitor) status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := Status{Updated: m.deps.Clock.Now().UTC(), Leader: m.cfg.Identity, WebhookUp: m.webhook.up, AgentReady: m.agent,
		AWSReads: m.deps.AWSReads, Accounts: []AccountStatus{}}
	for k, s := range m.states {
		a, ok := m.accounts[k]
		if !ok {
			continue
		}
		failed := s.failed
		if failed == nil {
			failed = []Check{}
		}
		st.Accounts = append(st.Accounts, AccountStatus{
			Namespace: a.Namespace, ServiceAccount: a.Name, Identity: s.identity, Verified: s.verified,
			FailedChecks: failed, StalePods: m.stale[k], LastRun: s.lastRun.UTC(), DurationSeconds: s.took.Seconds(),
		})
	}
	slices.SortFunc(st.Accounts, func(a, b AccountStatus) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.ServiceAccount, b.ServiceAccount))
	})
	return st
}

// seed takes the verdicts and proof times of the status a previous leader wrote: no Event
// repeats a transition it already reported, and no account is proven again before its
// interval is over.
func (m *Monitor) seed(ctx context.Context) {
	st := m.readStatus(ctx)
	if st == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range st.Accounts {
		k := a.Namespace + "/" + a.ServiceAccount
		m.states[k] = &accountState{verified: a.Verified, identity: a.Identity, failed: a.FailedChecks, lastRun: a.LastRun,
			took: time.Duration(a.DurationSeconds * float64(time.Second))}
		m.sched.seed(k, a.LastRun)
	}
}

// sweep deletes the probe pods a previous run of the monitor left behind (it was killed
// before it could), found in the informers' cache.
func (m *Monitor) sweep(ctx context.Context, w *watcher) {
	for _, l := range w.podListers {
		pods, _ := l.List(w.probe)
		for _, p := range pods {
			err := m.deps.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
				GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: ptr.To(p.UID)},
			})
			if err != nil && !isGone(err) {
				m.metrics.errors.WithLabelValues(ErrorSweep).Inc()
				m.deps.Log.Error(err, "a leftover probe pod was not deleted", "pod", p.Namespace+"/"+p.Name)
				continue
			}
			m.deps.Log.Info("deleted a leftover probe pod", "pod", p.Namespace+"/"+p.Name)
		}
	}
}

// webhookLoop asks the webhook's admission every WebhookCheck.
func (m *Monitor) webhookLoop(ctx context.Context) {
	t := m.deps.Clock.NewTicker(m.cfg.WebhookCheck)
	defer t.Stop()
	for {
		m.checkWebhook(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// webhookTimeout bounds one dry-run admission: the apiserver waits up to the webhook's own
// timeoutSeconds (at most 30, admissionregistration/v1) before it gives up on it.
const webhookTimeout = 40 * time.Second

// checkWebhook says whether the webhook works: a pod mutating webhook is registered, and a
// server-side dry run of a new pod of an identity account comes back mutated, so the
// apiserver reached the webhook and it answered. On EKS the webhook runs beside the
// control plane, with no Service in the cluster to look at; a paused webhook, too, keeps
// its endpoints while the apiserver times out on it.
func (m *Monitor) checkWebhook(ctx context.Context) {
	m.mu.Lock()
	registered := m.webhook.registered
	var first *Account
	keys := make([]string, 0, len(m.accounts))
	for k := range m.accounts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > 0 {
		first = ptr.To(m.accounts[keys[0]])
	}
	m.mu.Unlock()
	up := registered
	if registered && first != nil {
		askCtx, cancel := context.WithTimeout(ctx, webhookTimeout)
		pod := restart.AdmissionPod(first.Name)
		got, err := m.deps.Client.CoreV1().Pods(first.Namespace).Create(askCtx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		cancel()
		if ctx.Err() != nil {
			return // the monitor stops
		}
		if err != nil {
			m.metrics.errors.WithLabelValues(ErrorWebhookCheck).Inc()
			m.deps.Log.Error(err, "the webhook's admission could not be asked (a dry-run create of a pod)", "namespace", first.Namespace)
			return
		}
		id := identity.InspectPod(got)
		up = id.Injected || id.PodIdentity
	}
	m.mu.Lock()
	m.webhook.up = up
	m.mu.Unlock()
	m.metrics.webhookUp.WithLabelValues().Set(boolFloat(up))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
