package probe

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// codeTLS is the Diagnosis code of a TLS failure: the pod reached an endpoint but would not
// trust what answered.
const codeTLS = "tls"

// inspectionWords mark the issuer names of TLS-inspecting proxies' CAs, as their vendors
// name them by default.
var inspectionWords = []string{
	"proxy", "inspect", "intercept", "decrypt", "mitm", "zscaler", "netskope", "fortinet",
	"fortigate", "palo alto", "blue coat", "bluecoat", "forcepoint", "websense", "sophos",
	"squid", "umbrella", "checkpoint", "check point", "barracuda", "cloudflare gateway",
}

// looksLikeInspection reports whether an issuer name looks like an inspecting proxy's CA.
func looksLikeInspection(issuer pkix.Name) bool {
	s := strings.ToLower(strings.Join(slices.Concat([]string{issuer.CommonName}, issuer.Organization, issuer.OrganizationalUnit), " "))
	return slices.ContainsFunc(inspectionWords, func(w string) bool { return strings.Contains(s, w) })
}

// noRetryOnTLS stops the SDK from retrying a call whose TLS failed: the same certificate
// would fail again, only later.
func noRetryOnTLS(err error) aws.Ternary {
	if _, _, ok := diagnoseTLS(err, DiagnosisContext{}, ""); ok {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// diagnoseTLS explains an STS call that failed on TLS; ok is false for any other failure.
func diagnoseTLS(err error, dc DiagnosisContext, host string) (cause, fix string, ok bool) {
	if err == nil {
		return "", "", false
	}
	bundleFix := "pass the CA certificate to verify: kubectl wi verify ... --ca-bundle ca.pem (it mounts the file in the probe pod and sets " + EnvCABundle +
		"); the workload's SDK needs the same file, mounted and named by " + EnvCABundle
	var (
		bundleErr *CABundleError
		unknown   x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		plain     tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &bundleErr):
		return bundleErr.Error(), "mount a PEM file of CA certificates and name it in " + EnvCABundle + ", or let verify do it: kubectl wi verify ... --ca-bundle ca.pem", true
	case errors.As(err, &unknown):
		issuer := pkix.Name{}
		if unknown.Cert != nil {
			issuer = unknown.Cert.Issuer
		}
		if dc.Proxy != "" || looksLikeInspection(issuer) {
			via := "a TLS-inspecting proxy"
			if dc.Proxy != "" {
				via = "the proxy " + dc.Proxy
			}
			return fmt.Sprintf("TLS to %s is intercepted: %s answered with a certificate issued by %q, a CA the probe does not trust (proxy interception)", host, via, issuer.String()),
				"trust the proxy's CA: " + bundleFix + "; or exempt " + host + " from TLS inspection at the proxy", true
		}
		trusted := "the public roots (no --ca-bundle was given)"
		if dc.CABundle != "" {
			trusted = "the public roots nor the CA bundle " + dc.CABundle
		}
		return fmt.Sprintf("the certificate of %s is issued by %q, which is in neither %s (unknown authority)", host, issuer.String(), trusted),
			"for a private STS endpoint, " + bundleFix + "; for AWS's own endpoint, something on the path intercepts TLS: pass its CA the same way", true
	case errors.As(err, &hostErr):
		names := "no name"
		if c := hostErr.Certificate; c != nil {
			var all []string
			all = append(all, c.DNSNames...)
			for _, ip := range c.IPAddresses {
				all = append(all, ip.String())
			}
			if len(all) > 0 {
				names = strings.Join(all, ", ")
			}
		}
		return fmt.Sprintf("the certificate %s presented is for %s, not %s (name mismatch)", host, names, hostErr.Host),
			fmt.Sprintf("call STS by a name its certificate holds (--sts-endpoint, %s), or reissue the certificate with %s in its subjectAltName; a proxy that answers with its own certificate causes this too", "AWS_ENDPOINT_URL_STS", hostErr.Host), true
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return fmt.Sprintf("the certificate of %s is outside its validity period: %s", host, invalid.Error()),
			"check the node's clock (NTP); if it is right, the endpoint's certificate must be renewed", true
	case errors.As(err, &plain) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Sprintf("%s did not answer the TLS handshake with TLS (a plain-HTTP port?)", host),
			"use the endpoint's HTTPS port, or an http:// URL for a plain-HTTP endpoint", true
	}
	return "", "", false
}
