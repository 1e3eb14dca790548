package verify

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/netpolicy"
)

// CheckOutsideNetworkPolicy is the check of the NetworkPolicies between the workload's pods
// and what their identity needs to reach.
const CheckOutsideNetworkPolicy = "outside.network_policy"

// Destination is an address the workload's pods must reach for their credentials.
type Destination struct {
	Name string // for messages: "the Pod Identity agent", "STS at sts.us-west-2.amazonaws.com"
	Addr netip.Addr
	Port int // TCP
	// HostNetwork is true for an address a node serves on its host network (the Pod Identity
	// agent), false for one outside the cluster.
	HostNetwork bool
}

// otherPolicyKinds are the policy APIs of network plugins and SIGs that can deny what
// NetworkPolicy allows, and that this check does not read.
var otherPolicyKinds = []struct{ group, kind string }{
	{"cilium.io", "CiliumNetworkPolicy"},
	{"cilium.io", "CiliumClusterwideNetworkPolicy"},
	{"crd.projectcalico.org", "NetworkPolicy"},
	{"crd.projectcalico.org", "GlobalNetworkPolicy"},
	{"projectcalico.org", "NetworkPolicy"}, // the Calico API server's
	{"projectcalico.org", "GlobalNetworkPolicy"},
	{"crd.antrea.io", "NetworkPolicy"},
	{"crd.antrea.io", "ClusterNetworkPolicy"},
	{"policy.networking.k8s.io", "AdminNetworkPolicy"},
	{"policy.networking.k8s.io", "BaselineAdminNetworkPolicy"},
	{"networking.k8s.aws", "ApplicationNetworkPolicy"}, // EKS Auto Mode
}

// CheckNetworkPolicy evaluates the namespace's NetworkPolicies for egress from the
// workload's pods (podLabels, the pod template's labels) to each destination: a denial
// fails, naming the policies that isolate the pods, with a NetworkPolicy that allows it in
// Detail; an allowed connection passes, naming the rule; one whose answer depends on the
// network plugin warns. disco, when not nil, finds policy APIs the cluster serves beside
// NetworkPolicy: they are named as not evaluated (a skip: serving an API is not having a
// policy, and this check cannot read them), and a cluster running Cilium turns an agent
// allowed by ipBlock alone into a warning. It costs one LIST of networkpolicies and, with
// disco, one discovery of groups plus one per matching group.
func CheckNetworkPolicy(ctx context.Context, c kubernetes.Interface, disco discovery.DiscoveryInterface, namespace string, podLabels map[string]string, dests []Destination) []check.Event {
	if len(dests) == 0 {
		return nil
	}
	policies, err := apicall.ListAll(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]networkingv1.NetworkPolicy, metav1.ListMeta, error) {
		l, err := c.NetworkingV1().NetworkPolicies(namespace).List(ctx, o)
		if err != nil {
			return nil, metav1.ListMeta{}, apicall.Wrap(err, "list", "networkpolicies.networking.k8s.io", namespace, "")
		}
		return l.Items, l.ListMeta, nil
	})
	if err != nil {
		return []check.Event{check.New(CheckOutsideNetworkPolicy, check.StatusSkip, "the NetworkPolicies are not checked: "+err.Error(), "", nil)}
	}
	served := servedPolicyKinds(disco)
	cilium := slices.ContainsFunc(served, func(k string) bool { return strings.HasSuffix(k, ".cilium.io") })
	pod := netpolicy.Pod{Namespace: namespace, Labels: podLabels}

	groups := byName(dests)
	var events []check.Event
	var names []string
	isolated, notIsolated := false, ""
	for _, group := range groups {
		results := make([]netpolicy.Result, len(group))
		for i, d := range group {
			results[i] = netpolicy.Egress(policies, pod, netpolicy.Destination{Addr: d.Addr, Port: d.Port, HostNetwork: d.HostNetwork})
			isolated = isolated || len(results[i].Selecting) > 0
			notIsolated = results[i].Reason
		}
		names = append(names, group[0].Name)
		events = append(events, destinationEvent(namespace, podLabels, group, results, cilium))
	}
	if !isolated {
		// Isolation is the pod's, whatever the destination: one event says it.
		events = []check.Event{check.New(CheckOutsideNetworkPolicy, check.StatusPass,
			fmt.Sprintf("%s in namespace %s: no NetworkPolicy stands between the pods and %s", notIsolated, namespace, strings.Join(names, " or ")),
			"", map[string]any{"policies": len(policies)})}
	}
	if len(served) > 0 {
		events = append(events, check.New(CheckOutsideNetworkPolicy, check.StatusSkip,
			fmt.Sprintf("not evaluated: the cluster serves %s, whose policies can deny what NetworkPolicy allows; kubectl wi does not read them", strings.Join(served, ", ")),
			"", map[string]any{"kinds": served}))
	}
	return events
}

