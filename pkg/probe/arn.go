package probe

import (
	"regexp"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// instanceIDRe is an EC2 instance ID, the session name of an instance profile's role.
var instanceIDRe = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)

// looksLikeNodeRole reports whether an assumed-role session is an EC2 instance's: the SDK fell
// back to the node's instance profile.
func looksLikeNodeRole(a identity.AssumedRoleARN) bool { return instanceIDRe.MatchString(a.Session) }

// serviceAccountFromSubject splits system:serviceaccount:NS:SA; ok is false otherwise.
func serviceAccountFromSubject(sub string) (ns, name string, ok bool) {
	rest, found := strings.CutPrefix(sub, "system:serviceaccount:")
	if !found {
		return "", "", false
	}
	ns, name, found = strings.Cut(rest, ":")
	if !found || ns == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return ns, name, true
}

// issuerHostPath is an issuer URL without its scheme, as IAM names OIDC providers and trust
// policy condition keys.
func issuerHostPath(issuer string) string {
	s := strings.TrimPrefix(issuer, "https://")
	return strings.TrimSuffix(s, "/")
}
