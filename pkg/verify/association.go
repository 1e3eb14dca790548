package verify

import (
	"fmt"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// AssociationLookup is what verify knows of an account's EKS Pod Identity association: the
// cluster's associations read with the user's AWS credentials, or not read and why. The
// cluster itself cannot show an association; a pod shows it only once the webhook injected it.
type AssociationLookup struct {
	Read    bool
	Cluster string
	// ID and RoleARN are the account's association; ID is empty when it has none.
	ID, RoleARN string
	// NotRead says why the associations were not read, and what reads them.
	NotRead string
}

// webhookNoPodIdentity is what keeps the webhook from injecting Pod Identity's container
// credentials for an association that exists. On EKS the control plane's webhook injects
// them once EKS pushed the association (seconds), given the eks-pod-identity-agent add-on
// that serves them (EKS user guide, "Set up the Amazon EKS Pod Identity Agent"); the
// self-managed amazon-eks-pod-identity-webhook injects them only for the accounts of its
// container-credentials file (--watch-container-credentials-config, its main.go), which
// nothing keeps in sync with EKS outside it.
func webhookNoPodIdentity(cluster string) string {
	return fmt.Sprintf("on EKS, check the eks-pod-identity-agent add-on (aws eks describe-addon --cluster-name %s --addon-name eks-pod-identity-agent) and that the cluster's platform version supports EKS Pod Identity; "+
		"a self-managed amazon-eks-pod-identity-webhook injects Pod Identity only with its container-credentials configuration (--watch-container-credentials-config, a file listing the associations): give it one, or use IRSA (kubectl wi enable --role-arn)",
		orNone(cluster))
}

// describeAssociation completes the outside.serviceaccount check of an account with no
// role-arn annotation with what is known of its association.
func describeAssociation(ev check.Event, ref string, a AssociationLookup) check.Event {
	if ev.Data == nil {
		ev.Data = map[string]any{}
	}
	switch {
	case a.ID != "":
		ev.Status, ev.Fix = check.StatusPass, ""
		ev.Message = fmt.Sprintf("the service account %s has no %s annotation; its EKS Pod Identity association %s in cluster %s gives the role %s", ref, identity.AnnotationRoleARN, a.ID, a.Cluster, a.RoleARN)
		ev.Data["association_id"], ev.Data["role_arn"], ev.Data["cluster"] = a.ID, a.RoleARN, a.Cluster
	case a.Read:
		ev.Message = fmt.Sprintf("the service account %s has no %s annotation and no EKS Pod Identity association in cluster %s: no identity", ref, identity.AnnotationRoleARN, a.Cluster)
		ev.Data["cluster"] = a.Cluster
	default:
		ev.Message = fmt.Sprintf("the service account %s has no %s annotation: no IRSA; its EKS Pod Identity association, if any, was not read (%s)", ref, identity.AnnotationRoleARN, a.NotRead)
	}
	return ev
}
