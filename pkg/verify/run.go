package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

// Check names of the run's own checks and infos.
const (
	CheckPodCreate   = "pod.create"
	CheckPodStart    = "pod.start"
	CheckProbeExit   = "probe.exit"
	CheckProbeOutput = "probe.output"
)

// Steps of a run.
const (
	StepOutside report.StepID = "outside" // the service account, the webhook, the issuer
	StepAttach  report.StepID = "attach"  // in-pod: the probe is added to the app's pod
	StepCreate  report.StepID = "create"  // the probe pod is created
	StepStored  report.StepID = "stored"  // the pod as stored, after admission
	StepStart   report.StepID = "start"   // waiting for the pod to run
	StepProbe   report.StepID = "probe"   // the probe's checks, from its log
	StepCleanup report.StepID = "cleanup" // the pod is deleted, or kept
)

// Steps lists every step of a run with a probe pod, in order.
var Steps = []report.StepID{StepOutside, StepCreate, StepStored, StepStart, StepProbe, StepCleanup}

// InPodSteps lists every step of an in-pod run, in order: the probe pod's steps follow the
// attach step only when the cluster refuses the ephemeral container.
var InPodSteps = []report.StepID{StepOutside, StepAttach, StepCreate, StepStored, StepStart, StepProbe, StepCleanup}

// Config is what the user asked for.
type Config struct {
	Namespace string
	Target    checktarget.Target
	// RoleARN and Audience are the expected values; empty means the service account's.
	RoleARN, Audience string
	Image             string
	PullPolicy        corev1.PullPolicy
	// Container is the workload's container whose identity env the probe takes; empty:
	// kubectl's default container.
	Container string
	// Timeout bounds the whole run; the pod's activeDeadlineSeconds is a little longer.
	Timeout time.Duration
	Keep    bool
	// STSEndpoint sets AWS_ENDPOINT_URL_STS in the probe container; Region is the probe's
	// --region.
	STSEndpoint, Region string
	// AppLogLines is how many of each app container's last log lines a workload target's
	// log check reads; zero means DefaultAppLogLines.
	AppLogLines int64
	// CABundle is PEM CA certificates the probe trusts beside the public roots (--ca-bundle),
	// handed over in a ConfigMap that lives as long as the pod; empty: none. In-pod, it
	// travels in the ephemeral container's env instead.
	CABundle []byte
	// InPod runs the probe as an ephemeral container in a running pod of the target (a
	// workload or a pod) instead of in a probe pod: see RunInPod's doc in inpod.go.
	InPod bool
	// Pod names the app's pod for InPod; empty: the newest Ready pod of the target.
	Pod string
	// Labels are added to the probe pod's: the monitor marks its own, to sweep them.
	Labels map[string]string
}

// deadlineGrace is how much later than the run's timeout the probe pod's own deadline falls:
// the deadline is a backstop for a verify that dies, and verify's timeout, which says what it
// was waiting for, must fire first.
const deadlineGrace = 10 * time.Second

// Deps is the cluster and the clock.
type Deps struct {
	Client    kubernetes.Interface
	Logs      LogFunc               // nil: PodLogs(Client)
	Discovery apicall.DiscoveryFunc // nil: the issuer is unknown
	Now       func() time.Time
	PodName   func() string // nil: NewPodName
	// QuietPoll is how long the log may be quiet before verify reads it once without
	// following (then twice as long, up to three times). Zero means 150ms.
	QuietPoll time.Duration
	// CleanupTimeout bounds the deletion, which runs on a fresh context since the run's may
	// be cancelled. Zero means 15s.
	CleanupTimeout time.Duration
	// UnschedulableGrace is how long an unschedulable pod is given (an autoscaler may add a
	// node) before verify says it will not run. Zero means 20s.
	UnschedulableGrace time.Duration
	// LagBound is how long verify asks the webhook again, every LagPoll, after it admitted
	// the probe pod unmutated although the account carries a role: its service account cache
	// lags. Zero means 10s and 250ms.
	LagBound, LagPoll time.Duration
	// EndWait bounds how long an in-pod run waits, after the probe's result, for the kubelet
	// to report the ephemeral probe ended, to say so. Zero means 3s.
	EndWait time.Duration
	// PolicyDiscovery finds the policy APIs of network plugins beside NetworkPolicy, which the
	// NetworkPolicy check names as not evaluated; nil: not looked for.
	PolicyDiscovery discovery.DiscoveryInterface
	// Resolve looks up the STS endpoint's host for the NetworkPolicy check; nil: STS is not
	// judged, only the Pod Identity agent.
	Resolve Resolver
	// Association, when set, looks up the EKS Pod Identity association of an account that
	// has no role-arn annotation, with the user's AWS credentials; nil: not read.
	Association func(ctx context.Context, namespace, serviceAccount string) AssociationLookup
	// Explain, when set, reads the AWS side of a refusal of the probe with the user's AWS
	// credentials: STS's (the role's trust policy, the OIDC provider), or EKS Auth's of the
	// association's role (eksCluster: the cluster the association was read from, "" for STS's).
	// Its events go before the verdict, so the refusal names its cause. nil: a refusal is what
	// STS or EKS Auth said, with its possible causes.
	Explain func(ctx context.Context, namespace, serviceAccount, eksCluster string) []check.Event
}

