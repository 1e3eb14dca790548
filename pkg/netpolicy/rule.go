package netpolicy

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ruleMatches says whether one egress rule allows the connection: one of its peers and one
// of its ports must match. Notes say why a maybe is a maybe, and come only with one.
func ruleMatches(rule networkingv1.NetworkPolicyEgressRule, dst Destination) (m match, byIPBlock bool, notes []string) {
	peer, byIPBlock, peerNotes := peersMatch(rule.To, dst)
	port, portNotes := portsMatch(rule.Ports, dst)
	m = min(peer, port)
	if m != maybe {
		return m, byIPBlock, nil
	}
	if peer == maybe {
		notes = append(notes, peerNotes...)
	}
	if port == maybe {
		notes = append(notes, portNotes...)
	}
	return m, false, notes
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, dst Destination) (match, bool, []string) {
	if len(peers) == 0 {
		return yes, false, nil
	}
	best := no
	var notes []string
	for _, p := range peers {
		if p.IPBlock != nil {
			if inBlock(p.IPBlock, dst.Addr) {
				return yes, true, nil
			}
			continue
		}
		// A podSelector or namespaceSelector peer: it selects pods.
		if dst.HostNetwork {
			best = maybe
			notes = append(notes, fmt.Sprintf("its %s selects pods: whether that matches %s, a host-network address, depends on the network plugin (most ignore host-network pods and treat their traffic as the node's)", describePeer(p), dst.Addr))
		}
	}
	return best, false, notes
}

// inBlock is true when addr is in the block's CIDR and in none of its exceptions. A CIDR that
// does not parse matches nothing (the apiserver validates them).
func inBlock(b *networkingv1.IPBlock, addr netip.Addr) bool {
	addr = addr.Unmap()
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !cidr.Contains(addr) {
		return false
	}
	for _, e := range b.Except {
		if ex, err := netip.ParsePrefix(e); err == nil && ex.Contains(addr) {
			return false
		}
	}
	return true
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, dst Destination) (match, []string) {
	if len(ports) == 0 {
		return yes, nil
	}
	best := no
	var notes []string
	for _, p := range ports {
		if protocol(p) != dst.Protocol {
			continue
		}
		switch {
		case p.Port == nil:
			return yes, nil
		case p.Port.Type == intstr.String:
			// A named port is a port the destination pod declares: an address outside the
			// cluster has none; a host-network pod's may count, by the plugin's choice.
			if dst.HostNetwork {
				best = maybe
				notes = append(notes, fmt.Sprintf("its named port %q is a port the destination pod declares: whether the host-network agent's counts depends on the network plugin", p.Port.StrVal))
			}
		case p.EndPort != nil:
			if int(p.Port.IntVal) <= dst.Port && dst.Port <= int(*p.EndPort) {
				return yes, nil
			}
		case int(p.Port.IntVal) == dst.Port:
			return yes, nil
		}
	}
	return best, notes
}

func protocol(p networkingv1.NetworkPolicyPort) corev1.Protocol {
	if p.Protocol == nil {
		return corev1.ProtocolTCP
	}
	return *p.Protocol
}

// describeRule is a rule in words: "to ipBlock 169.254.170.23/32, on TCP 80".
func describeRule(r networkingv1.NetworkPolicyEgressRule) string {
	to := "to any destination"
	if len(r.To) > 0 {
		peers := make([]string, len(r.To))
		for i, p := range r.To {
			peers[i] = describePeer(p)
		}
		to = "to " + strings.Join(peers, " or ")
	}
	on := "on any port"
	if len(r.Ports) > 0 {
		ports := make([]string, len(r.Ports))
		for i, p := range r.Ports {
			ports[i] = describePort(p)
		}
		on = "on " + strings.Join(ports, ", ")
	}
	return to + ", " + on
}

func describePeer(p networkingv1.NetworkPolicyPeer) string {
	switch {
	case p.IPBlock != nil && len(p.IPBlock.Except) > 0:
		return "ipBlock " + p.IPBlock.CIDR + " except " + strings.Join(p.IPBlock.Except, ", ")
	case p.IPBlock != nil:
		return "ipBlock " + p.IPBlock.CIDR
	case p.NamespaceSelector != nil && p.PodSelector != nil:
		return "namespaceSelector and podSelector"
	case p.NamespaceSelector != nil:
		return "namespaceSelector"
	default:
		return "podSelector"
	}
}

func describePort(p networkingv1.NetworkPolicyPort) string {
	proto := string(protocol(p))
	switch {
	case p.Port == nil:
		return proto + " (any port)"
	case p.Port.Type == intstr.String:
		return proto + " port named " + p.Port.StrVal
	case p.EndPort != nil:
		return fmt.Sprintf("%s %d-%d", proto, p.Port.IntVal, *p.EndPort)
	}
	return fmt.Sprintf("%s %d", proto, p.Port.IntVal)
}
