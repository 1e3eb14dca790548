package podidentity

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The EKS Pod Identity Agent add-on: a DaemonSet of kube-system, one pod per node on the
// node's network, serving the link-local address the webhook gives pods (EKS user guide,
// "Set up the Amazon EKS Pod Identity Agent": kubectl get daemonset eks-pod-identity-agent
// -n kube-system).
const (
	AgentNamespace = "kube-system"
	AgentDaemonSet = "eks-pod-identity-agent"
)

// AgentState is what the cluster's API shows of the agent.
type AgentState string

// Agent states.
const (
	// AgentReady: the add-on's DaemonSet runs a ready pod on every node it schedules to.
	AgentReady AgentState = "ready"
	// AgentNotReady: the DaemonSet exists but some of its pods are not ready (or none is
	// scheduled): pods on those nodes would get no credentials.
	AgentNotReady AgentState = "not-ready"
	// AgentUnseen: no such DaemonSet (or it cannot be read). An agent may still run on the
	// nodes outside Kubernetes' view (a self-managed agent, a host process as on the local
	// test bed): only a pod that calls it can tell.
	AgentUnseen AgentState = "unseen"
)

// Agent is the agent as the cluster shows it, with a sentence that says so.
type Agent struct {
	State   AgentState
	Message string
}

// CheckAgent reads the add-on's DaemonSet (one GET).
func CheckAgent(ctx context.Context, c kubernetes.Interface) Agent {
	ds, err := c.AppsV1().DaemonSets(AgentNamespace).Get(ctx, AgentDaemonSet, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return Agent{State: AgentUnseen, Message: fmt.Sprintf("no DaemonSet %s/%s (the EKS Pod Identity Agent add-on): an agent outside the cluster's view is proven by a probe pod before any workload is restarted", AgentNamespace, AgentDaemonSet)}
	case err != nil:
		return Agent{State: AgentUnseen, Message: fmt.Sprintf("cannot read DaemonSet %s/%s (%v): the agent is proven by a probe pod before any workload is restarted", AgentNamespace, AgentDaemonSet, err)}
	}
	s := ds.Status
	if !DaemonSetReady(ds) {
		return Agent{State: AgentNotReady, Message: fmt.Sprintf("DaemonSet %s/%s has %d ready of %d pods: pods on the other nodes would get no credentials; check kubectl get pods -n %s -l app.kubernetes.io/name=%s (or the add-on: aws eks describe-addon --addon-name %s)",
			AgentNamespace, AgentDaemonSet, s.NumberReady, s.DesiredNumberScheduled, AgentNamespace, AgentDaemonSet, AgentDaemonSet)}
	}
	return Agent{State: AgentReady, Message: fmt.Sprintf("DaemonSet %s/%s runs a ready pod on each of its %d nodes", AgentNamespace, AgentDaemonSet, s.DesiredNumberScheduled)}
}

// DaemonSetReady says whether the agent's DaemonSet runs a ready pod on every node it
// schedules to, and on one node at least.
func DaemonSetReady(ds *appsv1.DaemonSet) bool {
	s := ds.Status
	return s.DesiredNumberScheduled > 0 && s.NumberReady >= s.DesiredNumberScheduled
}