// Outcome is how a run ended.
type Outcome struct {
	Status                 check.Status // of the verdict; empty when none was reached
	Checks, Failed, Warned int
	Namespace, Pod         string // Pod is empty when none was created
	Kept, Deleted          bool
	DeleteErr              error
	Timings                Timings
	// InPod is what an in-pod run did to the app's pod, or why it could not.
	InPod InPodOutcome
}

// Timings are the moments of a run, as verify saw them; ProbeFirst and ProbeLast are the
// probe's own event times.
type Timings struct {
	Start, OutsideDone, Created, Scheduled, Running, FirstEvent, Verdict, Gone time.Time
	ProbeFirst, ProbeLast                                                      time.Time
}

// Run verifies cfg.Target. Failed checks are events, and the Outcome counts them; the error
// is for what stopped the run: bad input, the cluster, the pod that did not run, a timeout
// (wrapping context.DeadlineExceeded) or an interruption (context.Canceled). The probe pod,
// once created, is deleted before Run returns, unless cfg.Keep.
func Run(ctx context.Context, cfg Config, deps Deps, rep report.Reporter) (Outcome, error) {
	if deps.Logs == nil {
		deps.Logs = PodLogs(deps.Client)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.PodName == nil {
		deps.PodName = NewPodName
	}
	if deps.QuietPoll <= 0 {
		deps.QuietPoll = 150 * time.Millisecond
	}
	if deps.CleanupTimeout <= 0 {
		deps.CleanupTimeout = 15 * time.Second
	}
	if deps.UnschedulableGrace <= 0 {
		deps.UnschedulableGrace = 20 * time.Second
	}
	if deps.LagBound <= 0 {
		deps.LagBound = 10 * time.Second
	}
	if deps.LagPoll <= 0 {
		deps.LagPoll = 250 * time.Millisecond
	}
	if deps.EndWait <= 0 {
		deps.EndWait = 3 * time.Second
	}
	r := &runner{cfg: cfg, deps: deps, rep: rep, steps: map[report.StepID]report.Step{}, container: ContainerName}
	r.out.Namespace = cfg.Namespace
	r.out.Timings.Start = deps.Now()
	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
	}
	err := r.run(ctx)
	return r.out, err
}

type runner struct {
	cfg  Config
	deps Deps
	rep  report.Reporter
	out  Outcome

	steps   map[report.StepID]report.Step
	podName string
	created *corev1.Pod
	// podAsked is true once the pod's Create was sent: from then on a pod may exist even if
	// the request failed on our side, and cleanup deletes it.
	podAsked bool

	tally       check.Tally
	path        string
	probeResult *check.Event
	verdictDone bool
	refused     bool // the probe's AssumeRoleWithWebIdentity was refused
	// piRefused: EKS Auth refused the association's role (missing, or its trust refuses).
	piRefused bool
	assoc     AssociationLookup // the account's association, when it has no role annotation
	stopped   bool              // the probe said a signal stopped it: its pod may have been taken away
	fate      *podFate
	caBundle  string // the --ca-bundle ConfigMap's name, once created

	container string // the probe's container: ContainerName, or the ephemeral probe's name
	app       AppPod // in-pod: the app's pod, nil Pod otherwise
	attached  bool   // in-pod: the ephemeral probe was added to the app's pod
	// beforeVerdict, when set, runs once before the verdict: what the run still has to say.
	beforeVerdict func()
	refusal       *Refusal // in-pod: why the probe could not join the app's pod
}

