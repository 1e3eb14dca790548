package netpolicy

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

const ns = "shop"

var (
	web   = Pod{Namespace: ns, Labels: map[string]string{"app": "web", "tier": "front"}}
	agent = Destination{Addr: netip.MustParseAddr("169.254.170.23"), Port: 80, HostNetwork: true}
	sts   = Destination{Addr: netip.MustParseAddr("52.94.0.17"), Port: 443}
)

func policy(name string, selector map[string]string, types []networkingv1.PolicyType, egress ...networkingv1.NetworkPolicyEgressRule) networkingv1.NetworkPolicy {
	return networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			PolicyTypes: types,
			Egress:      egress,
		},
	}
}

var (
	egressOnly  = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	ingressOnly = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	denyAll     = policy("deny-all", nil, egressOnly)
)

func rule(to []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{To: to, Ports: ports}
}

func block(cidr string, except ...string) []networkingv1.NetworkPolicyPeer {
	return []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}}
}

func port(proto corev1.Protocol, p int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: ptr.To(intstr.FromInt32(p))}
}

func TestEgress(t *testing.T) {
	kubeSystemPods := []networkingv1.NetworkPolicyPeer{{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
		PodSelector:       &metav1.LabelSelector{},
	}}
	for _, tt := range []struct {
		name      string
		policies  []networkingv1.NetworkPolicy
		pod       Pod
		dst       Destination
		want      Verdict
		selecting []string
		allowedBy string
		byIPBlock bool
		reason    string // a part of the reason
		note      string // a part of a note; "" for none
	}{
		{name: "no policy", dst: agent, want: Allowed, reason: "no NetworkPolicy selects the pod for egress"},
		{name: "another namespace's deny-all", dst: agent, want: Allowed,
			policies: []networkingv1.NetworkPolicy{func() networkingv1.NetworkPolicy { p := denyAll; p.Namespace = "other"; return p }()}},
		{name: "selects other pods", dst: sts, want: Allowed,
			policies: []networkingv1.NetworkPolicy{policy("db-only", map[string]string{"app": "db"}, egressOnly)}},
		{name: "ingress only", dst: sts, want: Allowed, reason: "for ingress only",
			policies: []networkingv1.NetworkPolicy{policy("in", nil, ingressOnly)}},
		{name: "no policyTypes and no egress rules: ingress only", dst: sts, want: Allowed, reason: "for ingress only",
			policies: []networkingv1.NetworkPolicy{policy("in", nil, nil)}},
		{name: "no policyTypes with egress rules: egress too", dst: sts, want: Denied, selecting: []string{"dns"},
			policies: []networkingv1.NetworkPolicy{policy("dns", nil, nil, rule(nil, port(corev1.ProtocolUDP, 53)))}},
		{name: "default deny", dst: agent, want: Denied, selecting: []string{"deny-all"},
			reason: "isolated for egress by NetworkPolicy deny-all, and none of their egress rules allows TCP 80 to 169.254.170.23",
			note:   "cilium/cilium#34387", policies: []networkingv1.NetworkPolicy{denyAll}},
		{name: "deny-all and an agent rule", dst: agent, want: Allowed, selecting: []string{"allow-agent", "deny-all"}, allowedBy: "allow-agent", byIPBlock: true,
			reason: "NetworkPolicy allow-agent allows TCP 80 to 169.254.170.23: egress rule 1 (to ipBlock 169.254.170.23/32, on TCP 80)",
			policies: []networkingv1.NetworkPolicy{denyAll, policy("allow-agent", map[string]string{"app": "web"}, egressOnly,
				rule(block("169.254.170.23/32"), port(corev1.ProtocolTCP, 80)))}},
		{name: "the agent excepted", dst: agent, want: Denied, note: "always allowed",
			policies: []networkingv1.NetworkPolicy{policy("out", nil, egressOnly, rule(block("0.0.0.0/0", "169.254.0.0/16")))}},
		{name: "the right block, the wrong port", dst: agent, want: Denied, note: "always allowed",
			policies: []networkingv1.NetworkPolicy{policy("out", nil, egressOnly, rule(block("169.254.170.23/32"), port(corev1.ProtocolTCP, 443)))}},
		{name: "the right port, the wrong protocol", dst: agent, want: Denied, note: "always allowed",
			policies: []networkingv1.NetworkPolicy{policy("out", nil, egressOnly, rule(block("169.254.170.23/32"), port(corev1.ProtocolUDP, 80)))}},
		{name: "a port range", dst: agent, want: Allowed, allowedBy: "out", byIPBlock: true, reason: "TCP 1-1024",
			policies: []networkingv1.NetworkPolicy{policy("out", nil, egressOnly, rule(block("169.254.0.0/16"),
				networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromInt32(1)), EndPort: ptr.To[int32](1024)}))}},
		{name: "a port range short of it", dst: sts, want: Denied,
			policies: []networkingv1.NetworkPolicy{policy("out", nil, egressOnly, rule(nil,
				networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromInt32(8000)), EndPort: ptr.To[int32](9000)}))}},
		{name: "a protocol without a port", dst: sts, want: Allowed, allowedBy: "out",
			policies: []networkingv1.NetworkPolicy{policy("out", nil, egressOnly, rule(nil, networkingv1.NetworkPolicyPort{}))}},
		{name: "allow everything", dst: agent, want: Allowed, allowedBy: "all", byIPBlock: false, reason: "to any destination, on any port",
			policies: []networkingv1.NetworkPolicy{denyAll, policy("all", nil, egressOnly, rule(nil))}},
		{name: "ports only: https anywhere", dst: sts, want: Allowed, allowedBy: "https",
			policies: []networkingv1.NetworkPolicy{policy("https", nil, egressOnly, rule(nil, port(corev1.ProtocolTCP, 443)))}},
		{name: "a named port outside the cluster", dst: sts, want: Denied,
			policies: []networkingv1.NetworkPolicy{policy("named", nil, egressOnly, rule(nil, networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromString("https"))}))}},
		{name: "a named port of the agent", dst: agent, want: Undetermined, note: `named port "http"`,
			policies: []networkingv1.NetworkPolicy{policy("named", nil, egressOnly, rule(block("169.254.170.23/32"), networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromString("http"))}))}},
		{name: "kube-system pods and the agent", dst: agent, want: Undetermined,
			reason: "only rules whose match depends on the network plugin", note: "NetworkPolicy to-kube-system, egress rule 1: its namespaceSelector and podSelector selects pods",
			policies: []networkingv1.NetworkPolicy{policy("to-kube-system", nil, egressOnly, rule(kubeSystemPods))}},
		{name: "kube-system pods and STS", dst: sts, want: Denied,
			policies: []networkingv1.NetworkPolicy{policy("to-kube-system", nil, egressOnly, rule(kubeSystemPods))}},
		{name: "a maybe and a yes", dst: agent, want: Allowed, allowedBy: "b-agent", byIPBlock: true,
			policies: []networkingv1.NetworkPolicy{policy("a-kube-system", nil, egressOnly, rule(kubeSystemPods)), policy("b-agent", nil, egressOnly, rule(block("169.254.170.23/32")))}},
		{name: "the agent over IPv6", want: Allowed, allowedBy: "v6", byIPBlock: true,
			dst:      Destination{Addr: netip.MustParseAddr("fd00:ec2::23"), Port: 80, HostNetwork: true},
			policies: []networkingv1.NetworkPolicy{policy("v6", nil, egressOnly, rule(block("fd00:ec2::23/128")))}},
		{name: "an IPv4 block and an IPv6 address", want: Denied,
			dst:      Destination{Addr: netip.MustParseAddr("fd00:ec2::23"), Port: 80},
			policies: []networkingv1.NetworkPolicy{policy("v4", nil, egressOnly, rule(block("0.0.0.0/0")))}},
		{name: "an IPv4-mapped address", want: Allowed, allowedBy: "v4", byIPBlock: true,
			dst:      Destination{Addr: netip.MustParseAddr("::ffff:169.254.170.23"), Port: 80},
			policies: []networkingv1.NetworkPolicy{policy("v4", nil, egressOnly, rule(block("169.254.0.0/16")))}},
		{name: "matchExpressions select the pod", dst: sts, want: Denied, selecting: []string{"not-db"},
			policies: []networkingv1.NetworkPolicy{func() networkingv1.NetworkPolicy {
				p := policy("not-db", nil, egressOnly)
				p.Spec.PodSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"db"}}}
				return p
			}()}},
		{name: "a selector that does not parse", dst: sts, want: Allowed, note: "does not parse",
			policies: []networkingv1.NetworkPolicy{func() networkingv1.NetworkPolicy {
				p := policy("broken", nil, egressOnly)
				p.Spec.PodSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}
				return p
			}()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pod := tt.pod
			if pod.Namespace == "" {
				pod = web
			}
			got := Egress(tt.policies, pod, tt.dst)
			if got.Verdict != tt.want {
				t.Errorf("Verdict = %s, want %s (%s)", got.Verdict, tt.want, got.Reason)
			}
			if tt.selecting != nil && !slices.Equal(got.Selecting, tt.selecting) {
				t.Errorf("Selecting = %v, want %v", got.Selecting, tt.selecting)
			}
			if got.AllowedBy != tt.allowedBy {
				t.Errorf("AllowedBy = %q, want %q", got.AllowedBy, tt.allowedBy)
			}
			if got.ByIPBlock != tt.byIPBlock {
				t.Errorf("ByIPBlock = %v, want %v", got.ByIPBlock, tt.byIPBlock)
			}
			if !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to say %q", got.Reason, tt.reason)
			}
			notes := strings.Join(got.Notes, "\n")
			if tt.note == "" && notes != "" {
				t.Errorf("Notes = %q, want none", notes)
			}
			if !strings.Contains(notes, tt.note) {
				t.Errorf("Notes = %q, want one saying %q", notes, tt.note)
			}
		})
	}
}
