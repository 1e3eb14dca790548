package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// chainFile is a certificate chain a public HTTPS server served (leaf, then intermediate),
// recorded with the time it was valid at: www.google.com under GTS Root R1, as Go's own
// crypto/x509 tests keep it.
const (
	chainFile = "testdata/www.google.com-chain.pem"
	chainHost = "www.google.com"
)

var chainValidAt = time.Unix(1677615892, 0) // 2023-02-28

// TestMain hides this machine's CA files before anything loads the system roots (they are
// read once, on first use), as the probe image has none.
func TestMain(m *testing.M) {
	empty, err := os.MkdirTemp("", "no-ca-files")
	if err != nil {
		panic(err)
	}
	os.Setenv("SSL_CERT_FILE", empty+"/none.pem")
	os.Setenv("SSL_CERT_DIR", empty)
	code := m.Run()
	os.RemoveAll(empty)
	os.Exit(code)
}

func readChain(t *testing.T) (leaf *x509.Certificate, intermediates *x509.CertPool) {
	t.Helper()
	raw, err := os.ReadFile(chainFile)
	if err != nil {
		t.Fatal(err)
	}
	intermediates = x509.NewCertPool()
	for blk, rest := pem.Decode(raw); blk != nil; blk, rest = pem.Decode(rest) {
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if leaf == nil {
			leaf = c
			continue
		}
		intermediates.AddCert(c)
	}
	if leaf == nil {
		t.Fatalf("%s holds no certificate", chainFile)
	}
	return leaf, intermediates
}

// The embedded bundle alone, as a pool of its own: no system file is read.
func TestRecordedPublicChainVerifiesAgainstEmbeddedRoots(t *testing.T) {
	roots := x509.NewCertPool()
	n := 0
	for r := range bundle.Roots() {
		c, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			t.Fatal(err)
		}
		if r.Constraint == nil {
			roots.AddCert(c)
		} else {
			roots.AddCertWithConstraint(c, r.Constraint)
		}
		n++
	}
	if n < 100 {
		t.Fatalf("the embedded bundle holds %d roots; Mozilla's program has well over 100", n)
	}
	leaf, inter := readChain(t)
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: chainHost, CurrentTime: chainValidAt})
	if err != nil {
		t.Fatalf("the recorded chain does not verify against the embedded roots: %v", err)
	}
	if got := chains[0][len(chains[0])-1].Subject.CommonName; got != "GTS Root R1" {
		t.Errorf("chain ends at %q, want the public root GTS Root R1", got)
	}

	// The same pool refuses a chain it has no root for: without its intermediate the leaf
	// leads nowhere.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: chainHost, CurrentTime: chainValidAt}); err == nil {
		t.Error("the leaf verified without its intermediate: the pool trusts more than roots")
	}
}

// What the probe does in its image: the default verification (Roots nil) with no CA file or
// directory to read (TestMain points SSL_CERT_FILE and SSL_CERT_DIR at nothing), so only the
// fallback roots this binary imports can verify.
func TestBinaryTrustsPublicRootsWithoutCAFiles(t *testing.T) {
	leaf, inter := readChain(t)
	if _, err := leaf.Verify(x509.VerifyOptions{Intermediates: inter, DNSName: chainHost, CurrentTime: chainValidAt}); err != nil {
		t.Fatalf("the binary's default roots do not verify a public chain: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Intermediates: inter, DNSName: "sts.amazonaws.com", CurrentTime: chainValidAt}); err == nil {
		t.Error("the chain verified for another host name")
	}
}
