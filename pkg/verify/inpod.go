package verify

import (
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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/restartfix"
)

// An in-pod run (Config.InPod) proves what the app itself gets: instead of a probe pod, the
// probe joins a running pod of the target as an ephemeral container (what kubectl debug adds,
// through the pods/ephemeralcontainers subresource), in the process namespace of the app's
// container, with its env, identity mounts and user, in its network namespace. It makes the
// probe pod's checks from there, and reports the app's processes and their AWS SDKs.
//
// The outside checks run as for a probe pod; the pod is the newest Ready one of the target
// (Config.Pod names another). An ephemeral container cannot be removed: it stays in the pod's
// spec, terminated, until the pod is replaced, and the run says so before it writes. When the
// cluster refuses it (RBAC, a subresource that is not served, admission) or the pod does not
// run, the run says why in a warned inpod.refused and falls back to a probe pod, whose result
// follows; Outcome.InPod.Refusal says so, and the command exits 3 unless a check failed.

// Check names of an in-pod run.
const (
	CheckInPodPod       = "inpod.pod"       // info: the app's pod and container the probe joins
	CheckInPodIdentity  = "inpod.identity"  // the app's container carries an identity the probe can prove
	CheckInPodFootprint = "inpod.footprint" // info, before the write: what is added, and that it stays
	CheckInPodRefused   = "inpod.refused"   // warn: why the probe could not join; a probe pod's result follows
	CheckInPodStart     = "inpod.start"     // the ephemeral probe ran, or why it did not
	CheckInPodRemains   = "inpod.remains"   // info, last: the ephemeral container stays in the pod's spec
)

// RefusalReason says why an in-pod probe could not join the app's pod.
type RefusalReason string

// Refusal reasons.
const (
	RefusedForbidden  RefusalReason = "forbidden"   // RBAC: no patch on pods/ephemeralcontainers
	RefusedNotServed  RefusalReason = "not-served"  // 404 or 405: the apiserver does not serve the subresource
	RefusedAdmission  RefusalReason = "admission"   // Pod Security, a policy engine or a webhook
	RefusedInvalid    RefusalReason = "invalid"     // the apiserver found the ephemeral container invalid
	RefusedNotRunning RefusalReason = "not-running" // no running pod to join
)

// Refusal is why an in-pod probe could not join the app's pod. Nothing was written to it.
type Refusal struct {
	Reason  RefusalReason
	Message string
	Fix     string
}

func (r *Refusal) Error() string { return r.Message }

// InPodOutcome is what an in-pod run did to the app's pod, or why it could not.
type InPodOutcome struct {
	// Pod and Container are the app's pod and container the probe joined or would have.
	Pod, Container string
	// Ephemeral is the ephemeral probe's name once it was added: it stays in the pod's spec.
	Ephemeral string
	// Refusal says why the probe could not join; the run then fell back to a probe pod.
	Refusal *Refusal
}

