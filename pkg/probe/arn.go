package probe

import (
	"regexp"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// roleARN is an IAM role ARN: arn:<partition>:iam::<account>:role/<path/name>.
type roleARN struct {
	Partition string
	Account   string
	Name      string // the last path segment: what an assumed-role ARN carries
}

var (
	assumedARNRe = regexp.MustCompile(`^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([\w+=,.@-]{1,64})/(.+)$`)
	instanceIDRe = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
)

// otherRoleARNRe is a role ARN of any partition, as STS-compatible services (MinIO) write
// them: arn:minio:iam:::role/ID. The account may be empty.
var otherRoleARNRe = regexp.MustCompile(`^arn:([a-z0-9-]+):iam::([0-9]*):role/(?:[\x21-\x7e]+/)?([\w+=,.@-]{1,128})$`)

// parseOtherRoleARN parses a role ARN of any partition; ok is false when s is not one.
func parseOtherRoleARN(s string) (roleARN, bool) {
	m := otherRoleARNRe.FindStringSubmatch(s)
	if m == nil {
		return roleARN{}, false
	}
	return roleARN{Partition: m[1], Account: m[2], Name: m[3]}, true
}

// parseRoleARN parses an IAM role ARN with the project's one grammar; ok is false when s is
// not one.
func parseRoleARN(s string) (roleARN, bool) {
	r, err := identity.ParseRoleARN(s)
	if err != nil {
		return roleARN{}, false
	}
	return roleARN{Partition: r.Partition, Account: r.AccountID, Name: r.Name}, true
}

// assumedRoleARN is the caller ARN of an assumed role:
// arn:<partition>:sts::<account>:assumed-role/<role name>/<session>.
type assumedRoleARN struct {
	Partition string
	Account   string
	Role      string
	Session   string
}

func parseAssumedRoleARN(s string) (assumedRoleARN, bool) {
	m := assumedARNRe.FindStringSubmatch(s)
	if m == nil {
		return assumedRoleARN{}, false
	}
	return assumedRoleARN{Partition: m[1], Account: m[2], Role: m[3], Session: m[4]}, true
}

// looksLikeNodeRole reports whether an assumed-role session is an EC2 instance's: the SDK fell
// back to the node's instance profile.
func (a assumedRoleARN) looksLikeNodeRole() bool { return instanceIDRe.MatchString(a.Session) }

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
