// Package netpolicy evaluates networking.k8s.io/v1 NetworkPolicies for egress from one pod to
// one address and port, as the Kubernetes API documents them: a pod is isolated for egress
// once any policy that selects it has Egress in its policyTypes (given, or defaulted: Egress
// when the policy has egress rules), and then only the union of those policies' egress rules
// allows a connection; a rule allows what matches one of its peers (none: every destination)
// and one of its ports (none: every port).
//
// The destinations are addresses outside the pod network: an AWS endpoint, or a node's
// host-network address such as the EKS Pod Identity agent's 169.254.170.23. ipBlock peers
// are evaluated; podSelector and namespaceSelector peers select pods, which an address
// outside the cluster is not, and whether they match a host-network address is up to the
// network plugin (the API leaves it undefined): the result says so rather than guessing.
// Named ports name a destination pod's ports and match neither.
package netpolicy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Pod is the source of the traffic.
type Pod struct {
	Namespace string
	Labels    map[string]string
}

// Destination is where the pod connects to.
type Destination struct {
	Addr     netip.Addr
	Port     int
	Protocol corev1.Protocol // "" means TCP
	// HostNetwork is true for an address served from a node's host network (the Pod
	// Identity agent): pod selectors may or may not match it, depending on the plugin.
	HostNetwork bool
}

// Verdict is what the policies say of a connection.
type Verdict string

// Verdicts.
const (
	Allowed Verdict = "allowed"
	Denied  Verdict = "denied"
	// Undetermined: only rules whose match depends on the network plugin could allow it.
	Undetermined Verdict = "undetermined"
)

// Result is the evaluation of one connection.
type Result struct {
	Verdict Verdict
	// Selecting names the policies that apply to the pod for egress, sorted; none means the
	// pod is not isolated for egress.
	Selecting []string
	// AllowedBy names the policy that allows the connection, and Rule describes its rule;
	// both empty unless it is allowed by a rule.
	AllowedBy, Rule string
	// ByIPBlock is true when the allowing rule matched the address through an ipBlock,
	// rather than by allowing every destination.
	ByIPBlock bool
	// Reason says why, in words.
	Reason string
	// Notes are what the evaluation cannot tell: rules that may match, depending on the
	// network plugin, and policies it could not read.
	Notes []string
}

// match is a tri-state: a rule matches, does not, or may (depending on the plugin).
type match int

const (
	no match = iota
	maybe
	yes
)

// Egress evaluates the connection from pod to dst under policies (those of other namespaces
// are ignored: a NetworkPolicy selects pods of its own namespace only).
func Egress(policies []networkingv1.NetworkPolicy, pod Pod, dst Destination) Result {
	if dst.Protocol == "" {
		dst.Protocol = corev1.ProtocolTCP
	}
	var res Result
	var applying []*networkingv1.NetworkPolicy
	ingressOnly := 0
	for i := range policies {
		p := &policies[i]
		if p.Namespace != pod.Namespace {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("NetworkPolicy %s has a podSelector that does not parse (%v): not evaluated", p.Name, err))
			continue
		}
		if !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		if !appliesToEgress(p) {
			ingressOnly++
			continue
		}
		applying = append(applying, p)
	}
	slices.SortFunc(applying, func(a, b *networkingv1.NetworkPolicy) int { return strings.Compare(a.Name, b.Name) })
	for _, p := range applying {
		res.Selecting = append(res.Selecting, p.Name)
	}
	conn := fmt.Sprintf("%s %d to %s", dst.Protocol, dst.Port, dst.Addr)
	if len(applying) == 0 {
		res.Verdict = Allowed
		res.Reason = "no NetworkPolicy selects the pod for egress"
		if ingressOnly > 0 {
			res.Reason = fmt.Sprintf("%d NetworkPolicies select the pod, for ingress only: its egress is not isolated", ingressOnly)
		}
		return res
	}
	best := no
	for _, p := range applying {
		for i, rule := range p.Spec.Egress {
			m, byIPBlock, notes := ruleMatches(rule, dst)
			res.Notes = append(res.Notes, prefixed(fmt.Sprintf("NetworkPolicy %s, egress rule %d: ", p.Name, i+1), notes)...)
			if m == yes && best != yes {
				best = yes
				res.AllowedBy, res.Rule, res.ByIPBlock = p.Name, fmt.Sprintf("egress rule %d (%s)", i+1, describeRule(rule)), byIPBlock
			}
			if m == maybe && best == no {
				best = maybe
			}
		}
	}
	isolated := "the pod is isolated for egress by NetworkPolicy " + strings.Join(res.Selecting, ", ")
	switch best {
	case yes:
		res.Verdict = Allowed
		res.Reason = fmt.Sprintf("NetworkPolicy %s allows %s: %s", res.AllowedBy, conn, res.Rule)
		res.Notes = nil // what may match no longer matters
	case maybe:
		res.Verdict = Undetermined
		res.Reason = isolated + ", and only rules whose match depends on the network plugin could allow " + conn
	default:
		res.Verdict = Denied
		res.Reason = isolated + ", and none of their egress rules allows " + conn
		if dst.HostNetwork {
			res.Notes = append(res.Notes, "Kubernetes documents traffic to the pod's own node as always allowed, but plugins differ on a node-local address such as the agent's (Cilium denies it, cilium/cilium#34387): an explicit rule is what works everywhere")
		}
	}
	return res
}

// appliesToEgress reads policyTypes as the API defaults it: Egress when listed, or, when none
// is listed, when the policy has egress rules.
func appliesToEgress(p *networkingv1.NetworkPolicy) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return len(p.Spec.Egress) > 0
	}
	return slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
}

func prefixed(prefix string, notes []string) []string {
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = prefix + n
	}
	return out
}