// inPod runs the probe in the app's pod. done is false when the cluster refused the ephemeral
// container (r.refusal says why) and the run goes on with a probe pod.
func (r *runner) inPod(ctx context.Context, w Workload, want Expected, saCfg identity.Config, hasRole bool) (done bool, err error) {
	app, ns := r.app.Pod, r.cfg.Namespace
	ref := ns + "/" + app.Name
	r.step(StepAttach, report.StepRunning, ref)
	r.emit(check.Event{Type: check.TypeInfo, Check: CheckInPodPod,
		Message: fmt.Sprintf("the probe joins the pod %s/%s on node %s (%s), in the process and network namespaces of its container %s",
			ns, app.Name, orNone(app.Spec.NodeName), r.app.Why, w.Container),
		Data: map[string]any{"pod": app.Name, "namespace": ns, "container": w.Container, "node": app.Spec.NodeName, "ready": podReady(app)}})

	var saRole *identity.Config
	if hasRole {
		saRole = &saCfg
	}
	ev, ok := appIdentity(app, w.Container, saRole, r.cfg.Target, ns)
	r.emit(ev)
	if !ok {
		// The probe would only find the env missing, and the container would stay in the pod.
		r.step(StepAttach, report.StepFailed, "no identity in the app's container")
		r.verdict()
		return true, nil
	}

	want.Expiration = saCfg.EffectiveExpiration(app.Annotations)
	ec, notes, err := EphemeralProbe(r.ephemeralSpec(app, w.Container, want))
	if err != nil {
		return true, err
	}
	r.step(StepAttach, report.StepRunning, ec.Name+" into "+ref)
	r.emit(footprintEvent(app, ec, notes, r.cfg.Target))
	patch, err := EphemeralPatch(ec)
	if err != nil {
		return true, fmt.Errorf("failed to build the patch of pod %s: %w", ref, err)
	}
	patched, err := r.deps.Client.CoreV1().Pods(ns).Patch(ctx, app.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, EphemeralSubresource)
	if err != nil {
		if ctx.Err() == nil {
			if refusal := patchRefusal(err, app, notes); refusal != nil {
				r.refusal = refusal
				r.step(StepAttach, report.StepFailed, string(refusal.Reason))
				return false, nil
			}
		}
		r.step(StepAttach, report.StepFailed, err.Error())
		return true, r.ctxOr(ctx, fmt.Errorf("failed to add the probe to the pod %s: %w", ref, apicall.Wrap(err, "patch", "pods/"+EphemeralSubresource, ns, app.Name)))
	}
	r.attached, r.container = true, ec.Name
	r.out.InPod.Ephemeral = ec.Name
	r.out.Timings.Created = r.deps.Now()
	r.step(StepAttach, report.StepDone, ec.Name+" in "+ref)
	// Said on every path from here, before the verdict: the container stays, whatever ends
	// the run.
	r.beforeVerdict = func() { r.remains(app, ec.Name) }
	defer func() {
		if f := r.beforeVerdict; f != nil {
			r.beforeVerdict = nil
			f()
		}
	}()

	r.step(StepStart, report.StepRunning, "Waiting")
	running, err := r.waitEphemeral(ctx, patched)
	if err != nil {
		return true, err
	}
	r.step(StepProbe, report.StepRunning, "")
	r.fate = followFate(ctx, r.deps.Client, running, "the app's pod")
	defer r.fate.stop()
	if err := r.follow(ctx, running); err != nil {
		return true, err
	}
	r.explainRefusal(ctx, ns, w.ServiceAccount)
	r.step(StepProbe, report.StepDone, "")
	r.verdict()
	return true, nil
}

// ephemeralSpec is the ephemeral probe of the run's settings, for container of app.
func (r *runner) ephemeralSpec(app *corev1.Pod, container string, want Expected) EphemeralSpec {
	return EphemeralSpec{
		Name: r.podName, Image: r.cfg.Image, PullPolicy: r.cfg.PullPolicy, Pod: app, Container: container,
		Args: ProbeArgs(want), STSEndpoint: r.cfg.STSEndpoint, CABundle: r.cfg.CABundle,
	}
}

// remains reports, last before the verdict (or the error that ends the run), that the ephemeral container stays in the pod's
// spec, and how it ended, as far as one read of the pod says.
func (r *runner) remains(app *corev1.Pod, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), r.deps.CleanupTimeout)
	defer cancel()
	state := "terminated once the probe ends"
	data := map[string]any{"pod": app.Name, "namespace": app.Namespace, "container": name}
	if t := r.awaitEnd(ctx, app, name); t != nil {
		state = fmt.Sprintf("terminated (exit code %d)", t.ExitCode)
		data["exit_code"] = t.ExitCode
	}
	msg := fmt.Sprintf("the ephemeral container %s stays in the spec of the pod %s/%s, %s, until the pod is replaced (%s): an ephemeral container cannot be removed",
		name, app.Namespace, app.Name, state, replaceHint(r.cfg.Target, app))
	r.emit(check.Event{Type: check.TypeInfo, Check: CheckInPodRemains, Message: msg, Data: data})
	r.step(StepCleanup, report.StepDone, "nothing to delete: "+name+" stays in the pod's spec, "+state)
}

