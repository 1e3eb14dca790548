package identity

import (
	"fmt"
	"regexp"
	"strings"
)

// RoleARN is a parsed IAM role ARN: arn:<partition>:iam::<account>:role/<path/><name>.
type RoleARN struct {
	Partition string
	AccountID string
	Path      string // "/" or "/a/b/"
	Name      string
}

// Partitions that have IAM roles: the commercial, China and GovCloud ones, and the isolated
// (ISO) ones.
var partitions = map[string]bool{
	"aws": true, "aws-cn": true, "aws-us-gov": true,
	"aws-iso": true, "aws-iso-b": true, "aws-iso-e": true, "aws-iso-f": true, "aws-eusc": true,
}

var (
	accountRE  = regexp.MustCompile(`^[0-9]{12}$`)
	roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	// IAM path elements: printable ASCII without '/', per IAM's path grammar.
	pathElemRE = regexp.MustCompile(`^[\x21-\x2e\x30-\x7e]+$`)
)

// ParseRoleARN parses and validates an IAM role ARN, with an error that says which part is
// wrong and what it should look like.
func ParseRoleARN(s string) (RoleARN, error) {
	const form = "arn:aws:iam::123456789012:role/NAME"
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return RoleARN{}, fmt.Errorf("role ARN %q is not an ARN: expected the form %s", s, form)
	}
	partition, service, region, account, resource := parts[1], parts[2], parts[3], parts[4], parts[5]
	if !partitions[partition] {
		return RoleARN{}, fmt.Errorf("role ARN %q has unknown partition %q: expected aws, aws-cn, aws-us-gov or an isolated partition", s, partition)
	}
	if service != "iam" {
		return RoleARN{}, fmt.Errorf("role ARN %q names service %q: an IAM role ARN has service iam (%s)", s, service, form)
	}
	if region != "" {
		return RoleARN{}, fmt.Errorf("role ARN %q has region %q: IAM is global, the region field must be empty (%s)", s, region, form)
	}
	if !ValidAccountID(account) {
		return RoleARN{}, fmt.Errorf("role ARN %q has account %q: expected 12 digits", s, account)
	}
	rest, ok := strings.CutPrefix(resource, "role/")
	if !ok {
		return RoleARN{}, fmt.Errorf("role ARN %q names %q, not a role: expected role/NAME or role/PATH/NAME", s, resource)
	}
	if len(resource) > 512 {
		return RoleARN{}, fmt.Errorf("role ARN %q is too long: a role's path and name are at most 512 characters", s)
	}
	elems := strings.Split(rest, "/")
	name := elems[len(elems)-1]
	if !roleNameRE.MatchString(name) {
		return RoleARN{}, fmt.Errorf("role ARN %q has role name %q: 1 to 64 letters, digits or +=,.@_-", s, name)
	}
	for _, e := range elems[:len(elems)-1] {
		if !pathElemRE.MatchString(e) {
			return RoleARN{}, fmt.Errorf("role ARN %q has an invalid path %q: path elements are non-empty printable ASCII", s, strings.Join(elems[:len(elems)-1], "/"))
		}
	}
	path := "/"
	if len(elems) > 1 {
		path = "/" + strings.Join(elems[:len(elems)-1], "/") + "/"
	}
	return RoleARN{Partition: partition, AccountID: account, Path: path, Name: name}, nil
}

// String renders the ARN.
func (a RoleARN) String() string {
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", a.Partition, a.AccountID, a.Path, a.Name)
}

// ValidAccountID reports whether s is an AWS account ID: 12 digits, as in a role ARN.
func ValidAccountID(s string) bool { return accountRE.MatchString(s) }

// ForeignRoleARN reports whether s has the shape of a role ARN outside AWS's partitions, as an
// STS-compatible service names its roles; ParseForeignRoleARN says more.
func ForeignRoleARN(s string) bool {
	_, ok := ParseForeignRoleARN(s)
	return ok
}

// ParseForeignRoleARN parses a role ARN outside AWS's partitions, arn:P:iam:...:role/NAME with
// no space, as an STS-compatible service names its roles (MinIO: arn:minio:iam:::role/ID): the
// account may be empty, and no AWS rule binds the name. ParseRoleARN does not take those; ok is
// false for anything else.
func ParseForeignRoleARN(s string) (RoleARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || strings.HasPrefix(parts[1], "aws") || parts[2] != "iam" || strings.ContainsAny(s, " \t\n") {
		return RoleARN{}, false
	}
	rest, ok := strings.CutPrefix(parts[5], "role/")
	if !ok || rest == "" || strings.HasSuffix(rest, "/") {
		return RoleARN{}, false
	}
	path, name := "/", rest
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		path, name = "/"+rest[:i+1], rest[i+1:]
	}
	return RoleARN{Partition: parts[1], AccountID: parts[4], Path: path, Name: name}, true
}

// AssumedRoleARN is the caller ARN of a role's session, as STS's GetCallerIdentity names it:
// arn:<partition>:sts::<account>:assumed-role/<role name>/<session>.
type AssumedRoleARN struct {
	Partition string
	AccountID string
	Role      string // the role's name, without its path
	Session   string
}

// ParseAssumedRoleARN parses a session's caller ARN, with the partitions, account IDs and role
// names of ParseRoleARN; ok is false for anything else (a user, a root, a federated caller).
func ParseAssumedRoleARN(s string) (AssumedRoleARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !partitions[parts[1]] || parts[2] != "sts" || parts[3] != "" || !ValidAccountID(parts[4]) {
		return AssumedRoleARN{}, false
	}
	rest, ok := strings.CutPrefix(parts[5], "assumed-role/")
	if !ok {
		return AssumedRoleARN{}, false
	}
	role, session, ok := strings.Cut(rest, "/")
	if !ok || !roleNameRE.MatchString(role) || session == "" {
		return AssumedRoleARN{}, false
	}
	return AssumedRoleARN{Partition: parts[1], AccountID: parts[4], Role: role, Session: session}, true
}

// SessionOf reports whether the session is of the role: the same partition, account and name
// (a session's ARN carries no path).
func (a AssumedRoleARN) SessionOf(role RoleARN) bool {
	return a.Partition == role.Partition && a.AccountID == role.AccountID && a.Role == role.Name
}