// run is a run's phases in order: the target, the checks from outside, the probe pod's
// creation, the pod as stored, and the probe itself. A phase that reaches the verdict, or
// hands the run to the in-pod probe, ends it.
func (r *runner) run(ctx context.Context) error {
	w, own, err := r.resolveTarget(ctx)
	if err != nil {
		return err
	}
	o, done, err := r.checkOutside(ctx, w, own)
	if done || err != nil {
		return err
	}
	if r.app.Pod != nil {
		if done, err := r.inPod(ctx, w, o.want, o.saCfg, o.cl.HasRoleAnnotation); done {
			return err
		}
	}
	if r.refusal != nil {
		r.reportRefusal(r.refusal)
	}
	pod := ProbePod(o.spec)
	// Registered before the Create: a request that fails on our side may still have reached
	// the apiserver.
	defer r.cleanup()
	created, err := r.createProbe(ctx, pod, w)
	if err != nil {
		return err
	}
	created, mutated, err := r.checkStored(ctx, pod, created, o)
	if !mutated || err != nil {
		return err
	}
	return r.runProbe(ctx, created, w.ServiceAccount)
}

// outside is what the checks from outside found that the later phases need.
type outside struct {
	saCfg identity.Config
	cl    Cluster // cl.HasRoleAnnotation: the account names a role
	spec  PodSpec
	want  Expected
}

// resolveTarget finds the target's workload and, in-pod, the app's pod the probe joins.
func (r *runner) resolveTarget(ctx context.Context) (Workload, owner, error) {
	w, own, err := resolve(ctx, r.deps.Client, r.cfg.Namespace, r.cfg.Target, r.cfg.Container)
	if err != nil {
		return Workload{}, owner{}, err
	}
	if r.cfg.InPod {
		// Chosen before the outside checks, so a --pod that is not the target's is refused
		// before anything runs; one that does not run is said where the probe would join it.
		app, err := findAppPod(ctx, r.deps.Client, r.cfg.Namespace, r.cfg.Target, own, r.cfg.Pod)
		var refusal *Refusal
		switch {
		case errors.As(err, &refusal):
			r.refusal = refusal
		case err != nil:
			return Workload{}, owner{}, r.ctxOr(ctx, err)
		default:
			r.app = app
			r.out.InPod.Pod, r.out.InPod.Container = app.Pod.Name, w.Container
		}
	}
	return w, own, nil
}

// checkOutside runs the checks from outside any pod: the service account (and its
// association), the webhooks, the issuer, the token request, the workload's pods and the
// app's own. done is true when the run ended at its verdict: there is no service account.
func (r *runner) checkOutside(ctx context.Context, w Workload, own owner) (o outside, done bool, err error) {
	c, ns := r.deps.Client, r.cfg.Namespace
	r.step(StepOutside, report.StepRunning, "")
	sa, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, w.ServiceAccount, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && r.cfg.Target.Kind == checktarget.KindServiceAccount:
		return o, false, apicall.Wrap(err, "get", "serviceaccounts", ns, w.ServiceAccount)
	case apierrors.IsNotFound(err):
		sa = nil
	case err != nil:
		return o, false, r.ctxOr(ctx, apicall.Wrap(err, "get", "serviceaccounts", ns, w.ServiceAccount))
	}
	ev, saCfg, hasRole := CheckServiceAccount(sa, ns, w.ServiceAccount, r.cfg.RoleARN)
	var assoc AssociationLookup
	if sa != nil && !hasRole {
		if r.deps.Association != nil {
			assoc = r.deps.Association(ctx, ns, w.ServiceAccount)
		}
		ev = describeAssociation(ev, ns+"/"+w.ServiceAccount, assoc)
		r.assoc = assoc
	}
	r.emit(ev)
	if sa == nil {
		r.step(StepOutside, report.StepFailed, "")
		r.verdict()
		return o, true, nil
	}

	r.podName = r.deps.PodName()
	spec := PodSpec{
		Name: r.podName, Namespace: ns, Image: r.cfg.Image, PullPolicy: r.cfg.PullPolicy,
		Workload: w, Deadline: r.cfg.Timeout + deadlineGrace, STSEndpoint: r.cfg.STSEndpoint, CABundle: len(r.cfg.CABundle) > 0,
		Labels: r.cfg.Labels,
	}
	podLabels := ProbePod(spec).Labels
	if r.app.Pod != nil {
		// The webhook admitted the app's pod already, or not: with its labels.
		podLabels = r.app.Pod.Labels
	}
	var nsLabels map[string]string
	if nsObj, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
		nsLabels = nsObj.Labels
	}
	list, listErr := c.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{Limit: 500})
	if ctx.Err() != nil {
		return o, false, r.ctxOr(ctx, listErr)
	}
	ev, cl := CheckWebhooks(list, listErr, nsLabels, podLabels)
	cl.HasRoleAnnotation, cl.Association = hasRole, assoc
	r.emit(ev)
	issuer := ""
	if r.deps.Discovery != nil {
		doc, derr := r.deps.Discovery(ctx)
		if ctx.Err() != nil {
			return o, false, r.ctxOr(ctx, derr)
		}
		ev, issuer = CheckIssuer(doc, derr)
	} else {
		ev, _ = CheckIssuer(nil, errors.New("no discovery client"))
	}
	r.emit(ev)
	if hasRole {
		for _, ev := range CheckTokenRequest(ns, w.ServiceAccount, saCfg, w.Annotations) {
			r.emit(ev)
		}
	}
	workloadEvents, live := CheckWorkloadPods(ctx, c, ns, r.cfg.Target, w.ServiceAccount, saCfg, hasRole)
	if own.pod != nil && running(own.pod) {
		live = []*corev1.Pod{own.pod} // a pod target is its own app
	}
	for _, ev := range append(workloadEvents, r.appChecks(ctx, w, live)...) {
		r.emit(ev)
	}
	if r.cfg.Target.Kind != checktarget.KindServiceAccount && !r.cfg.InPod {
		// In-pod, the probe proves it, or inpod.refused says it could not.
		r.emit(notProved(r.cfg.Target))
	}
	r.step(StepOutside, report.StepDone, "")
	r.out.Timings.OutsideDone = r.deps.Now()

	want := expectedFor(r.cfg, w, saCfg, w.Annotations, issuer)
	spec.Args = ProbeArgs(want)
	return outside{saCfg: saCfg, cl: cl, spec: spec, want: want}, false, nil
}