// byName groups the destinations by name, in their order: one name may have many addresses.
func byName(dests []Destination) [][]Destination {
	var groups [][]Destination
	for _, d := range dests {
		i := slices.IndexFunc(groups, func(g []Destination) bool { return g[0].Name == d.Name })
		if i < 0 {
			groups = append(groups, nil)
			i = len(groups) - 1
		}
		groups[i] = append(groups[i], d)
	}
	return groups
}

// destinationEvent judges one destination by its worst address.
func destinationEvent(namespace string, podLabels map[string]string, group []Destination, results []netpolicy.Result, cilium bool) check.Event {
	worst := 0
	rank := map[netpolicy.Verdict]int{netpolicy.Allowed: 0, netpolicy.Undetermined: 1, netpolicy.Denied: 2}
	for i, r := range results {
		if rank[r.Verdict] > rank[results[worst].Verdict] {
			worst = i
		}
	}
	r, d := results[worst], group[worst]
	where := fmt.Sprintf("%s (%s)", d.Name, addrPorts(group))
	data := map[string]any{"destination": d.Name, "verdict": string(r.Verdict), "policies": r.Selecting}
	fix := fmt.Sprintf("allow it: kubectl apply -n %s -f <file> with the NetworkPolicy below (policies add up: it opens only this)", namespace)
	switch r.Verdict {
	case netpolicy.Denied:
		ev := check.New(CheckOutsideNetworkPolicy, check.StatusFail, "egress from the pods to "+where+" is denied: "+r.Reason, fix, data)
		ev.Detail = fixDetail(namespace, podLabels, group, r.Notes)
		return ev
	case netpolicy.Undetermined:
		ev := check.New(CheckOutsideNetworkPolicy, check.StatusWarn, "egress from the pods to "+where+" may be denied: "+r.Reason, fix, data)
		ev.Detail = fixDetail(namespace, podLabels, group, r.Notes)
		return ev
	case netpolicy.Allowed:
	}
	data["allowed_by"] = r.AllowedBy
	if d.HostNetwork && r.ByIPBlock && cilium {
		ev := check.New(CheckOutsideNetworkPolicy, check.StatusWarn,
			"egress from the pods to "+where+" is allowed by an ipBlock ("+r.Reason+"), but the cluster runs Cilium, which classes a node's own address as its host entity, and an ipBlock does not match that (cilium/cilium#34387)",
			fmt.Sprintf("allow the host entity: kubectl apply -n %s -f <file> with the CiliumNetworkPolicy below", namespace), data)
		ev.Detail = ciliumHostDetail(namespace, podLabels, d)
		return ev
	}
	return check.New(CheckOutsideNetworkPolicy, check.StatusPass, "egress from the pods to "+where+" is allowed: "+r.Reason, "", data)
}

func addrPorts(group []Destination) string {
	s := make([]string, len(group))
	for i, d := range group {
		s[i] = netip.AddrPortFrom(d.Addr, uint16(d.Port)).String()
	}
	return strings.Join(s, ", ")
}

