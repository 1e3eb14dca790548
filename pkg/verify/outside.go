package verify

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
)

// Check names of the outside checks.
const (
	CheckOutsideServiceAccount = "outside.serviceaccount"
	CheckOutsideWebhook        = "outside.webhook"
	CheckOutsideIssuer         = "outside.issuer"
)

// CheckServiceAccount checks that sa exists and names a role. ok is false when it does not
// exist: no pod can run as it. wantRole, when not empty, is the role the user expects.
func CheckServiceAccount(sa *corev1.ServiceAccount, namespace, name, wantRole string) (ev check.Event, cfg identity.Config, hasRole bool) {
	ref := namespace + "/" + name
	if sa == nil {
		return check.New(CheckOutsideServiceAccount, check.StatusFail, "the service account "+ref+" does not exist",
			fmt.Sprintf("create it (kubectl create serviceaccount %s -n %s) or fix the workload's serviceAccountName", name, namespace),
			map[string]any{"service_account": ref}), identity.Config{}, false
	}
	cfg, hasRole = identity.FromAnnotations(sa.Annotations)
	data := map[string]any{"service_account": ref}
	if !hasRole {
		fix := fmt.Sprintf("kubectl wi enable serviceaccount/%[1]s -n %[2]s --role-arn <role ARN> (IRSA), or kubectl wi enable serviceaccount/%[1]s -n %[2]s --pod-identity --role-arn <role ARN> (EKS Pod Identity)", name, namespace)
		// Not a warning: an account of EKS Pod Identity has no annotation, and the probe pod
		// shows whether it has an association (a pod with neither fails there).
		return check.New(CheckOutsideServiceAccount, check.StatusSkip,
			fmt.Sprintf("the service account %s has no %s annotation: no IRSA; an EKS Pod Identity association, if any, cannot be seen from the cluster (the probe pod will show it)", ref, identity.AnnotationRoleARN),
			fix, data), cfg, false
	}
	data["role_arn"] = cfg.RoleARN
	data["audience"] = cfg.EffectiveAudience()
	if cfg.TokenExpiration != 0 {
		data["token_expiration"] = cfg.TokenExpiration
	}
	if cfg.STSRegional {
		data["sts_regional_endpoints"] = true
	}
	detail := ""
	if cfg.Audience != "" && cfg.Audience != identity.DefaultAudience {
		detail += ", audience " + cfg.Audience
	}
	if cfg.TokenExpiration != 0 {
		detail += fmt.Sprintf(", token expiration %ds", cfg.TokenExpiration)
	}
	switch {
	case !strings.HasPrefix(cfg.RoleARN, "arn:"):
		return check.New(CheckOutsideServiceAccount, check.StatusFail,
			fmt.Sprintf("the service account %s has %s %q, which is not an ARN", ref, identity.AnnotationRoleARN, cfg.RoleARN),
			fmt.Sprintf("kubectl wi enable serviceaccount/%s -n %s --role-arn arn:aws:iam::<account>:role/<name> --overwrite", name, namespace), data), cfg, true
	case wantRole != "" && wantRole != cfg.RoleARN:
		data["expected_role_arn"] = wantRole
		return check.New(CheckOutsideServiceAccount, check.StatusFail,
			fmt.Sprintf("the service account %s names the role %s, expected %s", ref, cfg.RoleARN, wantRole),
			fmt.Sprintf("kubectl wi enable serviceaccount/%s -n %s --role-arn %s --overwrite", name, namespace, wantRole), data), cfg, true
	}
	return check.New(CheckOutsideServiceAccount, check.StatusPass,
		fmt.Sprintf("the service account %s names the role %s%s", ref, cfg.RoleARN, detail), "", data), cfg, true
}

// CheckWebhooks looks for a mutating webhook on pods CREATE that selects a pod with
// podLabels in a namespace with nsLabels (nil: unknown, not evaluated). It returns the event
// and the names of the webhooks that select the pod.
func CheckWebhooks(list *admissionv1.MutatingWebhookConfigurationList, listErr error, nsLabels, podLabels map[string]string) (check.Event, Cluster) {
	if listErr != nil {
		why := listErr.Error()
		if apierrors.IsForbidden(listErr) {
			why = "forbidden"
		}
		return check.New(CheckOutsideWebhook, check.StatusSkip,
			"cannot list mutatingwebhookconfigurations ("+why+"): the stored probe pod shows whether the webhook mutated it", "", nil), Cluster{}
	}
	var selecting, excluded, identityLike []string
	for _, cfg := range list.Items {
		for _, wh := range cfg.Webhooks {
			if !onPodCreate(wh.Rules) {
				continue
			}
			ref := cfg.Name + "/" + wh.Name
			if !selects(wh.NamespaceSelector, nsLabels) || !selects(wh.ObjectSelector, podLabels) {
				excluded = append(excluded, ref)
				continue
			}
			selecting = append(selecting, ref)
			if looksLikeIdentity(cfg.Name) || looksLikeIdentity(wh.Name) {
				identityLike = append(identityLike, ref)
			}
		}
	}
	cl := Cluster{WebhooksKnown: true, Webhooks: selecting}
	data := map[string]any{"webhooks": selecting}
	if len(excluded) > 0 {
		data["excluded"] = excluded
	}
	switch {
	case len(identityLike) > 0:
		return check.New(CheckOutsideWebhook, check.StatusPass,
			strings.Join(identityLike, ", ")+" mutates pods on CREATE", "", data), cl
	case len(selecting) > 0:
		return check.New(CheckOutsideWebhook, check.StatusWarn,
			"no webhook on pods CREATE looks like the pod identity webhook; these select the probe pod: "+strings.Join(selecting, ", "),
			"", data), cl
	case len(excluded) > 0:
		return check.New(CheckOutsideWebhook, check.StatusFail,
			"the webhooks on pods CREATE ("+strings.Join(excluded, ", ")+") do not select this namespace or pod",
			"check the webhook's namespaceSelector and objectSelector", data), cl
	default:
		return check.New(CheckOutsideWebhook, check.StatusFail,
			"no mutating webhook on pods CREATE is registered: nothing injects the identity into pods",
			"install the amazon-eks-pod-identity-webhook and register it for pods CREATE (EKS runs it for you)", data), cl
	}
}