// createProbe creates the probe pod (and its --ca-bundle ConfigMap first).
func (r *runner) createProbe(ctx context.Context, pod *corev1.Pod, w Workload) (*corev1.Pod, error) {
	ns := r.cfg.Namespace
	r.step(StepCreate, report.StepRunning, ns+"/"+r.podName)
	if len(r.cfg.CABundle) > 0 {
		if err := r.createCABundle(ctx); err != nil {
			r.step(StepCreate, report.StepFailed, err.Error())
			return nil, err
		}
	}
	r.podAsked = true
	sctx, cancel := r.storeContext(ctx)
	created, err := r.deps.Client.CoreV1().Pods(ns).Create(sctx, pod, metav1.CreateOptions{})
	cancel()
	if err != nil {
		r.step(StepCreate, report.StepFailed, err.Error())
		return nil, r.ctxOr(ctx, fmt.Errorf("failed to create the probe pod %s/%s: %w", ns, r.podName, apicall.Wrap(err, "create", "pods", ns, r.podName)))
	}
	r.created = created
	if ctx.Err() != nil {
		return nil, r.ctxOr(ctx, ctx.Err())
	}
	r.out.Pod = created.Name
	r.out.Timings.Created = r.deps.Now()
	r.emit(createdEvent(created, r.cfg.Image, w, r.caBundle))
	r.step(StepCreate, report.StepDone, ns+"/"+created.Name)
	return created, nil
}

// checkStored checks the probe pod as admission stored it, asking the webhook again when its
// cache lags. mutated is false when the run ended at its verdict: the probe would only find
// the env missing.
func (r *runner) checkStored(ctx context.Context, pod, created *corev1.Pod, o outside) (*corev1.Pod, bool, error) {
	r.step(StepStored, report.StepRunning, "")
	cl := o.cl
	evs, mutated := CheckStoredPod(created, o.want, cl)
	if !mutated && cl.HasRoleAnnotation && len(cl.Webhooks) > 0 {
		// Cache lag or a webhook that does not answer: ask it again, once, bounded.
		caughtUp, waited := r.awaitMutation(ctx, pod, r.deps.LagBound, r.deps.LagPoll)
		switch {
		case ctx.Err() != nil:
			return nil, false, r.ctxOr(ctx, ctx.Err())
		case caughtUp:
			var err error
			if created, err = r.recreate(ctx, pod, waited); err != nil {
				r.step(StepStored, report.StepFailed, err.Error())
				return nil, false, r.ctxOr(ctx, err)
			}
		default:
			cl.UnmutatedFor = waited
		}
		evs, mutated = CheckStoredPod(created, o.want, cl)
	}
	// Owned by the pod that stays, not one the webhook's lag replaced: the garbage collector
	// would take the ConfigMap with that one.
	r.ownCABundle(ctx, created)
	for _, ev := range evs {
		if ev.Check == CheckPodMutation && ev.Status == check.StatusPass {
			r.path, _ = ev.Data["path"].(string)
		}
		r.emit(ev)
	}
	if !mutated {
		r.step(StepStored, report.StepFailed, "not mutated")
		r.verdict()
		return created, false, nil
	}
	r.step(StepStored, report.StepDone, "")
	return created, true, nil
}

