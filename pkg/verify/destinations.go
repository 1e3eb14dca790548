package verify

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

// Resolver looks a host name up. CheckNetworkPolicy's callers pass the real one
// (net.DefaultResolver.LookupNetIP); tests pass a table.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// podIdentityAgentIPv6 is the EKS Pod Identity agent's IPv6 address (EKS user guide, "Set up
// the Amazon EKS Pod Identity Agent"); probe.PodIdentityAgentHost is its IPv4 one.
const podIdentityAgentIPv6 = "fd00:ec2::23"

// AgentDestinations is the container credentials endpoint a container's env names
// (AWS_CONTAINER_CREDENTIALS_FULL_URI, which the webhook sets to the Pod Identity agent), or
// none when the env names none, names a host by name rather than by address, or names a
// loopback address (the pod's own, which no NetworkPolicy governs).
func AgentDestinations(env map[string]string) []Destination {
	u, err := url.Parse(env[identity.EnvPodIdentityURI])
	if err != nil || u.Host == "" {
		return nil
	}
	addr, err := netip.ParseAddr(u.Hostname())
	if err != nil || addr.IsLoopback() {
		return nil
	}
	port := portOf(u)
	agent := addr.String() == probe.PodIdentityAgentHost || addr.String() == podIdentityAgentIPv6
	name := "the container credentials endpoint"
	if agent {
		name = "the Pod Identity agent"
	}
	return []Destination{{Name: name, Addr: addr, Port: port, HostNetwork: agent || addr.IsLinkLocalUnicast()}}
}

// STSDestinations works out the STS endpoints a container's AWS SDK would call, from its env
// as the SDKs read it (probe.ResolveSTSTarget: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL;
// AWS_STS_REGIONAL_ENDPOINTS; AWS_REGION, else AWS_DEFAULT_REGION), and resolves their hosts
// with resolve. Without AWS_STS_REGIONAL_ENDPOINTS the SDKs disagree: some still default to
// the legacy global endpoint sts.amazonaws.com in the legacy regions (aws-sdk-go v1;
// JavaScript v2, whose lib/config.js defaults stsRegionalEndpoints to legacy), others to the
// region's (aws-sdk-go-v2 always; botocore since 1.40.0, boto/botocore#3517), so with a
// region in the env both are destinations. Addresses resolved here may differ from the
// pod's (a VPC endpoint's private DNS answers inside the VPC only). The error names the
// hosts that did not resolve; the destinations of the others are returned with it.
func STSDestinations(ctx context.Context, env map[string]string, resolve Resolver) ([]Destination, error) {
	t := probe.ResolveSTSTarget(func(k string) string { return env[k] }, "")
	var endpoints []string
	if t.Endpoint != "" {
		endpoints = []string{t.Endpoint}
	} else {
		first, err := t.URL(ctx)
		if err != nil {
			return nil, fmt.Errorf("failed to work out the STS endpoint: %w", err)
		}
		endpoints = []string{first}
		if !t.Regional && (t.RegionSource == "AWS_REGION" || t.RegionSource == "AWS_DEFAULT_REGION") {
			regional := t
			regional.Regional = true
			if u, err := regional.URL(ctx); err == nil && u != first {
				endpoints = append(endpoints, u)
			}
		}
	}
	var dests []Destination
	var errs []error
	for _, e := range endpoints {
		u, err := url.Parse(e)
		if err != nil || u.Hostname() == "" {
			errs = append(errs, fmt.Errorf("the STS endpoint %q is not a URL", e))
			continue
		}
		host := u.Hostname()
		addrs := []netip.Addr{}
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = append(addrs, a)
		} else if addrs, err = resolve(ctx, host); err != nil {
			errs = append(errs, fmt.Errorf("failed to resolve the STS endpoint %s: %w", host, err))
			continue
		}
		for _, a := range addrs {
			dests = append(dests, Destination{Name: "STS at " + host, Addr: a.Unmap(), Port: portOf(u)})
		}
	}
	return dests, errors.Join(errs...)
}

// portOf is the URL's port, or its scheme's.
func portOf(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "http" {
		return 80
	}
	return 443
}
