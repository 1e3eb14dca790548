package verify

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/discovery"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

var (
	agentDest = Destination{Name: "the Pod Identity agent", Addr: netip.MustParseAddr("169.254.170.23"), Port: 80, HostNetwork: true}
	stsDests  = []Destination{
		{Name: "STS at sts.us-west-2.amazonaws.com", Addr: netip.MustParseAddr("52.94.0.17"), Port: 443},
		{Name: "STS at sts.us-west-2.amazonaws.com", Addr: netip.MustParseAddr("52.94.0.18"), Port: 443},
	}
	webLabels = map[string]string{"app": "web", "pod-template-hash": "5d8f7c"}
)

func netpol(name string, egress ...networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      egress,
		},
	}
}

func toBlock(cidr string, port int32) networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{
		To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: cidr}}},
		Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(port))}},
	}
}

// served is a discovery that serves the given group versions' kinds.
func served(kinds map[string][]string) *fakediscovery.FakeDiscovery {
	d := &fakediscovery.FakeDiscovery{Fake: &clienttesting.Fake{}}
	for gv, ks := range kinds {
		l := &metav1.APIResourceList{GroupVersion: gv}
		for _, k := range ks {
			l.APIResources = append(l.APIResources, metav1.APIResource{Name: strings.ToLower(k) + "s", Kind: k, Namespaced: true})
		}
		d.Resources = append(d.Resources, l)
	}
	return d
}

