// Package cabundle reads PEM bundles of CA certificates: the private CAs (a TLS-inspecting
// proxy's, a private STS endpoint's) that verify --ca-bundle adds to the public roots, and
// that the probe reads from AWS_CA_BUNDLE as the AWS SDKs do.
package cabundle

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// Parse returns the certificates of a PEM bundle. Every PEM block must be a CERTIFICATE that
// parses, and there must be one at least; text between blocks (openssl's subject= lines) is
// allowed, as the SDKs allow it.
func Parse(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %s, not a CERTIFICATE", n, blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d is not an X.509 certificate: %w", n, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate in it (want -----BEGIN CERTIFICATE----- blocks)")
	}
	return certs, nil
}

// Pool is the system's roots with the bundle's certificates added, as the AWS SDKs build it
// from AWS_CA_BUNDLE. In the probe image, which holds no CA files, the system's roots are the
// public roots embedded in the binary.
func Pool(data []byte) (*x509.CertPool, int, error) {
	certs, err := Parse(data)
	if err != nil {
		return nil, 0, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, len(certs), nil
}
