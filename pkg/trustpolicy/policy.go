// Package trustpolicy builds the IAM role trust policies workload identity needs: the IRSA one,
// which trusts the cluster's OIDC issuer for one service account (or one namespace), and the
// EKS Pod Identity one; and it evaluates any trust policy the way IAM does (Document.Evaluate),
// says which statement and condition refuse a request and why, and corrects the policy
// (Diagnose). It is pure: no cluster, no AWS. The generated types marshal to the JSON IAM
// expects, with a stable key order.
package trustpolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// Fixed parts of the policies.
const (
	// PolicyVersion is the IAM policy language version.
	PolicyVersion = "2012-10-17"
	// ActionWebIdentity is what an IRSA pod's SDK calls with its projected token.
	ActionWebIdentity = "sts:AssumeRoleWithWebIdentity"
	// ActionAssumeRole and ActionTagSession are what the EKS Auth service calls for Pod Identity.
	ActionAssumeRole = "sts:AssumeRole"
	ActionTagSession = "sts:TagSession"
	// PodIdentityService is the service principal of EKS Pod Identity, the name its tokens
	// carry as audience too.
	PodIdentityService = identity.PodIdentityAudience
	// PodIdentitySid is the statement id AWS's own documentation uses for that policy.
	PodIdentitySid = "AllowEksAuthToAssumeRoleForPodIdentity"
)

// Policy is an IAM policy document. Fields are in the order IAM documents them.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a trust policy.
type Statement struct {
	Sid       string     `json:"Sid,omitempty"`
	Effect    string     `json:"Effect"`
	Principal Principal  `json:"Principal"`
	Action    Actions    `json:"Action"`
	Condition *Condition `json:"Condition,omitempty"`
}

// Principal is who may assume the role: an OIDC provider (Federated) or an AWS service.
type Principal struct {
	Federated string `json:"Federated,omitempty"`
	Service   string `json:"Service,omitempty"`
}

// Actions is a statement's Action: one action marshals as a string, several as a list, as in
// AWS's documentation.
type Actions []string

// MarshalJSON writes one action as a string and several as a list.
func (a Actions) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a string or a list.
func (a *Actions) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Actions{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("action is neither a string nor a list of strings: %w", err)
	}
	*a = many
	return nil
}

// Condition holds the condition operators generated here. A wildcard value only ever goes
// into StringLike: in StringEquals a "*" is a literal character and would match nothing.
type Condition struct {
	StringEquals Block `json:"StringEquals,omitempty"`
	StringLike   Block `json:"StringLike,omitempty"`
}

// Block is the key/value map of one condition operator, kept in insertion order so the JSON
// is stable and reads aud before sub.
type Block []Entry

// Entry is one condition key and the value it must have.
type Entry struct {
	Key   string
	Value string
}

// MarshalJSON writes the block as a JSON object in order.
func (b Block) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, e := range b {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := marshalNoEscape(e.Key)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoEscape(e.Value)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads a JSON object of string values. Key order is not kept.
func (b *Block) UnmarshalJSON(data []byte) error {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("condition block: %w", err)
	}
	*b = (*b)[:0]
	for k, v := range m {
		*b = append(*b, Entry{Key: k, Value: v})
	}
	return nil
}

// Get returns the value of key and whether the block has it.
func (b Block) Get(key string) (string, bool) {
	for _, e := range b {
		if e.Key == key {
			return e.Value, true
		}
	}
	return "", false
}

func marshalNoEscape(s string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// JSON renders the policy indented by two spaces, with a final newline, without HTML escaping.
func (p Policy) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("failed to render the trust policy: %w", err)
	}
	return buf.Bytes(), nil
}

// Subject is the sub claim of a service account's projected token.
func Subject(namespace, serviceAccount string) string {
	return "system:serviceaccount:" + namespace + ":" + serviceAccount
}

// ErrIssuerNotHTTPS is returned by ProviderHostPath for an issuer IAM cannot register.
var ErrIssuerNotHTTPS = errors.New("is not an https URL")

// ProviderHostPath validates an OIDC issuer URL as IAM accepts it for an OIDC provider
// (https, a host, no query or fragment) and returns it without the scheme and trailing slash:
// the part that follows "oidc-provider/" in the provider ARN and prefixes the condition keys.
func ProviderHostPath(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return "", fmt.Errorf("issuer %q is not a URL: %w", issuer, err)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("issuer %q %w: IAM only registers https OIDC providers", issuer, ErrIssuerNotHTTPS)
	}
	if u.Host == "" {
		return "", fmt.Errorf("issuer %q has no host", issuer)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("issuer %q has user info, a query or a fragment: an OIDC issuer is https://HOST[/PATH]", issuer)
	}
	return strings.TrimSuffix(u.Host+u.EscapedPath(), "/"), nil
}

