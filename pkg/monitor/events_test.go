package monitor

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// An Event names every failed check and keeps each check's words within a share of the
// apiserver's bound: STS's long refusal does not push explain's finding out of the message.
func TestEventMessage(t *testing.T) {
	broken := Account{Namespace: "ns", Name: "broken", Identity: IdentityIRSA}
	// As verify words STS's refusal: every cause it may hide, and how to find which.
	refusal := Check{Check: "sts.assume_role", Message: "STS refused to let system:serviceaccount:ns:broken assume the role, and its AccessDenied does not say why; " +
		strings.Repeat("it answers the same for each of these causes; ", 30), Fix: "find which with AWS credentials that may read IAM: kubectl wi explain serviceaccount/broken -n ns"}
	trust := Check{Check: "iam.trust", Message: "the trust policy's statement 0 names the service account someone-else", Fix: "aws iam update-assume-role-policy --role-name wrong"}
	long := func(name, word string) Check { return Check{Check: name, Message: strings.Repeat(word+" ", 600)} }

	tests := []struct {
		name     string
		result   Result
		want     []string // in the message
		wantNot  []string // not in it
		wantFull string   // the whole message, when set
	}{
		{
			name:     "one short check is said whole",
			result:   Result{Account: broken, FailedChecks: []Check{trust}},
			wantFull: "the irsa identity of service account ns/broken failed its proof (iam.trust): iam.trust: the trust policy's statement 0 names the service account someone-else (fix: aws iam update-assume-role-policy --role-name wrong)",
		},
		{
			name:   "a long refusal leaves explain's finding and its fix whole",
			result: Result{Account: broken, FailedChecks: []Check{refusal, trust}},
			want: []string{"failed its proof (sts.assume_role, iam.trust): sts.assume_role: STS refused to let",
				"...; iam.trust: " + trust.Message + " (fix: " + trust.Fix + ")"},
		},
		{
			name:   "two long checks share the bound",
			result: Result{Account: broken, FailedChecks: []Check{long("verify.run", "a"), long("iam.role", "b")}},
			want:   []string{"(verify.run, iam.role): verify.run: " + strings.Repeat("a ", 200), "...; iam.role: " + strings.Repeat("b ", 200), "..."},
		},
		{
			name:    "a token is redacted before the message is cut",
			result:  Result{Account: broken, FailedChecks: []Check{{Check: "sts.assume_role", Message: "token " + fakeJWT + " " + strings.Repeat("x ", 600)}, trust}},
			want:    []string{"token [redacted]", "iam.trust: "},
			wantNot: []string{"eyJ"},
		},
		{
			name:   "a cut never splits a character",
			result: Result{Account: broken, FailedChecks: []Check{{Check: "sts.assume_role", Message: strings.Repeat("é", 1000)}}},
			want:   []string{"sts.assume_role: é", "é..."},
		},
		{
			name:     "recovered",
			result:   Result{Account: broken, Verified: true},
			wantFull: "the irsa identity of service account ns/broken is proven again from a probe pod",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eventMessage(tt.result)
			if len(got) > maxEventMessage || !utf8.ValidString(got) {
				t.Errorf("the message is %d bytes (bound %d), valid UTF-8 %v: %q", len(got), maxEventMessage, utf8.ValidString(got), got)
			}
			if tt.wantFull != "" && got != tt.wantFull {
				t.Errorf("eventMessage = %q, want %q", got, tt.wantFull)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("eventMessage = %q, want %q in it", got, w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("eventMessage = %q, want no %q in it", got, w)
				}
			}
		})
	}
}