// runProbe waits for the probe pod to run, follows its log to the verdict, and says who cut
// it short or what IAM says of a refusal.
func (r *runner) runProbe(ctx context.Context, created *corev1.Pod, serviceAccount string) error {
	r.step(StepStart, report.StepRunning, "Pending")
	running, err := r.waitRunning(ctx, created)
	if err != nil {
		return err
	}

	r.step(StepProbe, report.StepRunning, "")
	r.fate = followFate(ctx, r.deps.Client, running, "the probe pod")
	defer r.fate.stop()
	if err := r.follow(ctx, running); err != nil {
		return err
	}
	if r.stopped {
		// Its verdict is of a probe cut short: say who cut it, when something took the pod.
		if _, msg, fix, ok := r.fate.disruption(ctx); ok {
			return r.disrupted(CheckProbeExit, StepProbe, msg, fix)
		}
	}
	r.explainRefusal(ctx, r.cfg.Namespace, serviceAccount)
	r.step(StepProbe, report.StepDone, "")
	r.verdict()
	return nil
}

// explainRefusal adds explain's IAM findings (Deps.Explain, with the user's credentials) to a
// refusal the probe could only hedge: STS refusing the web identity, or EKS Auth refusing the
// association's role, of the EKS cluster its association was read from.
func (r *runner) explainRefusal(ctx context.Context, ns, sa string) {
	if r.deps.Explain == nil || !r.refused && !r.piRefused {
		return
	}
	cluster := ""
	if r.piRefused {
		cluster = r.assoc.Cluster
	}
	for _, ev := range r.deps.Explain(ctx, ns, sa, cluster) {
		r.emit(ev)
	}
}

// expectedFor is what the probe expects of a pod of w with podAnnotations: the flags' values,
// else the service account's.
func expectedFor(cfg Config, w Workload, saCfg identity.Config, podAnnotations map[string]string, issuer string) Expected {
	ns := cfg.Namespace
	want := Expected{
		ServiceAccount: ns + "/" + w.ServiceAccount,
		Subject:        "system:serviceaccount:" + ns + ":" + w.ServiceAccount,
		RoleARN:        cfg.RoleARN,
		Audience:       cfg.Audience,
		Expiration:     saCfg.EffectiveExpiration(podAnnotations),
		Issuer:         issuer,
		Region:         cfg.Region,
	}
	if want.RoleARN == "" {
		// A container that sets its own role uses it: the probe, with that env, proves it.
		want.RoleARN = cmp.Or(w.OwnRoleARN(), saCfg.RoleARN)
	}
	if want.Audience == "" {
		want.Audience = saCfg.EffectiveAudience()
	}
	return want
}

// createdEvent says which pod verify created, from what, and what it carries of the
// workload's network path.
func createdEvent(pod *corev1.Pod, image string, w Workload, caBundle string) check.Event {
	msg := fmt.Sprintf("created the probe pod %s/%s from %s, running as the service account %s", pod.Namespace, pod.Name, image, w.ServiceAccount)
	data := map[string]any{"pod": pod.Name, "namespace": pod.Namespace, "image": image, "service_account": w.ServiceAccount}
	if caBundle != "" {
		msg += fmt.Sprintf(", with --ca-bundle in the ConfigMap %s/%s as %s", pod.Namespace, caBundle, probe.EnvCABundle)
		data["ca_bundle_configmap"] = caBundle
	}
	if len(w.Env) > 0 {
		names := make([]string, len(w.Env))
		for i, e := range w.Env {
			names[i] = e.Name
		}
		msg += fmt.Sprintf(", with the env of container %s that steers the AWS SDK: %s", w.Container, strings.Join(names, ", "))
		data["container"] = w.Container
		data["env"] = names
	}
	if len(w.NotCopied) > 0 {
		msg += fmt.Sprintf(" (not copied: %s, credentials or files only that container has)", strings.Join(w.NotCopied, ", "))
		data["env_not_copied"] = w.NotCopied
	}
	if own := w.OwnRoleARN(); own != "" {
		msg += fmt.Sprintf("; container %s sets %s itself, so the probe proves its role %s", w.Container, identity.EnvRoleARN, own)
	}
	return check.Event{Type: check.TypeInfo, Check: CheckPodCreate, Message: msg, Data: data}
}

