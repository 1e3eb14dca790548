package apicall

import (
	"context"
	"errors"

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
	return rc.Get().AbsPath(IssuerDiscoveryPath).DoRaw(ctx)
}
