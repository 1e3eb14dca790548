package identity

import (
	"strings"
	"testing"
)

func TestKnownPartition(t *testing.T) {
	for _, p := range []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"} {
		if !KnownPartition(p) {
			t.Errorf("KnownPartition(%q) = false", p)
		}
		if _, err := ParseRoleARN("arn:" + p + ":iam::123456789012:role/app"); err != nil {
			t.Errorf("KnownPartition and ParseRoleARN disagree on %q: %v", p, err)
		}
	}
	for _, p := range []string{"", "azure", "AWS", "minio"} {
		if KnownPartition(p) {
			t.Errorf("KnownPartition(%q) = true", p)
		}
	}
	if got := strings.Join(Partitions(), ","); !strings.HasPrefix(got, "aws,aws-cn,") {
		t.Errorf("Partitions() = %s, want sorted starting with aws,aws-cn", got)
	}
}
