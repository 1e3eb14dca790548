package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/net/http/httpproxy"

	"github.com/kubectl-wi/kubectl-wi/pkg/cabundle"
)

// EnvCABundle names a PEM file of CA certificates that STS calls trust beside the public
// roots, as the AWS SDKs read it. verify --ca-bundle mounts one in the probe pod.
const EnvCABundle = "AWS_CA_BUNDLE"

// EnvCABundlePEM holds PEM CA certificates themselves, which STS calls trust beside the
// public roots, before AWS_CA_BUNDLE's file: verify --in-pod passes --ca-bundle so, since an
// ephemeral container cannot add the volume the probe pod mounts the file from. CA
// certificates are public: the env, which stays in the pod's spec, holds no secret.
const EnvCABundlePEM = "KUBECTL_WI_PROBE_CA_BUNDLE_PEM"

// ProxyEnv lists the env that routes HTTP through a proxy, in every spelling Go's net/http
// and the SDKs read: verify copies these from the workload so the probe takes its path.
var ProxyEnv = []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"}

// STSTransport is how STS calls leave the pod: the roots they trust and the proxy they take,
// read from the pod's env as the SDK's default client reads it.
type STSTransport struct {
	CABundle string         // AWS_CA_BUNDLE's path, or "--ca-bundle" for EnvCABundlePEM; empty when unset
	CAFrom   string         // the env that named it: EnvCABundle or EnvCABundlePEM
	CACerts  int            // certificates in it
	CAErr    error          // why the bundle cannot be used; STS calls fail with it
	roots    *x509.CertPool // nil: the system's roots (the embedded public roots in the image)
	proxy    *httpproxy.Config
	// httpsFrom and httpFrom name the env each proxy came from, in the spelling the pod set.
	httpsFrom, httpFrom string
}

// ResolveSTSTransport reads AWS_CA_BUNDLE (with readFile) and the proxy env.
func ResolveSTSTransport(getenv func(string) string, readFile func(string) ([]byte, error)) STSTransport {
	first := func(names ...string) (value, name string) {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v, n
			}
		}
		return "", ""
	}
	// The upper case first, as golang.org/x/net/http/httpproxy.FromEnvironment reads them.
	httpProxy, httpFrom := first("HTTP_PROXY", "http_proxy")
	httpsProxy, httpsFrom := first("HTTPS_PROXY", "https_proxy")
	noProxy, _ := first("NO_PROXY", "no_proxy")
	t := STSTransport{
		proxy:     &httpproxy.Config{HTTPProxy: httpProxy, HTTPSProxy: httpsProxy, NoProxy: noProxy},
		httpsFrom: httpsFrom, httpFrom: httpFrom,
	}
	if pem := getenv(EnvCABundlePEM); pem != "" {
		t.CABundle, t.CAFrom = "--ca-bundle", EnvCABundlePEM
		var err error
		if t.roots, t.CACerts, err = cabundle.Pool([]byte(pem)); err != nil {
			t.CAErr = &CABundleError{Env: EnvCABundlePEM, Path: t.CABundle, Err: err}
		}
		return t
	}
	if path := getenv(EnvCABundle); path != "" {
		t.CABundle, t.CAFrom = path, EnvCABundle
		data, err := readFile(path)
		if err == nil {
			t.roots, t.CACerts, err = cabundle.Pool(data)
		}
		if err != nil {
			t.CAErr = &CABundleError{Env: EnvCABundle, Path: path, Err: err}
		}
	}
	return t
}

// CABundleError says AWS_CA_BUNDLE names a file the probe cannot use, or EnvCABundlePEM holds
// no CA certificate.
type CABundleError struct {
	Env  string // EnvCABundle, or EnvCABundlePEM; empty means EnvCABundle
	Path string
	Err  error
}

func (e *CABundleError) Error() string {
	if e.Env == EnvCABundlePEM {
		return fmt.Sprintf("the --ca-bundle PEM in %s cannot be used: %v", EnvCABundlePEM, e.Err)
	}
	return fmt.Sprintf("%s %s cannot be used: %v", EnvCABundle, e.Path, e.Err)
}

func (e *CABundleError) Unwrap() error { return e.Err }

// Proxy is the proxy a request to endpoint goes through, its password hidden; empty when it
// goes direct.
func (t STSTransport) Proxy(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || t.proxy == nil {
		return ""
	}
	p, err := t.proxy.ProxyFunc()(u)
	if err != nil || p == nil {
		return ""
	}
	return p.Redacted()
}

// ProxyFrom names the env that sends a request to endpoint through a proxy (HTTPS_PROXY for
// an https endpoint, HTTP_PROXY for an http one, as the pod spelled it); empty when it goes
// direct, NO_PROXY included.
func (t STSTransport) ProxyFrom(endpoint string) string {
	if t.Proxy(endpoint) == "" {
		return ""
	}
	if u, err := url.Parse(endpoint); err == nil && u.Scheme == "http" {
		return t.httpFrom
	}
	return t.httpsFrom
}

// Client is the HTTP client for STS: the SDK's default, with these roots and this proxy.
func (t STSTransport) Client() sts.HTTPClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		if t.proxy != nil {
			pf := t.proxy.ProxyFunc()
			tr.Proxy = func(r *http.Request) (*url.URL, error) { return pf(r.URL) }
		}
		if t.roots != nil {
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			tr.TLSClientConfig.RootCAs = t.roots
		}
	})
}

// failingSTS answers every call with the error that keeps STS from being called at all.
type failingSTS struct{ err error }

func (f failingSTS) AssumeRoleWithWebIdentity(context.Context, *sts.AssumeRoleWithWebIdentityInput, ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return nil, f.err
}

func (f failingSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return nil, f.err
}
