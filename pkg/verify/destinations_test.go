package verify

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// resolverTable answers from a table and records the hosts asked: nothing is looked up for
// real.
type resolverTable struct {
	addrs map[string][]string
	asked []string
}

func (r *resolverTable) resolve(_ context.Context, host string) ([]netip.Addr, error) {
	r.asked = append(r.asked, host)
	as, ok := r.addrs[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	out := make([]netip.Addr, len(as))
	for i, a := range as {
		out[i] = netip.MustParseAddr(a)
	}
	return out, nil
}

func TestSTSDestinations(t *testing.T) {
	table := map[string][]string{
		"sts.amazonaws.com":                          {"52.94.0.1", "2600:1f18::1"},
		"sts.us-west-2.amazonaws.com":                {"52.94.0.17", "::ffff:52.94.0.18"},
		"sts.eu-central-1.amazonaws.com":             {"52.94.0.33"},
		"sts.ap-east-1.amazonaws.com":                {"52.94.0.49"},
		"sts.cn-north-1.amazonaws.com.cn":            {"54.222.0.1"},
		"vpce-0abc.sts.us-west-2.vpce.amazonaws.com": {"10.0.12.7", "10.0.44.9"},
		"localstack.dev.svc.cluster.local":           {"10.96.0.20"},
	}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		want    []string // NAME=ADDR:PORT
		asked   []string
		wantErr string
	}{
		{name: "no region: the global endpoint", want: []string{"STS at sts.amazonaws.com=52.94.0.1:443", "STS at sts.amazonaws.com=[2600:1f18::1]:443"}, asked: []string{"sts.amazonaws.com"}},
		{name: "a region, no choice: both defaults",
			env:   map[string]string{"AWS_REGION": "us-west-2"},
			want:  []string{"STS at sts.amazonaws.com=52.94.0.1:443", "STS at sts.amazonaws.com=[2600:1f18::1]:443", "STS at sts.us-west-2.amazonaws.com=52.94.0.17:443", "STS at sts.us-west-2.amazonaws.com=52.94.0.18:443"},
			asked: []string{"sts.amazonaws.com", "sts.us-west-2.amazonaws.com"}},
		{name: "regional, as the webhook sets it on EKS",
			env:  map[string]string{"AWS_REGION": "us-west-2", "AWS_STS_REGIONAL_ENDPOINTS": "regional"},
			want: []string{"STS at sts.us-west-2.amazonaws.com=52.94.0.17:443", "STS at sts.us-west-2.amazonaws.com=52.94.0.18:443"}},
		{name: "regional, the default region variable",
			env:  map[string]string{"AWS_DEFAULT_REGION": "eu-central-1", "AWS_STS_REGIONAL_ENDPOINTS": "regional"},
			want: []string{"STS at sts.eu-central-1.amazonaws.com=52.94.0.33:443"}},
		{name: "a region with no global endpoint",
			env:  map[string]string{"AWS_REGION": "ap-east-1"},
			want: []string{"STS at sts.ap-east-1.amazonaws.com=52.94.0.49:443"}},
		{name: "china",
			env:  map[string]string{"AWS_REGION": "cn-north-1", "AWS_STS_REGIONAL_ENDPOINTS": "regional"},
			want: []string{"STS at sts.cn-north-1.amazonaws.com.cn=54.222.0.1:443"}},
		{name: "a VPC endpoint",
			env:  map[string]string{"AWS_REGION": "us-west-2", "AWS_ENDPOINT_URL_STS": "https://vpce-0abc.sts.us-west-2.vpce.amazonaws.com"},
			want: []string{"STS at vpce-0abc.sts.us-west-2.vpce.amazonaws.com=10.0.12.7:443", "STS at vpce-0abc.sts.us-west-2.vpce.amazonaws.com=10.0.44.9:443"}},
		{name: "an address and a port, nothing resolved",
			env:   map[string]string{"AWS_ENDPOINT_URL_STS": "http://10.0.0.5:8080"},
			want:  []string{"STS at 10.0.0.5=10.0.0.5:8080"},
			asked: []string{}},
		{name: "the endpoint of every service",
			env:  map[string]string{"AWS_ENDPOINT_URL": "https://localstack.dev.svc.cluster.local:4566"},
			want: []string{"STS at localstack.dev.svc.cluster.local=10.96.0.20:4566"}},
		{name: "configured endpoints ignored",
			env:  map[string]string{"AWS_ENDPOINT_URL_STS": "http://10.0.0.5:8080", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
			want: []string{"STS at sts.amazonaws.com=52.94.0.1:443", "STS at sts.amazonaws.com=[2600:1f18::1]:443"}},
		{name: "one of two hosts does not resolve",
			env:     map[string]string{"AWS_REGION": "eu-west-3"},
			want:    []string{"STS at sts.amazonaws.com=52.94.0.1:443", "STS at sts.amazonaws.com=[2600:1f18::1]:443"},
			wantErr: "failed to resolve the STS endpoint sts.eu-west-3.amazonaws.com: no such host"},
		{name: "a host that does not resolve",
			env:     map[string]string{"AWS_REGION": "us-west-2", "AWS_ENDPOINT_URL_STS": "https://sts.example.invalid"},
			wantErr: "failed to resolve the STS endpoint sts.example.invalid: no such host"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &resolverTable{addrs: table}
			dests, err := STSDestinations(context.Background(), tt.env, r.resolve)
			if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			var got []string
			for _, d := range dests {
				if d.HostNetwork {
					t.Errorf("%s is marked host network", d.Name)
				}
				got = append(got, d.Name+"="+netip.AddrPortFrom(d.Addr, uint16(d.Port)).String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("STSDestinations() =\n%v\nwant\n%v", got, tt.want)
			}
			if tt.asked != nil && !slices.Equal(r.asked, tt.asked) {
				t.Errorf("resolved %v, want %v", r.asked, tt.asked)
			}
		})
	}
}

func TestAgentDestinations(t *testing.T) {
	for _, tt := range []struct {
		name string
		uri  string
		want []Destination
	}{
		{name: "the agent", uri: "http://169.254.170.23/v1/credentials",
			want: []Destination{{Name: "the Pod Identity agent", Addr: netip.MustParseAddr("169.254.170.23"), Port: 80, HostNetwork: true}}},
		{name: "the agent over IPv6", uri: "http://[fd00:ec2::23]/v1/credentials",
			want: []Destination{{Name: "the Pod Identity agent", Addr: netip.MustParseAddr("fd00:ec2::23"), Port: 80, HostNetwork: true}}},
		{name: "ECS's endpoint, link-local", uri: "http://169.254.170.2:8080/v2/credentials",
			want: []Destination{{Name: "the container credentials endpoint", Addr: netip.MustParseAddr("169.254.170.2"), Port: 8080, HostNetwork: true}}},
		{name: "a loopback sidecar", uri: "http://127.0.0.1:9911/creds"},
		{name: "a name", uri: "https://creds.internal/v1"},
		{name: "none"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := AgentDestinations(map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": tt.uri})
			if !slices.Equal(got, tt.want) {
				t.Errorf("AgentDestinations() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
