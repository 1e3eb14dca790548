package cabundle

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func selfSigned(t *testing.T, cn string) (*x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestParse(t *testing.T) {
	_, a := selfSigned(t, "private-ca-a")
	_, b := selfSigned(t, "private-ca-b")
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	tests := []struct {
		name    string
		data    string
		want    []string // common names
		wantErr string
	}{
		{name: "one", data: string(a), want: []string{"private-ca-a"}},
		{name: "two with openssl text between", data: "subject=CN=a\n" + string(a) + "\nsubject=CN=b\n" + string(b), want: []string{"private-ca-a", "private-ca-b"}},
		{name: "empty", data: "", wantErr: "no PEM certificate"},
		{name: "not PEM", data: "hello", wantErr: "no PEM certificate"},
		{name: "a key", data: string(a) + string(key), wantErr: "PEM block 2 is a PRIVATE KEY, not a CERTIFICATE"},
		{name: "garbage certificate", data: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", wantErr: "PEM block 1 is not an X.509 certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := Parse([]byte(tt.data))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range certs {
				got = append(got, c.Subject.CommonName)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// The pool trusts the bundle's CA on top of the system's roots.
func TestPoolTrustsTheBundle(t *testing.T) {
	ca, data := selfSigned(t, "private-ca")
	pool, n, err := Pool(data)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("counted %d certificates, want 1", n)
	}
	if _, err := ca.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("the pool does not trust the bundle's CA: %v", err)
	}
	other, _ := selfSigned(t, "other-ca")
	if _, err := other.Verify(x509.VerifyOptions{Roots: pool}); err == nil {
		t.Error("the pool trusts a CA that is not in the bundle")
	}
}