// awaitEnd reads the app's pod until the ephemeral probe name has ended, for at most
// Deps.EndWait: the probe exits right after its result, and the kubelet reports it within a
// second or so. nil when it has not ended by then (or the run was interrupted before the probe
// ran to its end).
func (r *runner) awaitEnd(ctx context.Context, app *corev1.Pod, name string) *corev1.ContainerStateTerminated {
	wait := r.deps.EndWait
	if r.out.Timings.Running.IsZero() {
		wait = 0 // it never ran: one read says how it stands
	}
	deadline := time.Now().Add(wait)
	for {
		if cur, err := r.deps.Client.CoreV1().Pods(app.Namespace).Get(ctx, app.Name, metav1.GetOptions{}); err == nil {
			if t := containerTerminated(cur, name); t != nil {
				return t
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// replaceHint is how the user replaces the app's pod: the workload's restart, or deleting a
// bare pod.
func replaceHint(t checktarget.Target, app *corev1.Pod) string {
	if t.Kind == checktarget.KindPod {
		return "its controller replaces it when it is deleted: kubectl delete pod -n " + app.Namespace + " " + app.Name + "; a bare pod is gone then"
	}
	return restartfix.For(restartfix.Workload{Kind: string(t.Kind) + ".apps", Name: t.Name, Namespace: app.Namespace}).Command
}

// footprintEvent says, before anything is written, what the run adds to the app's pod and
// that it stays there.
func footprintEvent(app *corev1.Pod, ec corev1.EphemeralContainer, notes EphemeralNotes, t checktarget.Target) check.Event {
	sc := ec.SecurityContext
	user := "the probe image's user (neither the container nor the pod names one; the app runs as its image's user, which the spec does not say)"
	if sc.RunAsUser != nil {
		user = fmt.Sprintf("user %d as the app does", *sc.RunAsUser)
		if sc.RunAsGroup != nil {
			user = fmt.Sprintf("user %d group %d as the app does", *sc.RunAsUser, *sc.RunAsGroup)
		}
	}
	mounts := make([]string, len(ec.VolumeMounts))
	for i, m := range ec.VolumeMounts {
		mounts[i] = m.Name
	}
	msg := fmt.Sprintf("adding the ephemeral container %s (image %s) to the pod %s/%s, targeting its container %s, running as %s, with its env and its mounts of %s; "+
		"it cannot be removed: it stays in the pod's spec, terminated once the probe ends, until the pod is replaced (%s)",
		ec.Name, ec.Image, app.Namespace, app.Name, ec.TargetContainerName, user, orNone(strings.Join(mounts, ", ")), replaceHint(t, app))
	data := map[string]any{"pod": app.Name, "namespace": app.Namespace, "container": ec.Name, "target_container": ec.TargetContainerName, "image": ec.Image, "mounts": mounts}
	if notes.Root {
		msg += "; the app runs as root (runAsUser 0), so the probe does too: Pod Security's restricted profile refuses a root container, so a namespace that enforces it refuses this one"
		data["root"] = true
	}
	if len(notes.NotCopied) > 0 {
		msg += fmt.Sprintf("; not copied: %s, credentials written in the app's env, which the probe does not use", strings.Join(notes.NotCopied, ", "))
		data["env_not_copied"] = notes.NotCopied
	}
	if len(notes.SkippedMounts) > 0 {
		msg += fmt.Sprintf("; the app mounts %s with subPath, which an ephemeral container cannot have: the probe does not see what it holds", strings.Join(notes.SkippedMounts, ", "))
		data["skipped_mounts"] = notes.SkippedMounts
	}
	return check.Event{Type: check.TypeInfo, Check: CheckInPodFootprint, Message: msg, Data: data}
}

// appIdentity judges the app's container: ok when it carries web identity or container
// credentials, which the probe can prove from inside; otherwise the probe would only find the
// env missing, and the check says why and how to fix it.
func appIdentity(app *corev1.Pod, container string, want *identity.Config, t checktarget.Target, namespace string) (check.Event, bool) {
	var cr identity.Credentials
	for _, c := range identity.ContainerCredentials(app) {
		if c.Container == container {
			cr = c
		}
	}
	sources := append([]identity.Source{cr.Source}, cr.Shadowed...)
	ok := slices.Contains(sources, identity.SourceWebIdentity) || slices.Contains(sources, identity.SourceContainer)
	ref := t.String()
	restart := replaceHint(t, app)
	status, text, fix := judgeSource(cr, want, ref, namespace, restart)
	data := map[string]any{"pod": app.Name, "container": container, "source": string(cr.Source)}
	prefix := fmt.Sprintf("container %s of the pod %s: ", container, app.Name)
	if !ok {
		return check.New(CheckInPodIdentity, check.StatusFail, prefix+text+"; the probe is not added, since it would only find no identity", fix, data), false
	}
	return check.New(CheckInPodIdentity, status, prefix+text, fix, data), true
}

// patchRefusal classifies the apiserver's refusal of the ephemeral container; nil for an error
// that is not a refusal (the network, a timeout, a server error).
func patchRefusal(err error, app *corev1.Pod, notes EphemeralNotes) *Refusal {
	ns, ref := app.Namespace, app.Namespace+"/"+app.Name
	msg := err.Error()
	without := "verify without --in-pod proves what a new pod of the account gets"
	switch {
	case apierrors.IsForbidden(err) && strings.Contains(msg, "cannot patch resource"):
		return &Refusal{Reason: RefusedForbidden,
			Message: fmt.Sprintf("RBAC does not let you add an ephemeral container to %s: ask for RBAC verb \"patch\" on \"pods/ephemeralcontainers\" in the namespace %s (%s)", ref, ns, msg),
			Fix:     "grant patch on pods/ephemeralcontainers (the optional rule of deploy/rbac/verify.yaml), or " + without}
	case apierrors.IsNotFound(err) && notFoundName(err) == "", apierrors.IsMethodNotSupported(err):
		// A missing pod names itself in the details; a missing subresource names nothing.
		return &Refusal{Reason: RefusedNotServed,
			Message: fmt.Sprintf("the apiserver does not serve pods/ephemeralcontainers (%s): ephemeral containers are off in this cluster (a feature gate before Kubernetes 1.25, or an API server that does not offer them)", msg),
			Fix:     without + "; ask the cluster's operator to enable ephemeral containers"}
	case apierrors.IsNotFound(err):
		return &Refusal{Reason: RefusedNotRunning,
			Message: fmt.Sprintf("the pod %s was deleted before the probe could join it", ref),
			Fix:     "rerun verify --in-pod: it picks a running pod"}
	case apierrors.IsInvalid(err):
		return &Refusal{Reason: RefusedInvalid,
			Message: fmt.Sprintf("the apiserver refused the ephemeral container as invalid (%s)", msg),
			Fix:     "an apiserver older than this kubectl-wi may not take every field: " + without}
	case strings.Contains(msg, "violates PodSecurity"):
		fix := "the probe runs with the restricted profile's securityContext; read the message for the field at fault, or " + without
		if notes.Root {
			fix = "the app runs as root, and the probe must run as the app's user to read what it reads: run the app as a non-root user (runAsUser, runAsNonRoot), or " + without
		}
		return &Refusal{Reason: RefusedAdmission, Message: "Pod Security admission refused the ephemeral container: " + msg, Fix: fix}
	case apierrors.IsForbidden(err), strings.Contains(msg, "admission webhook"), strings.Contains(msg, "failed calling webhook"):
		return &Refusal{Reason: RefusedAdmission,
			Message: "an admission policy refused the ephemeral container: " + msg,
			Fix:     "ask the owner of the policy to allow ephemeral containers named " + PodNamePrefix + "* of the probe image in " + ns + ", or " + without}
	}
	return nil
}

// notFoundName is the name a NotFound status names, "" when it names none.
func notFoundName(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Details != nil {
		return status.Status().Details.Name
	}
	return ""
}

// refused reports, before the probe pod's run, why the probe could not join the app's pod.
func (r *runner) reportRefusal(ref *Refusal) {
	r.out.InPod.Refusal = ref
	r.step(StepAttach, report.StepFailed, string(ref.Reason))
	r.emit(check.New(CheckInPodRefused, check.StatusWarn,
		ref.Message+"; a probe pod runs instead: its result below proves what a new pod of the account gets, not the app's own pod",
		ref.Fix, map[string]any{"reason": string(ref.Reason)}))
}

// AssessEphemeral reads the status of the ephemeral container name of pod: whether it runs
// or ran, will not run (and why), or is on its way.
func AssessEphemeral(pod *corev1.Pod, name string) StartState {
	st := StartState{Scheduled: true, Progress: "Waiting: the kubelet has not started it yet"}
	image := ""
	for _, ec := range pod.Spec.EphemeralContainers {
		if ec.Name == name {
			image = ec.Image
		}
	}
	for _, cs := range pod.Status.EphemeralContainerStatuses {
		if cs.Name != name {
			continue
		}
		switch {
		case cs.State.Running != nil, cs.State.Terminated != nil:
			st.Ran = true
		case cs.State.Waiting != nil:
			w := cs.State.Waiting
			switch {
			case imagePullReasons[w.Reason]:
				st.Fatal, st.Reason = true, w.Reason
				st.Message = fmt.Sprintf("the node cannot pull the probe image %s (%s: %s)", image, w.Reason, strings.TrimSpace(w.Message))
				st.Fix = "make the image pullable from the node, or pass --image with a copy the cluster can pull (a mirror in your registry); the ephemeral container stays in the pod's spec, never started"
			case createReasons[w.Reason]:
				st.Fatal, st.Reason = true, w.Reason
				st.Message = fmt.Sprintf("the container runtime cannot start the ephemeral probe (%s: %s)", w.Reason, strings.TrimSpace(w.Message))
				st.Fix = "read the message: the probe takes the app container's user, env and identity mounts, and the image " + image + " (--image) must run as that user"
			case w.Reason != "":
				st.Progress = "Waiting: " + w.Reason
			}
		}
	}
	return st
}

// waitEphemeral watches the app's pod until the ephemeral probe runs or has run, and says why
// when it will not.
func (r *runner) waitEphemeral(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	pods := r.deps.Client.CoreV1().Pods(pod.Namespace)
	cur := pod
	var w watch.Interface
	defer func() {
		if w != nil {
			w.Stop()
		}
	}()
	for {
		if msg, fix, gone := disruptionOf(cur, cur.Namespace, cur.Name, "the app's pod"); gone {
			return nil, r.disrupted(CheckInPodStart, StepStart, msg, fix)
		}
		st := AssessEphemeral(cur, r.container)
		if st.Ran {
			now := r.deps.Now()
			r.out.Timings.Scheduled, r.out.Timings.Running = r.out.Timings.Created, now
			r.emit(check.New(CheckInPodStart, check.StatusPass,
				fmt.Sprintf("the ephemeral probe %s runs in the pod %s/%s after %s", r.container, cur.Namespace, cur.Name, now.Sub(r.out.Timings.Created).Round(time.Millisecond)),
				"", map[string]any{"node": cur.Spec.NodeName, "container": r.container}))
			r.step(StepStart, report.StepDone, "on node "+orNone(cur.Spec.NodeName))
			return cur, nil
		}
		if st.Fatal {
			r.emit(check.New(CheckInPodStart, check.StatusFail, st.Message, st.Fix, map[string]any{"reason": st.Reason, "image": r.cfg.Image}))
			r.step(StepStart, report.StepFailed, st.Reason)
			r.verdict()
			return nil, fmt.Errorf("%s did not run: %s", r.where(), st.Message)
		}
		r.step(StepStart, report.StepRunning, st.Progress)
		if w == nil {
			var err error
			w, err = pods.Watch(ctx, metav1.ListOptions{
				FieldSelector:   fields.OneTermEqualSelector("metadata.name", cur.Name).String(),
				ResourceVersion: cur.ResourceVersion,
			})
			if err != nil {
				if ctx.Err() != nil {
					return nil, r.ephemeralCtxErr(ctx, st)
				}
				return nil, fmt.Errorf("failed to watch the pod %s/%s: %w", cur.Namespace, cur.Name, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil, r.ephemeralCtxErr(ctx, st)
		case ev, ok := <-w.ResultChan():
			switch {
			case ok && (ev.Type == watch.Added || ev.Type == watch.Modified):
				if p, isPod := ev.Object.(*corev1.Pod); isPod {
					cur = p
				}
				continue
			case ok && ev.Type == watch.Deleted:
				msg, fix, _ := disruptionOf(nil, cur.Namespace, cur.Name, "the app's pod")
				return nil, r.disrupted(CheckInPodStart, StepStart, msg, fix)
			}
			// The watch ended or failed: read the pod again and watch from there.
			w.Stop()
			w = nil
			p, err := pods.Get(ctx, cur.Name, metav1.GetOptions{})
			if err != nil {
				if ctx.Err() != nil {
					return nil, r.ephemeralCtxErr(ctx, st)
				}
				return nil, fmt.Errorf("failed to get the pod %s/%s: %w", cur.Namespace, cur.Name, err)
			}
			cur = p
		}
	}
}

// ephemeralCtxErr reports an ephemeral probe that did not run before the run's end.
func (r *runner) ephemeralCtxErr(ctx context.Context, last StartState) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("interrupted while waiting for %s to run: %w", r.where(), context.Canceled)
	}
	r.emit(check.New(CheckInPodStart, check.StatusFail,
		fmt.Sprintf("the ephemeral probe did not run within --timeout %s (%s)", r.cfg.Timeout, last.Progress),
		"raise --timeout, or look at the pod's events: kubectl get events -n "+r.cfg.Namespace+" --field-selector involvedObject.name="+r.app.Pod.Name+
			"; if the kubelet starts it later, the probe runs and ends by itself",
		map[string]any{"reason": "timeout", "progress": last.Progress}))
	r.step(StepStart, report.StepFailed, "timed out")
	r.verdict()
	return fmt.Errorf("timed out after %s waiting for %s to run (%s): %w", r.cfg.Timeout, r.where(), last.Progress, ctx.Err())
}

// InPodPlan is an in-pod run's ephemeral probe, built without writing anything: what
// --dry-run=client prints.
type InPodPlan struct {
	Pod       AppPod
	Container corev1.EphemeralContainer
	Notes     EphemeralNotes
	// Patch is the strategic merge patch of the pod's ephemeralcontainers subresource.
	Patch []byte
}

// PlanInPod reads what an in-pod run reads before it writes (the target, its pods, the
// service account, the cluster's issuer) and builds the ephemeral probe it would add; it
// writes nothing. A pod that does not run is a *Refusal; a --pod that is not the target's, an
// error wrapping ErrNotTargetPod.
func PlanInPod(ctx context.Context, cfg Config, deps Deps) (InPodPlan, error) {
	if deps.PodName == nil {
		deps.PodName = NewPodName
	}
	c, ns := deps.Client, cfg.Namespace
	w, own, err := resolve(ctx, c, ns, cfg.Target, cfg.Container)
	if err != nil {
		return InPodPlan{}, err
	}
	app, err := findAppPod(ctx, c, ns, cfg.Target, own, cfg.Pod)
	if err != nil {
		return InPodPlan{}, err
	}
	sa, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, w.ServiceAccount, metav1.GetOptions{})
	if err != nil {
		return InPodPlan{}, apicall.Wrap(err, "get", "serviceaccounts", ns, w.ServiceAccount)
	}
	saCfg, _ := identity.FromAnnotations(sa.Annotations)
	issuer := ""
	if deps.Discovery != nil {
		doc, derr := deps.Discovery(ctx)
		_, issuer = CheckIssuer(doc, derr)
	}
	r := &runner{cfg: cfg, podName: deps.PodName()}
	want := expectedFor(cfg, w, saCfg, app.Pod.Annotations, issuer)
	ec, notes, err := EphemeralProbe(r.ephemeralSpec(app.Pod, w.Container, want))
	if err != nil {
		return InPodPlan{}, err
	}
	patch, err := EphemeralPatch(ec)
	if err != nil {
		return InPodPlan{}, err
	}
	return InPodPlan{Pod: app, Container: ec, Notes: notes, Patch: patch}, nil
}