func looksLikeIdentity(name string) bool {
	name = strings.ToLower(name)
	return strings.Contains(name, "pod-identity") || strings.Contains(name, "iam-for-pods") || strings.Contains(name, "irsa")
}

func onPodCreate(rules []admissionv1.RuleWithOperations) bool {
	for _, r := range rules {
		ops := slices.ContainsFunc(r.Operations, func(o admissionv1.OperationType) bool {
			return o == admissionv1.Create || o == admissionv1.OperationAll
		})
		groups := slices.ContainsFunc(r.APIGroups, func(g string) bool { return g == "" || g == "*" })
		resources := slices.ContainsFunc(r.Resources, func(s string) bool { return s == "pods" || s == "*" || s == "*/*" })
		if ops && groups && resources {
			return true
		}
	}
	return false
}

// selects evaluates a webhook's label selector; unknown labels (nil) count as selected.
func selects(sel *metav1.LabelSelector, lbls map[string]string) bool {
	if sel == nil || lbls == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return true
	}
	return s.Matches(labels.Set(lbls))
}

// CheckIssuer reads the issuer out of the apiserver's /.well-known/openid-configuration.
// issuer is empty when it is unknown; the probe then skips its issuer check.
func CheckIssuer(doc []byte, err error) (ev check.Event, issuer string) {
	if err != nil {
		why := err.Error()
		if apierrors.IsForbidden(err) {
			why = "forbidden"
		}
		return check.New(CheckOutsideIssuer, check.StatusSkip,
			"the apiserver's /.well-known/openid-configuration is not readable ("+why+"): the probe will not compare the token's issuer", "", nil), ""
	}
	d, err := apicall.ParseDiscovery(doc)
	if err != nil {
		return check.New(CheckOutsideIssuer, check.StatusSkip,
			"the apiserver's /.well-known/openid-configuration names no issuer: the probe will not compare the token's issuer", "", nil), ""
	}
	data := map[string]any{"issuer": d.Issuer, "jwks_uri": d.JWKSURI}
	if !strings.HasPrefix(d.Issuer, "https://") {
		return check.New(CheckOutsideIssuer, check.StatusWarn, "the cluster's issuer is "+d.Issuer+": IAM OIDC providers need an https issuer",
			"set the apiserver's --service-account-issuer to a public https URL that serves the discovery document", data), d.Issuer
	}
	return check.New(CheckOutsideIssuer, check.StatusPass, "the cluster's issuer is "+d.Issuer+" (/.well-known/openid-configuration)", "", data), d.Issuer
}

// CheckOutsideRequest names the check of what the annotations ask for the token.
const CheckOutsideRequest = "outside.token_request"

// CheckTokenRequest warns about what the annotations ask that the webhook will not give as
// asked: a lifetime below its floor, which it raises (both values are named), and an audience
// a typo away from a known one. podAnnotations are the workload's pod template's.
func CheckTokenRequest(namespace, name string, cfg identity.Config, podAnnotations map[string]string) []check.Event {
	var evs []check.Event
	ref := "serviceaccount/" + name
	asked, where := cfg.TokenExpiration, "the service account's"
	if v, err := strconv.ParseInt(podAnnotations[identity.AnnotationTokenExpiration], 10, 64); err == nil {
		asked, where = v, "the pod template's"
	}
	if asked != 0 && asked < identity.MinTokenExpiration {
		evs = append(evs, check.New(CheckOutsideRequest, check.StatusWarn,
			fmt.Sprintf("%s %s asks %d s; the webhook raises any value below %d s, so the token lives %d s, not %d s",
				where, identity.AnnotationTokenExpiration, asked, identity.MinTokenExpiration, identity.MinTokenExpiration, asked),
			fmt.Sprintf("ask for what the pods get: kubectl wi enable %s -n %s --role-arn %s --token-expiration %d --overwrite (or fix the pod template's annotation)",
				ref, namespace, cfg.RoleARN, identity.MinTokenExpiration),
			map[string]any{"asked_seconds": asked, "effective_seconds": identity.MinTokenExpiration}))
	}
	if aud, set := cfg.AskedAudience(); set {
		if near := targets.SuggestValue(aud, identity.KnownAudiences); near != "" {
			evs = append(evs, check.New(CheckOutsideRequest, check.StatusWarn,
				fmt.Sprintf("the service account's %s is %q: did you mean %s?", identity.AnnotationAudience, aud, near),
				fmt.Sprintf("kubectl wi enable %s -n %s --role-arn %s --audience %s --overwrite, unless %q is a client ID of the cluster's IAM OIDC provider",
					ref, namespace, cfg.RoleARN, near, aud),
				map[string]any{"audience": aud, "did_you_mean": near}))
		}
	}
	return evs
}
