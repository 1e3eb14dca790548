package apicall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// IssuerDiscoveryPath is where the apiserver serves its service account issuer's OIDC
// discovery document.
const IssuerDiscoveryPath = "/.well-known/openid-configuration"

// IssuerDiscovery reads the apiserver's OIDC discovery document, raw. A client without a REST
// client (a fake) is an error, not a panic.
func IssuerDiscovery(ctx context.Context, c kubernetes.Interface) ([]byte, error) {
	rc := c.Discovery().RESTClient()
	if rc == nil {
		return nil, errors.New("no REST client to read the cluster's issuer with")
	}
	// JSON, whatever the client prefers for API objects: the document is JSON, and a refusal's
	// Status decodes (and names the user and the path) only from JSON on a path outside the API.
	return rc.Get().AbsPath(IssuerDiscoveryPath).SetHeader("Accept", "application/json").DoRaw(ctx)
}

// ClusterIssuer reads the issuer from the apiserver's OIDC discovery document, or says why it
// cannot and how to pass the issuer instead (--issuer URL).
func ClusterIssuer(ctx context.Context, c kubernetes.Interface) (string, error) {
	raw, err := IssuerDiscovery(ctx, c)
	return IssuerFromDiscovery(raw, err)
}

// discoveryErrorMessage is the apiserver's own message for a failed discovery read. The
// discovery REST client does not decode the Status the apiserver answers a non-resource path
// with, so err says only "unknown" while raw holds the Status and its message ("User ...
// cannot get path ..."); err's text is kept when raw holds none.
func discoveryErrorMessage(raw []byte, err error) string {
	var st metav1.Status
	if json.Unmarshal(raw, &st) == nil && st.Kind == "Status" && st.Message != "" {
		return st.Message
	}
	return err.Error()
}

// DiscoveryDoc is the part of the OIDC discovery document the commands read.
type DiscoveryDoc struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// ParseDiscovery decodes the discovery document; the error says when it is not JSON or names
// no issuer.
func ParseDiscovery(raw []byte) (DiscoveryDoc, error) {
	var doc DiscoveryDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return DiscoveryDoc{}, fmt.Errorf("the cluster's %s is not a JSON discovery document (%w)", IssuerDiscoveryPath, err)
	}
	if doc.Issuer == "" {
		return DiscoveryDoc{}, fmt.Errorf("the cluster's %s names no issuer", IssuerDiscoveryPath)
	}
	return doc, nil
}

// IssuerFromDiscovery turns the discovery response (IssuerDiscovery's results) into the
// issuer, or an error with the fix. API errors are formatted, not wrapped: a failed discovery
// is the environment, and a wrapped 404 would read as a missing object.
func IssuerFromDiscovery(raw []byte, err error) (string, error) {
	const fix = "pass the issuer with --issuer URL (on EKS: aws eks describe-cluster --name CLUSTER --query cluster.identity.oidc.issuer --output text)"
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "", err
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return "", fmt.Errorf("reading the cluster's issuer from %s is forbidden (%s): %s, or ask for the system:service-account-issuer-discovery ClusterRole", IssuerDiscoveryPath, discoveryErrorMessage(raw, err), fix)
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("the apiserver does not serve %s (404): its service account issuer discovery is off; %s", IssuerDiscoveryPath, fix)
	default:
		return "", fmt.Errorf("failed to read the cluster's issuer from %s: %s; %s", IssuerDiscoveryPath, discoveryErrorMessage(raw, err), fix)
	}
	doc, err := ParseDiscovery(raw)
	if err != nil {
		return "", fmt.Errorf("%w; %s", err, fix)
	}
	return doc.Issuer, nil
}

// DiscoveryFunc reads the apiserver's /.well-known/openid-configuration.
type DiscoveryFunc func(ctx context.Context) ([]byte, error)

// APIServerDiscovery reads the discovery document through c.
func APIServerDiscovery(c kubernetes.Interface) DiscoveryFunc {
	return func(ctx context.Context) ([]byte, error) { return IssuerDiscovery(ctx, c) }
}
