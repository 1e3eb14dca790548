package shell

import "testing"

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"sts.amazonaws.com":               "sts.amazonaws.com",
		"https://a.example.com/id/X":      "https://a.example.com/id/X",
		"arn:aws:iam::1:role/a/b":         "arn:aws:iam::1:role/a/b",
		"has space":                       "'has space'",
		"it's":                            `'it'\''s'`,
		"$(rm -rf /)":                     "'$(rm -rf /)'",
		"api://AzureADTokenExchange?x=1&": "'api://AzureADTokenExchange?x=1&'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