// ctxOr returns the context's error, wrapped to say what was interrupted, when the context
// ended; otherwise err.
func (r *runner) ctxOr(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("interrupted: %w", context.Canceled)
	case ctx.Err() != nil:
		return fmt.Errorf("timed out after %s: %w", r.cfg.Timeout, ctx.Err())
	}
	return err
}

func (r *runner) step(id report.StepID, state report.StepState, detail string) {
	s := report.Step{ID: id, State: state, Detail: detail}
	if r.steps[id] == s {
		return
	}
	r.steps[id] = s
	r.rep.Step(s)
}

// emit stamps and tallies an event of the plugin's own, and reports it.
func (r *runner) emit(ev check.Event) {
	ev.V = check.ProtocolVersion
	if ev.Time.IsZero() {
		ev.Time = r.deps.Now().UTC()
	}
	r.forward(ev)
}

// forward tallies and reports an event, the probe's as it came.
func (r *runner) forward(ev check.Event) {
	if ev.Check == probe.CheckSTSAssumeRole && ev.Status == check.StatusFail {
		r.refused = true
	}
	if cause, _ := ev.Data["cause"].(string); ev.Check == probe.CheckPodIdentityAgent && ev.Status == check.StatusFail && cause == probe.CauseRoleRefused {
		r.piRefused = true
	}
	if code, _ := ev.Data["code"].(string); code == probe.CodeStopped {
		r.stopped = true
	}
	r.tally.Count(ev)
	r.out.Checks, r.out.Failed, r.out.Warned = r.tally.Checks, r.tally.Failed, r.tally.Warned
	r.rep.Event(ev)
}

// verdict emits the result event once: every check counted, the fixes of the failed ones (of
// the warned ones when none failed).
func (r *runner) verdict() {
	if r.verdictDone {
		return
	}
	if f := r.beforeVerdict; f != nil {
		r.beforeVerdict = nil
		f()
	}
	r.verdictDone = true
	o := &r.out
	status, msg, fix := r.tally.Verdict()
	data := map[string]any{"checks": o.Checks, "failed": o.Failed, "warned": o.Warned, "namespace": o.Namespace}
	if o.Pod != "" {
		data["pod"] = o.Pod
	}
	if r.probeResult != nil {
		data["probe"] = r.probeResult.Message
		if p, ok := r.probeResult.Data["path"].(string); ok && p != "" {
			r.path = p
		}
	}
	if r.path != "" {
		data["path"] = r.path
	}
	o.Status = status
	o.Timings.Verdict = r.deps.Now()
	r.emit(check.Event{Type: check.TypeResult, Status: status, Message: msg, Fix: fix, Data: data})
}

// waitRunning watches the pod until its container runs or has run, and says why when it will
// not.
func (r *runner) waitRunning(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	pods := r.deps.Client.CoreV1().Pods(pod.Namespace)
	cur := pod
	var (
		w            watch.Interface
		unschedSince time.Time
		last         StartState
	)
	defer func() {
		if w != nil {
			w.Stop()
		}
	}()
	for {
		st := AssessStart(cur)
		last = st
		now := r.deps.Now()
		if st.Scheduled && r.out.Timings.Scheduled.IsZero() {
			r.out.Timings.Scheduled = now
		}
		if st.Ran {
			r.out.Timings.Running = now
			node := cur.Spec.NodeName
			r.emit(check.New(CheckPodStart, check.StatusPass,
				fmt.Sprintf("the probe pod runs on node %s after %s", orNone(node), now.Sub(r.out.Timings.Created).Round(time.Millisecond)),
				"", map[string]any{"node": node, "phase": string(cur.Status.Phase)}))
			r.step(StepStart, report.StepDone, "on node "+orNone(node))
			return cur, nil
		}
		if st.Unschedulable {
			if unschedSince.IsZero() {
				unschedSince = now
			}
			if now.Sub(unschedSince) >= r.deps.UnschedulableGrace {
				st.Fatal = true
			}
		} else {
			unschedSince = time.Time{}
		}
		if st.Fatal {
			if st.Unschedulable {
				r.withNodeHealth(ctx, &st)
			}
			return nil, r.notRunning(st)
		}
		detail := st.Progress
		if st.Unschedulable {
			detail += ": " + st.Message
		}
		r.step(StepStart, report.StepRunning, detail)

		if w == nil {
			var err error
			w, err = pods.Watch(ctx, metav1.ListOptions{
				FieldSelector:   fields.OneTermEqualSelector("metadata.name", cur.Name).String(),
				ResourceVersion: cur.ResourceVersion,
			})
			if err != nil {
				if ctx.Err() != nil {
					return nil, r.waitCtxErr(ctx, last)
				}
				return nil, fmt.Errorf("failed to watch the probe pod %s/%s: %w", cur.Namespace, cur.Name, err)
			}
		}
		var wake <-chan time.Time
		if st.Unschedulable {
			wake = time.After(r.deps.UnschedulableGrace - now.Sub(unschedSince))
		}
		select {
		case <-ctx.Done():
			return nil, r.waitCtxErr(ctx, last)
		case <-wake:
		case ev, ok := <-w.ResultChan():
			if ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
				if p, isPod := ev.Object.(*corev1.Pod); isPod {
					cur = p
				}
				if msg, fix, gone := Disruption(cur, cur.Namespace, cur.Name); gone {
					return nil, r.disrupted(CheckPodStart, StepStart, msg, fix)
				}
				continue
			}
			if ok && ev.Type == watch.Deleted {
				msg, fix, _ := Disruption(nil, cur.Namespace, cur.Name)
				return nil, r.disrupted(CheckPodStart, StepStart, msg, fix)
			}
			// The watch ended or failed: read the pod again and watch from there.
			w.Stop()
			w = nil
			p, err := pods.Get(ctx, cur.Name, metav1.GetOptions{})
			if err != nil {
				if ctx.Err() != nil {
					return nil, r.waitCtxErr(ctx, last)
				}
				return nil, fmt.Errorf("failed to get the probe pod %s/%s: %w", cur.Namespace, cur.Name, err)
			}
			cur = p
		}
	}
}

