package identity

import "testing"

func TestOtherEKSIssuerForm(t *testing.T) {
	tests := []struct {
		name, hostPath, want string
		wantOK               bool
	}{
		{name: "IPv4 to dual-stack", hostPath: "oidc.eks.us-west-2.amazonaws.com/id/ABC", want: "oidc-eks.us-west-2.api.aws/id/ABC", wantOK: true},
		{name: "dual-stack to IPv4", hostPath: "oidc-eks.eu-central-1.api.aws/id/ABC", want: "oidc.eks.eu-central-1.amazonaws.com/id/ABC", wantOK: true},
		{name: "no path", hostPath: "oidc.eks.us-west-2.amazonaws.com"},
		{name: "another issuer", hostPath: "oidc.example.com/id/ABC"},
		{name: "a look-alike with a dotted region", hostPath: "oidc.eks.evil.example.amazonaws.com/id/ABC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := OtherEKSIssuerForm(tt.hostPath)
			if got != tt.want && tt.wantOK || ok != tt.wantOK {
				t.Fatalf("OtherEKSIssuerForm(%q) = %q, %v; want %q, %v", tt.hostPath, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestEKSIssuerRegion(t *testing.T) {
	tests := []struct{ name, issuer, want string }{
		{name: "IPv4", issuer: "https://oidc.eks.us-west-2.amazonaws.com/id/ABC", want: "us-west-2"},
		{name: "dual-stack", issuer: "https://oidc-eks.ap-south-1.api.aws/id/ABC", want: "ap-south-1"},
		{name: "another issuer", issuer: "https://127.0.0.1:6443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EKSIssuerRegion(tt.issuer); got != tt.want {
				t.Fatalf("EKSIssuerRegion(%q) = %q, want %q", tt.issuer, got, tt.want)
			}
		})
	}
}