func TestCheckNetworkPolicy(t *testing.T) {
	kubeSystem := netpol("to-kube-system", networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
	}}})
	ciliumServed := served(map[string][]string{"cilium.io/v2": {"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "CiliumEndpoint"}})
	for _, tt := range []struct {
		name     string
		objs     []runtime.Object
		disco    *fakediscovery.FakeDiscovery
		listErr  error
		dests    []Destination
		want     []string // STATUS: a part of the message, per event
		fix      string   // a part of the first event's fix
		detail   []string // parts of the first event's detail
		noDetail []string // what the first event's detail must not hold
	}{
		{name: "no policy", dests: append([]Destination{agentDest}, stsDests...),
			want: []string{"pass: no NetworkPolicy selects the pod for egress in namespace shop: no NetworkPolicy stands between the pods and the Pod Identity agent or STS at sts.us-west-2.amazonaws.com"}},
		{name: "default deny", objs: []runtime.Object{netpol("deny-all")}, dests: []Destination{agentDest},
			want:     []string{"fail: egress from the pods to the Pod Identity agent (169.254.170.23:80) is denied: the pod is isolated for egress by NetworkPolicy deny-all"},
			fix:      "kubectl apply -n shop",
			detail:   []string{"# Kubernetes documents traffic to the pod's own node as always allowed", "name: allow-egress-to-pod-identity-agent", "namespace: shop", "app: web", "cidr: 169.254.170.23/32", "port: 80", "protocol: TCP", "- Egress"},
			noDetail: []string{"pod-template-hash"}},
		{name: "an agent rule, and STS denied", objs: []runtime.Object{netpol("deny-all"), netpol("allow-agent", toBlock("169.254.170.23/32", 80))},
			dests: append([]Destination{agentDest}, stsDests...),
			want: []string{"pass: egress from the pods to the Pod Identity agent (169.254.170.23:80) is allowed: NetworkPolicy allow-agent allows TCP 80 to 169.254.170.23",
				"fail: egress from the pods to STS at sts.us-west-2.amazonaws.com (52.94.0.17:443, 52.94.0.18:443) is denied"}},
		{name: "STS denied: the fix allows the port anywhere", objs: []runtime.Object{netpol("deny-all")}, dests: stsDests,
			want:   []string{"fail: egress from the pods to STS"},
			detail: []string{"# STS at sts.us-west-2.amazonaws.com's addresses change", "cidr: 0.0.0.0/0", "port: 443", "name: allow-egress-to-sts-us-west-2-amazonaws-com"}},
		{name: "an STS VPC endpoint: the fix names its addresses", objs: []runtime.Object{netpol("deny-all")},
			dests:  []Destination{{Name: "STS at vpce-0abc.sts.us-west-2.vpce.amazonaws.com", Addr: netip.MustParseAddr("10.0.12.7"), Port: 443}, {Name: "STS at vpce-0abc.sts.us-west-2.vpce.amazonaws.com", Addr: netip.MustParseAddr("10.0.44.9"), Port: 443}},
			want:   []string{"fail: egress from the pods to STS at vpce-0abc.sts.us-west-2.vpce.amazonaws.com (10.0.12.7:443, 10.0.44.9:443) is denied"},
			detail: []string{"cidr: 10.0.12.7/32", "cidr: 10.0.44.9/32"}, noDetail: []string{"0.0.0.0/0", "addresses change"}},
		{name: "one address of two allowed", objs: []runtime.Object{netpol("one", toBlock("52.94.0.17/32", 443))}, dests: stsDests,
			want: []string{"fail: egress from the pods to STS at sts.us-west-2.amazonaws.com (52.94.0.17:443, 52.94.0.18:443) is denied: the pod is isolated for egress by NetworkPolicy one, and none of their egress rules allows TCP 443 to 52.94.0.18"}},
		{name: "a selector rule and the agent", objs: []runtime.Object{kubeSystem}, dests: []Destination{agentDest},
			want:   []string{"warn: egress from the pods to the Pod Identity agent (169.254.170.23:80) may be denied"},
			detail: []string{"# NetworkPolicy to-kube-system, egress rule 1: its namespaceSelector selects pods", "cidr: 169.254.170.23/32"}},
		{name: "Cilium and an ipBlock for the agent", objs: []runtime.Object{netpol("allow-agent", toBlock("169.254.170.23/32", 80))}, disco: ciliumServed,
			dests: []Destination{agentDest},
			want: []string{"warn: egress from the pods to the Pod Identity agent (169.254.170.23:80) is allowed by an ipBlock",
				"skip: not evaluated: the cluster serves CiliumClusterwideNetworkPolicy.cilium.io, CiliumNetworkPolicy.cilium.io, whose policies"},
			fix: "CiliumNetworkPolicy", detail: []string{"kind: CiliumNetworkPolicy", "- host", "port: \"80\"", "app: web"}, noDetail: []string{"pod-template-hash"}},
		{name: "other kinds, no NetworkPolicy", dests: []Destination{agentDest},
			disco: served(map[string][]string{"crd.projectcalico.org/v1": {"GlobalNetworkPolicy", "NetworkPolicy", "IPPool"}, "policy.networking.k8s.io/v1alpha1": {"AdminNetworkPolicy"}, "apps/v1": {"Deployment"}}),
			want:  []string{"pass: no NetworkPolicy selects", "skip: not evaluated: the cluster serves AdminNetworkPolicy.policy.networking.k8s.io, GlobalNetworkPolicy.crd.projectcalico.org, NetworkPolicy.crd.projectcalico.org,"}},
		{name: "cannot list", listErr: apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "networkpolicies"}, "", errors.New(`User "dev" cannot list resource "networkpolicies"`)),
			dests: []Destination{agentDest},
			want:  []string{`skip: the NetworkPolicies are not checked: cannot list networkpolicies.networking.k8s.io in namespace "shop": forbidden; ask for RBAC verb "list"`}},
		{name: "no destination", objs: []runtime.Object{netpol("deny-all")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := fake.NewClientset(tt.objs...)
			if tt.listErr != nil {
				c.PrependReactor("list", "networkpolicies", func(clienttesting.Action) (bool, runtime.Object, error) { return true, nil, tt.listErr })
			}
			var disco discovery.DiscoveryInterface
			if tt.disco != nil {
				disco = tt.disco
			}
			evs := CheckNetworkPolicy(context.Background(), c, disco, "shop", webLabels, tt.dests)
			if len(evs) != len(tt.want) {
				t.Fatalf("%d events, want %d:\n%s", len(evs), len(tt.want), messages(evs))
			}
			for i, w := range tt.want {
				status, msg, _ := strings.Cut(w, ": ")
				if string(evs[i].Status) != status || !strings.Contains(evs[i].Message, msg) || evs[i].Check != CheckOutsideNetworkPolicy {
					t.Errorf("event %d = %s %s: %s, want %s: %s", i, evs[i].Check, evs[i].Status, evs[i].Message, status, msg)
				}
				if evs[i].Status == "fail" && evs[i].Fix == "" {
					t.Errorf("event %d fails without a fix", i)
				}
			}
			if tt.fix != "" && !strings.Contains(evs[0].Fix, tt.fix) {
				t.Errorf("fix = %q, want it to say %q", evs[0].Fix, tt.fix)
			}
			for _, d := range tt.detail {
				if !strings.Contains(evs[0].Detail, d) {
					t.Errorf("detail does not say %q:\n%s", d, evs[0].Detail)
				}
			}
			for _, d := range tt.noDetail {
				if strings.Contains(evs[0].Detail, d) {
					t.Errorf("detail says %q:\n%s", d, evs[0].Detail)
				}
			}
		})
	}
}

