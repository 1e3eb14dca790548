package identity

import "strings"

// EKS serves each cluster's OIDC issuer under two hosts (EKS User Guide, "View Amazon EKS
// networking requirements for VPC and subnets", IRSA OIDC Issuer URLs): the IPv4 one,
// oidc.eks.REGION.amazonaws.com, and, since August 2024, the dual-stack one,
// oidc-eks.REGION.api.aws, with the same path /id/ID. The tokens carry one of them as iss,
// and IAM knows an OIDC provider by its URL: a provider registered for the other host is
// another provider.
const (
	eksIssuerHostPrefix          = "oidc.eks."
	eksIssuerHostSuffix          = ".amazonaws.com"
	eksDualStackIssuerHostPrefix = "oidc-eks."
	eksDualStackIssuerHostSuffix = ".api.aws"
)

// OtherEKSIssuerForm is the other host form of an EKS issuer given as host/path (no scheme):
// the dual-stack form of oidc.eks.REGION.amazonaws.com/id/X and the reverse. ok is false for
// any other issuer.
func OtherEKSIssuerForm(hostPath string) (other string, ok bool) {
	host, path, _ := strings.Cut(hostPath, "/")
	if region, found := cutAround(host, eksIssuerHostPrefix, eksIssuerHostSuffix); found {
		return eksDualStackIssuerHostPrefix + region + eksDualStackIssuerHostSuffix + "/" + path, path != ""
	}
	if region, found := cutAround(host, eksDualStackIssuerHostPrefix, eksDualStackIssuerHostSuffix); found {
		return eksIssuerHostPrefix + region + eksIssuerHostSuffix + "/" + path, path != ""
	}
	return "", false
}

// EKSIssuerRegion is the region of an EKS issuer URL in either host form; "" for any other.
func EKSIssuerRegion(issuer string) string {
	host, _, _ := strings.Cut(strings.TrimPrefix(issuer, "https://"), "/")
	if region, ok := cutAround(host, eksIssuerHostPrefix, eksIssuerHostSuffix); ok {
		return region
	}
	if region, ok := cutAround(host, eksDualStackIssuerHostPrefix, eksDualStackIssuerHostSuffix); ok {
		return region
	}
	return ""
}

// cutAround is s without prefix and suffix, when it has both and something between them
// that is one DNS label.
func cutAround(s, prefix, suffix string) (string, bool) {
	mid, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return "", false
	}
	mid, ok = strings.CutSuffix(mid, suffix)
	if !ok || mid == "" || strings.Contains(mid, ".") {
		return "", false
	}
	return mid, true
}