// withNodeHealth adds to an unschedulable pod's state the nodes that are not Ready, when
// there are any and verify may list nodes (a cluster-scoped read it does without).
func (r *runner) withNodeHealth(ctx context.Context, st *StartState) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	nodes, err := r.deps.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 500})
	if err != nil {
		return
	}
	if bad := NodesNotReady(nodes.Items); len(bad) > 0 {
		st.Message += "; " + strings.Join(bad, "; ")
		st.Fix = notReadyFix
	}
}

// notRunning reports a pod that will not run: a failed pod.start and the verdict.
func (r *runner) notRunning(st StartState) error {
	r.emit(check.New(CheckPodStart, check.StatusFail, st.Message, st.Fix, map[string]any{"reason": st.Reason, "image": r.cfg.Image}))
	r.step(StepStart, report.StepFailed, st.Reason)
	r.verdict()
	return fmt.Errorf("the probe pod %s/%s did not run: %s", r.cfg.Namespace, r.podName, st.Message)
}

// disrupted reports a probe pod that something other than verify took away: a failed check
// that says what took it, and the verdict.
func (r *runner) disrupted(id string, step report.StepID, msg, fix string) error {
	r.emit(check.New(id, check.StatusFail, msg, fix, map[string]any{"reason": "disrupted"}))
	r.step(step, report.StepFailed, "disrupted")
	r.verdict()
	return errors.New(msg)
}

func (r *runner) waitCtxErr(ctx context.Context, last StartState) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("interrupted while waiting for the probe pod %s/%s to run: %w", r.cfg.Namespace, r.podName, context.Canceled)
	}
	why := last.Progress
	fix := "raise --timeout, or look at why the pod starts slowly: kubectl get events -n " + r.cfg.Namespace + " --field-selector involvedObject.name=" + r.podName
	if last.Unschedulable {
		// No node fits the pod: waiting longer does not help, making a node fit does.
		r.withNodeHealth(context.WithoutCancel(ctx), &last)
		why, fix = last.Message, last.Fix
	}
	r.emit(check.New(CheckPodStart, check.StatusFail,
		fmt.Sprintf("the probe pod did not run within --timeout %s (%s)", r.cfg.Timeout, why),
		fix,
		map[string]any{"reason": "timeout", "progress": last.Progress}))
	r.step(StepStart, report.StepFailed, "timed out")
	r.verdict()
	return fmt.Errorf("timed out after %s waiting for the probe pod %s/%s to run (%s): %w", r.cfg.Timeout, r.cfg.Namespace, r.podName, why, ctx.Err())
}

func (r *runner) probeIncomplete(msg string, data map[string]any) error {
	r.emit(check.New(CheckProbeExit, check.StatusFail, msg,
		"read the probe's output above; an image that is not this version's kubectl-wi probe fails so: pass --image with the probe image of kubectl-wi "+
			"(the default is the release image of this version)", data))
	r.step(StepProbe, report.StepFailed, "")
	r.verdict()
	return fmt.Errorf("%s ended without a verdict (image %s)", r.where(), r.cfg.Image)
}

