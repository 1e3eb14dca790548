package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/tui"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// This file runs verify once its flags are checked (verify_flags.go): the client, one target's run
// and its rendering, what became of the pod, and the timings.

// connect builds the client, after Validate: a bad flag is refused as such, whatever the
// kubeconfig.
func (o *VerifyOptions) connect() error {
	d := o.deps
	c, err := d.newClient(o.configFlags)
	if err != nil {
		return err
	}
	discovery := d.discovery(c)
	o.client = c
	o.engine = verify.Deps{Client: c, Discovery: discovery, Logs: d.logs, Now: d.now, PodName: d.podName,
		PolicyDiscovery: c.Discovery(), Resolve: verify.LookupHost}
	if d.explainRefusal != nil {
		o.engine.Explain = d.explainRefusal(c, discovery)
	}
	// One account's association, read when its probe pod needs it (no role-arn annotation);
	// a fleet run replaces it with the cluster's, read once (associationsOf).
	o.engine.Association = func(ctx context.Context, ns, sa string) verify.AssociationLookup {
		return lookupOf(readAssociations(ctx, d, o.EKSCluster, d.kubeconfig(o.configFlags), ns, sa), ns, sa)
	}
	return nil
}

// lookupOf is what verify knows of ns/sa's association from the cluster's.
func lookupOf(assoc podidentity.ClusterAssociations, ns, sa string) verify.AssociationLookup {
	l := verify.AssociationLookup{Read: assoc.Read, Cluster: assoc.Cluster, NotRead: assoc.NotRead}
	if a, ok := assoc.Of(ns, sa); ok {
		l.ID, l.RoleARN = a.ID, a.RoleARN
	}
	return l
}

func (o *VerifyOptions) config() verify.Config {
	return verify.Config{
		Namespace: o.namespace, Target: o.target, RoleARN: o.RoleARN, Audience: o.Audience,
		Image: o.Image, PullPolicy: corev1.PullPolicy(o.ImagePullPolicy), Timeout: o.Timeout, Keep: o.Keep, Container: o.Container,
		STSEndpoint: o.STSEndpoint, Region: o.Region, CABundle: o.caBundle,
		InPod: o.InPod, Pod: o.Pod,
	}
}

// noteDevelopmentImage says which image a development build runs, since no release published
// one for its version, and how to run another.
func (o *VerifyOptions) noteDevelopmentImage() {
	if !o.imageDefault || isRelease(Version()) {
		return
	}
	fmt.Fprintf(o.ErrOut, "note: kubectl-wi %s is a development build; the probe runs the image %s, which no release publishes: "+
		"push it where the nodes pull from (make probe-image-push PUSH_REPO=...) or pass --image <registry>/kubectl-wi:<tag>\n", Version(), o.Image)
}

// Run verifies the target, rendering as asked. Failed checks give a *ChecksFailedError.
func (o *VerifyOptions) Run(ctx context.Context) error {
	if err := o.connect(); err != nil {
		return err
	}
	o.noteDevelopmentImage()
	if o.fleet() {
		return o.runFleet(ctx)
	}
	if o.dryRun == dryRunClient {
		return o.planInPod(ctx)
	}
	var (
		out    verify.Outcome
		runErr error
	)
	work := func(ctx context.Context, rep report.Reporter) error {
		out, runErr = verify.Run(ctx, o.config(), o.engine, rep)
		return runErr
	}
	title := fmt.Sprintf("kubectl wi verify %s -n %s", o.target, o.namespace)
	opts := tui.Options{Title: title}
	if o.InPod {
		opts.Title += " --in-pod"
		opts.Steps, opts.Cancelling = inPodSteps, "cancelling: the probe in the app's pod ends by itself…"
	}
	if err := renderRun(ctx, o.IOStreams, o.Output, o.deps.now, opts, work); err != nil && runErr == nil {
		return err
	}
	o.afterRun(out)
	switch {
	case runErr != nil:
		return o.targetNotFound(ctx, runErr)
	case out.Failed > 0:
		return &ChecksFailedError{Failed: out.Failed}
	case out.InPod.Refusal != nil:
		// The probe pod's result was shown, but it is not what --in-pod asked to prove.
		return fmt.Errorf("--in-pod: the probe could not join the app's pod (%s): %s", out.InPod.Refusal.Reason, out.InPod.Refusal.Fix)
	case out.DeleteErr != nil:
		return out.DeleteErr
	}
	return nil
}

// inPodSteps are the checklist of an in-pod run: the probe pod's steps show only when the
// cluster refused the ephemeral container.
var inPodSteps = []tui.StepTitle{
	{ID: verify.StepOutside, Title: "Outside the pod: service account, webhook, issuer"},
	{ID: verify.StepAttach, Title: "Add the probe to the app's pod (an ephemeral container)"},
	{ID: verify.StepCreate, Title: "Create a probe pod instead (the app's pod refused)"},
	{ID: verify.StepStored, Title: "The probe pod as stored, after admission"},
	{ID: verify.StepStart, Title: "Wait for the probe to run"},
	{ID: verify.StepProbe, Title: "Checks inside the pod"},
	{ID: verify.StepCleanup, Title: "Clean up"},
}

