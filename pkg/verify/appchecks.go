package verify

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
)

// CheckNotProved is the info that says what a pass of the probe pod leaves unproved about
// the app itself.
const CheckNotProved = "outside.not_proved"

// LookupHost resolves a host on this machine, for STSDestinations.
func LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// appChecks are the read-only checks of a workload's own running pods, which a probe pod
// proves nothing about: what their app containers log (CheckAppLogs) and whether the
// namespace's NetworkPolicies let them reach the Pod Identity agent and STS
// (CheckNetworkPolicy). The STS endpoint's host is resolved only when the namespace has a
// NetworkPolicy to judge it by.
func (r *runner) appChecks(ctx context.Context, w Workload, live []*corev1.Pod) []check.Event {
	if r.cfg.Target.Kind == checktarget.KindServiceAccount || len(live) == 0 {
		return nil
	}
	c, ns := r.deps.Client, r.cfg.Namespace
	pods := make([]corev1.Pod, len(live))
	for i, p := range live {
		pods[i] = *p
	}
	evs := CheckAppLogs(ctx, c, ns, pods, r.cfg.AppLogLines)

	newest := newestPod(live)
	env := containerEnv(newest, w.Container)
	dests := AgentDestinations(env)
	if r.deps.Resolve != nil && hasNetworkPolicy(ctx, r, ns) {
		sts, err := STSDestinations(ctx, env, r.deps.Resolve)
		if err != nil {
			evs = append(evs, check.New(CheckOutsideNetworkPolicy, check.StatusSkip, "the NetworkPolicies are not judged for STS: "+err.Error(), "", nil))
		}
		dests = append(dests, sts...)
	}
	evs = append(evs, CheckNetworkPolicy(ctx, c, r.deps.PolicyDiscovery, ns, newest.Labels, dests)...)
	return evs
}

// notProved says, for a workload target, what the probe pod's pass does not prove of the app.
func notProved(t checktarget.Target) check.Event {
	return check.Event{Type: check.TypeInfo, Check: CheckNotProved, Message: fmt.Sprintf(
		"not proved by the probe pod: the AWS SDK %s's processes carry (too old for the identity, it fails where the probe passes) and what its own pods reach through their sidecars, proxies and the node's route: kubectl wi verify %s --in-pod proves both from inside a running pod of it", t, t)}
}

// hasNetworkPolicy reports whether the namespace has any NetworkPolicy; an error counts as
// yes, so CheckNetworkPolicy says what it is.
func hasNetworkPolicy(ctx context.Context, r *runner, ns string) bool {
	l, err := r.deps.Client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{Limit: 1})
	return err != nil || len(l.Items) > 0
}

// newestPod is the pod created last: it runs the current template.
func newestPod(pods []*corev1.Pod) *corev1.Pod {
	newest := pods[0]
	for _, p := range pods[1:] {
		if newest.CreationTimestamp.Before(&p.CreationTimestamp) {
			newest = p
		}
	}
	return newest
}

// containerEnv is the literal env of the named container as stored (the webhook's injection
// included); valueFrom entries are left out. An empty name is the first container.
func containerEnv(pod *corev1.Pod, name string) map[string]string {
	env := map[string]string{}
	for _, ctr := range pod.Spec.Containers {
		if name != "" && !strings.EqualFold(ctr.Name, name) {
			continue
		}
		for _, e := range ctr.Env {
			if e.ValueFrom == nil {
				env[e.Name] = e.Value
			}
		}
		break
	}
	return env
}