func (r *runner) probeCtxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("interrupted while the probe ran: %w", context.Canceled)
	}
	r.emit(check.New(CheckProbeExit, check.StatusFail, fmt.Sprintf("the probe did not finish within --timeout %s", r.cfg.Timeout),
		"raise --timeout; a probe stuck on STS points at egress to the STS endpoint", nil))
	r.step(StepProbe, report.StepFailed, "timed out")
	r.verdict()
	return fmt.Errorf("timed out after %s while the probe ran: %w", r.cfg.Timeout, ctx.Err())
}

// containerTerminated is how the container name of pod (the probe pod's, or the ephemeral
// probe in the app's pod) ended; nil while it has not.
func containerTerminated(pod *corev1.Pod, name string) *corev1.ContainerStateTerminated {
	for _, cs := range append(slices.Clone(pod.Status.ContainerStatuses), pod.Status.EphemeralContainerStatuses...) {
		if cs.Name == name && cs.State.Terminated != nil {
			return cs.State.Terminated
		}
	}
	return nil
}

// where names the probe for messages: the probe pod, or the ephemeral container in the app's
// pod.
func (r *runner) where() string {
	if r.attached {
		return fmt.Sprintf("the probe %s in the pod %s/%s", r.container, r.app.Pod.Namespace, r.app.Pod.Name)
	}
	return fmt.Sprintf("the probe pod %s/%s", r.cfg.Namespace, r.podName)
}

// line handles one line of the probe's log.
func (r *runner) line(l check.Line) {
	if l.Event == nil {
		r.rep.Raw(l.Raw)
		return
	}
	ev := *l.Event
	if r.out.Timings.FirstEvent.IsZero() {
		r.out.Timings.FirstEvent = r.deps.Now()
		r.out.Timings.ProbeFirst = ev.Time
	}
	r.out.Timings.ProbeLast = ev.Time
	if ev.Type == check.TypeResult {
		// The plugin's verdict counts the probe's checks with the others; one result, last.
		r.probeResult = &ev
		return
	}
	r.forward(ev)
}

// storeContext is the context of a create whose outcome cleanup must know. A create cancelled
// in flight (Ctrl-C, --timeout) can still be stored after the client gave up, when cleanup has
// already found nothing to delete, and the object stays. So a create ends on the apiserver's
// answer, bounded by CleanupTimeout, and the run's end is noticed after it.
func (r *runner) storeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), r.deps.CleanupTimeout)
}

// cleanup deletes the probe pod, on a fresh context, and waits until it is gone. A run
// stopped before the pod was asked for deletes only what it made before (the ConfigMap).
func (r *runner) cleanup() {
	if r.podName == "" {
		return
	}
	if !r.podAsked {
		ctx, cancel := context.WithTimeout(context.Background(), r.deps.CleanupTimeout)
		defer cancel()
		r.out.DeleteErr = r.deleteCABundle(ctx)
		return
	}
	ref := r.cfg.Namespace + "/" + r.podName
	if r.cfg.Keep && r.created != nil {
		r.out.Kept = true
		r.step(StepCleanup, report.StepDone, "kept "+ref)
		return
	}
	r.step(StepCleanup, report.StepRunning, "deleting "+ref)
	ctx, cancel := context.WithTimeout(context.Background(), r.deps.CleanupTimeout)
	defer cancel()
	defer func() {
		if err := r.deleteCABundle(ctx); err != nil && r.out.DeleteErr == nil {
			r.out.DeleteErr = err
		}
	}()
	pods := r.deps.Client.CoreV1().Pods(r.cfg.Namespace)
	opts := metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}
	if r.created != nil {
		opts.Preconditions = &metav1.Preconditions{UID: ptr.To(r.created.UID)}
	}
	err := pods.Delete(ctx, r.podName, opts)
	if apierrors.IsNotFound(err) {
		if r.created == nil {
			// The failed Create made nothing.
			r.step(StepCleanup, report.StepDone, "nothing to delete")
			return
		}
		err = nil
	}
	for err == nil {
		_, gerr := pods.Get(ctx, r.podName, metav1.GetOptions{})
		if apierrors.IsNotFound(gerr) {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err != nil {
		r.out.DeleteErr = fmt.Errorf("failed to delete the probe pod %s: %w", ref, err)
		r.step(StepCleanup, report.StepFailed, "could not delete "+ref+": "+err.Error())
		return
	}
	r.out.Deleted = true
	r.out.Timings.Gone = r.deps.Now()
	r.step(StepCleanup, report.StepDone, "deleted "+ref)
}