// planInPod prints the ephemeral container --in-pod would add, as the patch it would send,
// and writes nothing.
func (o *VerifyOptions) planInPod(ctx context.Context) error {
	plan, err := verify.PlanInPod(ctx, o.config(), o.engine)
	var refusal *verify.Refusal
	switch {
	case errors.As(err, &refusal):
		return fmt.Errorf("--in-pod: %s; fix: %s", refusal.Message, refusal.Fix)
	case err != nil:
		return o.targetNotFound(ctx, err)
	}
	var doc any
	if err := json.Unmarshal(plan.Patch, &doc); err != nil {
		return err
	}
	if err := printDocument(o.Out, o.Output, doc); err != nil {
		return err
	}
	p := plan.Pod.Pod
	fmt.Fprintf(o.ErrOut, "dry run: nothing was written. Without --dry-run, verify adds this ephemeral container to the pod %s/%s (%s), patching its %s subresource; "+
		"it cannot be removed, and stays in the pod's spec, terminated, until the pod is replaced\n", p.Namespace, p.Name, plan.Pod.Why, verify.EphemeralSubresource)
	if plan.Notes.Root {
		fmt.Fprintln(o.ErrOut, "note: the app runs as root (runAsUser 0), so the probe does too: Pod Security's restricted profile refuses a root container, so a namespace that enforces it refuses this one")
	}
	return nil
}

// targetNotFound turns the API's answer for a missing target (or namespace) into the error
// enable gives, with a close name that exists; any other error is returned as it is.
func (o *VerifyOptions) targetNotFound(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, verify.ErrNoSuchContainer):
		return &FlagError{Err: fmt.Errorf("--container: %w", err)}
	case errors.Is(err, verify.ErrNotTargetPod):
		return &FlagError{Err: err}
	}
	var call *apicall.Error
	if !errors.As(err, &call) || call.Verb != "get" || !apierrors.IsNotFound(err) {
		return err
	}
	if o.target.Kind == checktarget.KindPod && call.Resource == "pods" {
		return InputErrorf("pod %q not found in namespace %q", o.target.Name, o.namespace)
	}
	kind := targets.Builtin().Kind(string(o.target.Kind))
	if kind == nil {
		return err
	}
	if _, nsErr := o.client.CoreV1().Namespaces().Get(ctx, o.namespace, metav1.GetOptions{}); apierrors.IsNotFound(nsErr) {
		return InputErrorf("namespace %q not found: check -n or the kubeconfig's context", o.namespace)
	}
	hint := ""
	if names, lerr := kind.Names(ctx, o.client, o.namespace); lerr == nil {
		if near := targets.Suggest(o.target.Name, names); near != "" {
			hint = fmt.Sprintf("; did you mean %s/%s?", kind.Aliases[0], near)
		}
	}
	return InputErrorf("%s %q not found in namespace %q%s", kind.Name, o.target.Name, o.namespace, hint)
}

// afterRun says what became of the pod, when the output did not, and prints the timings.
func (o *VerifyOptions) afterRun(out verify.Outcome) {
	if o.Output != "tui" {
		switch {
		case out.Kept:
			fmt.Fprintf(o.ErrOut, "kept the probe pod %s/%s: kubectl delete pod -n %s %s\n", out.Namespace, out.Pod, out.Namespace, out.Pod)
		case out.DeleteErr != nil && !errors.Is(out.DeleteErr, context.Canceled):
			fmt.Fprintf(o.ErrOut, "warning: %v: kubectl delete pod -n %s %s\n", out.DeleteErr, out.Namespace, out.Pod)
		}
	}
	if o.Timings {
		writeTimings(o.ErrOut, out.Timings)
	}
}

// writeTimings prints one line of milliseconds: each step from the previous milestone (for an
// in-pod run, created is when the ephemeral probe was added, and total ends at the verdict); the
// probe's own run time (its first to its last event, on the node's clock); the plugin's own
// overhead once the pod runs: from the later of "the kubelet says it runs" and "the probe wrote
// its result" to the verdict, i.e. the time to read the log and decide; and the latency from the
// probe's result to the verdict. The last two compare the node's clock with this machine's: on
// the local cluster they are the same clock.
func writeTimings(w io.Writer, t verify.Timings) {
	ms := func(from, to time.Time) string {
		if from.IsZero() || to.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%.1f", float64(to.Sub(from).Microseconds())/1000)
	}
	overhead, latency := "-", "-"
	if !t.Running.IsZero() && !t.Verdict.IsZero() && !t.ProbeFirst.IsZero() {
		from := t.Running
		if t.ProbeLast.After(from) {
			from = t.ProbeLast
		}
		d := max(t.Verdict.Sub(from), 0)
		overhead = fmt.Sprintf("%.1f", float64(d.Microseconds())/1000)
		latency = ms(t.ProbeLast, t.Verdict)
	}
	end := t.Gone
	if end.IsZero() {
		end = t.Verdict // an in-pod run deletes nothing
	}
	fmt.Fprintf(w, "timings outside_ms=%s create_ms=%s scheduled_ms=%s running_ms=%s first_event_ms=%s verdict_ms=%s gone_ms=%s total_ms=%s probe_ms=%s overhead_after_running_ms=%s log_latency_ms=%s\n",
		ms(t.Start, t.OutsideDone), ms(t.OutsideDone, t.Created), ms(t.Created, t.Scheduled), ms(t.Scheduled, t.Running),
		ms(t.Running, t.FirstEvent), ms(t.FirstEvent, t.Verdict), ms(t.Verdict, t.Gone), ms(t.Start, end),
		ms(t.ProbeFirst, t.ProbeLast), overhead, latency)
}