// ProviderARN is the ARN of the IAM OIDC provider for an issuer host/path.
func ProviderARN(partition, accountID, hostPath string) string {
	return "arn:" + partition + ":iam::" + accountID + ":oidc-provider/" + hostPath
}

// IRSA describes the trust policy of a role assumed with a service account's projected token.
type IRSA struct {
	Partition string
	AccountID string
	Issuer    string // https URL, as in the token's iss claim
	Audience  string // the token's audience the role accepts
	Namespace string
	// ServiceAccount is the one account admitted; ignored when NamespaceWide.
	ServiceAccount string
	// NamespaceWide admits every service account of Namespace (StringLike on sub).
	NamespaceWide bool
}

// ForIRSA builds the policy. The audience is always matched exactly (StringEquals); the
// subject exactly for one service account, and with StringLike for a whole namespace.
func ForIRSA(in IRSA) (Policy, error) {
	switch {
	case in.Partition == "" || in.AccountID == "":
		return Policy{}, errors.New("a trust policy needs the partition and account of the OIDC provider")
	case in.Audience == "":
		return Policy{}, errors.New("a trust policy needs the token audience")
	case in.Namespace == "":
		return Policy{}, errors.New("a trust policy needs the namespace")
	case !in.NamespaceWide && in.ServiceAccount == "":
		return Policy{}, errors.New("a trust policy needs the service account, or namespace-wide")
	case strings.ContainsAny(in.Namespace+in.ServiceAccount, "*?"):
		return Policy{}, errors.New("namespace and service account names cannot hold wildcards; use namespace-wide")
	}
	hp, err := ProviderHostPath(in.Issuer)
	if err != nil {
		return Policy{}, err
	}
	cond := &Condition{StringEquals: Block{{Key: hp + ":aud", Value: in.Audience}}}
	if in.NamespaceWide {
		cond.StringLike = Block{{Key: hp + ":sub", Value: Subject(in.Namespace, "*")}}
	} else {
		cond.StringEquals = append(cond.StringEquals, Entry{Key: hp + ":sub", Value: Subject(in.Namespace, in.ServiceAccount)})
	}
	return Policy{
		Version: PolicyVersion,
		Statement: []Statement{{
			Effect:    "Allow",
			Principal: Principal{Federated: ProviderARN(in.Partition, in.AccountID, hp)},
			Action:    Actions{ActionWebIdentity},
			Condition: cond,
		}},
	}, nil
}

// ForPodIdentity builds the EKS Pod Identity trust policy. It names no cluster, namespace or
// service account: the pod identity association does.
func ForPodIdentity() Policy {
	return Policy{
		Version: PolicyVersion,
		Statement: []Statement{{
			Sid:       PodIdentitySid,
			Effect:    "Allow",
			Principal: Principal{Service: PodIdentityService},
			Action:    Actions{ActionAssumeRole, ActionTagSession},
		}},
	}
}

// WebIdentityRequest is what AssumeRoleWithWebIdentity presents to a trust policy.
type WebIdentityRequest struct {
	ProviderARN string // the OIDC provider the token's issuer is registered as
	HostPath    string // the issuer without scheme: the prefix of the condition keys
	Subject     string
	Audience    string
}

// Request is the request context AssumeRoleWithWebIdentity presents to a trust policy: the
// provider as Federated principal, and the token's sub and aud under the issuer's keys.
func (r WebIdentityRequest) Request() Request {
	return Request{
		Action: ActionWebIdentity,
		Caller: Caller{Type: "Federated", ID: r.ProviderARN},
		Keys:   map[string][]string{r.HostPath + ":sub": {r.Subject}, r.HostPath + ":aud": {r.Audience}},
	}
}

// Allows evaluates the policy for an AssumeRoleWithWebIdentity request with the project's one
// evaluator (Document.Evaluate). A policy IAM would not store admits nothing.
func (p Policy) Allows(req WebIdentityRequest) bool {
	b, err := json.Marshal(p)
	if err != nil {
		return false
	}
	doc, err := ParseDocument(string(b))
	if err != nil {
		return false
	}
	return doc.Evaluate(req.Request()).Decision == Allowed
}

// Glob matches s against an IAM StringLike pattern: "*" matches any run of characters and
// "?" any one character; everything else matches itself. Characters are runes; a pattern or a
// string that is not valid UTF-8 is matched byte by byte, so that two different invalid bytes
// never compare equal.
func Glob(pattern, s string) bool {
	if utf8.ValidString(pattern) && utf8.ValidString(s) {
		return glob([]rune(pattern), []rune(s))
	}
	return glob([]byte(pattern), []byte(s))
}

// glob is iterative wildcard matching with backtracking to the last '*'.
func glob[T rune | byte](p, s []T) bool {
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