// The NetworkPolicy a denial proposes, applied, allows what was denied.
func TestCheckNetworkPolicyFixAllows(t *testing.T) {
	for _, dests := range [][]Destination{{agentDest}, stsDests} {
		t.Run(dests[0].Name, func(t *testing.T) {
			denied := CheckNetworkPolicy(context.Background(), fake.NewClientset(netpol("deny-all")), nil, "shop", webLabels, dests)
			if len(denied) != 1 || denied[0].Status != "fail" {
				t.Fatalf("events:\n%s", messages(denied))
			}
			var fix networkingv1.NetworkPolicy
			var yamlLines []string
			for _, l := range strings.Split(denied[0].Detail, "\n") {
				if !strings.HasPrefix(l, "#") {
					yamlLines = append(yamlLines, l)
				}
			}
			if err := yaml.UnmarshalStrict([]byte(strings.Join(yamlLines, "\n")), &fix); err != nil {
				t.Fatalf("the detail is not a NetworkPolicy: %v\n%s", err, denied[0].Detail)
			}
			if fix.Namespace != "shop" || fix.Kind != "NetworkPolicy" || fix.APIVersion != "networking.k8s.io/v1" {
				t.Errorf("fix is %s %s in %q", fix.APIVersion, fix.Kind, fix.Namespace)
			}
			allowed := CheckNetworkPolicy(context.Background(), fake.NewClientset(netpol("deny-all"), &fix), nil, "shop", webLabels, dests)
			if len(allowed) != 1 || allowed[0].Status != "pass" || !strings.Contains(allowed[0].Message, "NetworkPolicy "+fix.Name+" allows") {
				t.Errorf("with the fix applied:\n%s", messages(allowed))
			}
		})
	}
}

func TestPolicyName(t *testing.T) {
	for _, tt := range []struct{ dest, want string }{
		{"the Pod Identity agent", "allow-egress-to-pod-identity-agent"},
		{"STS at sts.us-west-2.amazonaws.com", "allow-egress-to-sts-us-west-2-amazonaws-com"},
		{"STS at " + strings.Repeat("very-long.", 10) + "example", "allow-egress-to-very-long-very-long-very-long-very-long-very-lo"},
	} {
		t.Run(tt.dest, func(t *testing.T) {
			if got := policyName(tt.dest); got != tt.want || len(got) > 63 {
				t.Errorf("policyName() = %q, want %q", got, tt.want)
			}
		})
	}
}