// generatedLabels are set on pods by their controllers, not by the pod template: a selector
// with them would match one revision's pods only.
var generatedLabels = []string{"pod-template-hash", "controller-revision-hash", "pod-template-generation", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index"}

// fixDetail is a NetworkPolicy that allows the destination, after the notes as comments. An
// address outside the cluster that is public (an AWS endpoint) changes over time: the policy
// allows the port to any address, since an ipBlock cannot follow a name.
func fixDetail(namespace string, podLabels map[string]string, group []Destination, notes []string) string {
	d := group[0]
	var peers []networkingv1.NetworkPolicyPeer
	var comments []string
	for _, n := range notes {
		comments = append(comments, "# "+n)
	}
	public := !d.HostNetwork && slices.ContainsFunc(group, func(d Destination) bool { return !d.Addr.IsPrivate() })
	for _, g := range group {
		cidr := netip.PrefixFrom(g.Addr.Unmap(), g.Addr.Unmap().BitLen()).String()
		if public {
			cidr = "0.0.0.0/0"
			if g.Addr.Unmap().Is6() {
				cidr = "::/0"
			}
		}
		if !slices.ContainsFunc(peers, func(p networkingv1.NetworkPolicyPeer) bool { return p.IPBlock.CIDR == cidr }) {
			peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
		}
	}
	if public {
		comments = append(comments, "# "+d.Name+"'s addresses change and an ipBlock cannot follow a name: this allows the port to any address; an STS VPC endpoint (AWS_ENDPOINT_URL_STS, or its private DNS) lets you narrow it to the endpoint's subnet")
	}
	tcp := corev1.ProtocolTCP
	port := intstr.FromInt(d.Port)
	np := networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: policyName(d.Name), Namespace: namespace},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: templateSelector(podLabels)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{To: peers, Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}}}},
		},
	}
	out, err := yaml.Marshal(np)
	if err != nil {
		return strings.Join(comments, "\n")
	}
	return strings.Join(append(comments, strings.TrimSpace(string(out))), "\n")
}

// templateSelector is the pod template's labels without those controllers add per revision.
func templateSelector(podLabels map[string]string) map[string]string {
	selector := map[string]string{}
	for k, v := range podLabels {
		if !slices.Contains(generatedLabels, k) {
			selector[k] = v
		}
	}
	return selector
}

// ciliumHostDetail is a CiliumNetworkPolicy that allows the pods to reach the host entity on
// the destination's port: what Cilium needs for the Pod Identity agent.
func ciliumHostDetail(namespace string, podLabels map[string]string, d Destination) string {
	cnp := map[string]any{
		"apiVersion": "cilium.io/v2",
		"kind":       "CiliumNetworkPolicy",
		"metadata":   map[string]any{"name": policyName(d.Name), "namespace": namespace},
		"spec": map[string]any{
			"endpointSelector": map[string]any{"matchLabels": templateSelector(podLabels)},
			"egress": []any{map[string]any{
				"toEntities": []string{"host"},
				"toPorts":    []any{map[string]any{"ports": []any{map[string]any{"port": fmt.Sprint(d.Port), "protocol": "TCP"}}}},
			}},
		},
	}
	out, err := yaml.Marshal(cnp)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

var notName = regexp.MustCompile(`[^a-z0-9]+`)

// policyName is allow-egress-to-<the destination's name, or its host>, as a DNS label.
func policyName(dest string) string {
	if i := strings.LastIndex(dest, " at "); i >= 0 {
		dest = dest[i+len(" at "):]
	}
	name := "allow-egress-to-" + strings.Trim(notName.ReplaceAllString(strings.ToLower(strings.TrimPrefix(dest, "the ")), "-"), "-")
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	return name
}

// servedPolicyKinds names the otherPolicyKinds the cluster serves, KIND.GROUP, sorted. A
// discovery that fails names none: the NetworkPolicy verdict stands on its own.
func servedPolicyKinds(disco discovery.DiscoveryInterface) []string {
	if disco == nil {
		return nil
	}
	groups, err := disco.ServerGroups()
	if err != nil {
		return nil
	}
	var out []string
	for _, g := range groups.Groups {
		if !slices.ContainsFunc(otherPolicyKinds, func(k struct{ group, kind string }) bool { return k.group == g.Name }) {
			continue
		}
		list, err := disco.ServerResourcesForGroupVersion(g.PreferredVersion.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			known := slices.Contains(otherPolicyKinds, struct{ group, kind string }{g.Name, r.Kind})
			name := r.Kind + "." + g.Name
			if known && !strings.Contains(r.Name, "/") && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out
}
