package trustpolicy

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// This file is the project's one trust-policy evaluator. It follows IAM's documented
// evaluation rules (IAM User Guide: "Policy evaluation logic", "Condition operators",
// "Multivalued context keys"):
//
//   - an explicit Deny wins over any Allow; without a matching Allow the request is denied
//     implicitly;
//   - a statement applies when its Principal (or NotPrincipal), Action (or NotAction) and every
//     condition clause match; clauses of one operator, and the operators, are ANDed, the values
//     of one key ORed (for a negated operator: the request value must match none of them);
//   - a key absent from the request makes a clause false, except a negated operator (true),
//     ...IfExists (true), Null, and ForAllValues (true) / ForAnyValue (false);
//   - wildcards (* and ?) match only in StringLike, StringNotLike, ArnLike and ArnNotLike, and,
//     as IAM documents it, in each of the six parts of an ARN for ArnEquals and ArnNotEquals;
//     anywhere else a * is a literal character;
//   - condition keys are case-insensitive, values are compared as the operator says;
//   - a Principal value is matched whole: a wildcard is only "*" on its own.
//
// What a request carries is given by the caller; a key the caller cannot know (a pod's name, a
// source IP) is listed as unknown, and a clause on it makes the verdict Unknown rather than a
// guess.

// Tri is a truth value that may be unknown.
type Tri int8

// Truth values.
const (
	False Tri = iota
	True
	Unknown
)

func (t Tri) String() string {
	switch t {
	case True:
		return "true"
	case False:
		return "false"
	case Unknown:
	}
	return "unknown"
}

func tri(b bool) Tri {
	if b {
		return True
	}
	return False
}

func and(a, b Tri) Tri {
	switch {
	case a == False || b == False:
		return False
	case a == Unknown || b == Unknown:
		return Unknown
	}
	return True
}

func not(t Tri) Tri {
	switch t {
	case True:
		return False
	case False:
		return True
	case Unknown:
	}
	return Unknown
}

// Caller is who makes the request, as a trust policy's Principal names it.
type Caller struct {
	// Type is AWS, Federated or Service.
	Type string
	// ID is the principal: a role ARN (AWS), an OIDC provider ARN (Federated), a service
	// principal (Service).
	ID string
	// Account is the AWS account of an AWS principal, which "ACCOUNT" and
	// "arn:PARTITION:iam::ACCOUNT:root" name.
	Account string
}

// Request is one request as a trust policy sees it.
type Request struct {
	Action string
	Caller Caller
	// Keys are the condition keys the request carries, with their values. Lookups ignore case.
	Keys map[string][]string
	// Unknown lists keys the request may carry with values the caller cannot know.
	Unknown []string
}

func (r Request) lookup(key string) (vals []string, present bool, unknown bool) {
	for _, u := range r.Unknown {
		if strings.EqualFold(u, key) {
			return nil, false, true
		}
	}
	for k, v := range r.Keys {
		if strings.EqualFold(k, key) {
			return v, len(v) > 0, false
		}
	}
	return nil, false, false
}

// Decision is the verdict on a request.
type Decision string

// Decisions.
const (
	Allowed      Decision = "allowed"
	ExplicitDeny Decision = "explicit-deny" // a Deny statement applies
	ImplicitDeny Decision = "implicit-deny" // no Allow statement applies
	Undecided    Decision = "undecided"     // it depends on a key the caller cannot know
)

// Result is a Decision with the reasons, statement by statement.
type Result struct {
	Decision   Decision
	Statements []StmtResult
}

// StmtResult is how one statement judged the request.
type StmtResult struct {
	Index     int
	Principal Tri
	Action    Tri
	Clauses   []ClauseResult
	// Applies is the AND of Principal, Action and the clauses.
	Applies Tri
}

// ClauseResult is one condition clause's verdict and why.
type ClauseResult struct {
	Clause  Clause
	Result  Tri
	Present bool // the request carries the key
	Reason  string
}

// Evaluate judges req against the document.
func (d *Document) Evaluate(req Request) Result {
	res := Result{Decision: ImplicitDeny}
	allow, deny := False, False
	for i, st := range d.Statements {
		sr := st.evaluate(i, req)
		res.Statements = append(res.Statements, sr)
		switch {
		case st.Effect == "Deny" && sr.Applies != False:
			deny = or(deny, sr.Applies)
		case st.Effect == "Allow" && sr.Applies != False:
			allow = or(allow, sr.Applies)
		}
	}
	switch {
	case deny == True:
		res.Decision = ExplicitDeny
	case deny == Unknown && allow != False:
		res.Decision = Undecided
	case allow == True:
		res.Decision = Allowed
	case allow == Unknown:
		res.Decision = Undecided
	}
	return res
}

func or(a, b Tri) Tri {
	switch {
	case a == True || b == True:
		return True
	case a == Unknown || b == Unknown:
		return Unknown
	}
	return False
}

func (st Stmt) evaluate(i int, req Request) StmtResult {
	sr := StmtResult{Index: i}
	switch {
	case st.Principal != nil:
		sr.Principal = st.Principal.matches(req.Caller)
	case st.NotPrincipal != nil:
		sr.Principal = not(st.NotPrincipal.matches(req.Caller))
	}
	sr.Action = actionMatches(st.Action.Items, req.Action)
	if st.NotAction {
		sr.Action = not(sr.Action)
	}
	sr.Applies = and(sr.Principal, sr.Action)
	for _, c := range st.Conditions {
		cr := c.evaluate(req)
		sr.Clauses = append(sr.Clauses, cr)
		sr.Applies = and(sr.Applies, cr.Result)
	}
	return sr
}

func (p *Principals) matches(c Caller) Tri {
	if p.Any {
		return True
	}
	for _, e := range p.Entries {
		for _, v := range e.Values.Items {
			if principalValueMatches(e.Type, v, c) {
				return True
			}
		}
	}
	return False
}

// principalValueMatches: "*" of a type matches any caller (IAM documents {"AWS": "*"} as
// "*"); an AWS account ("ACCOUNT" or its root ARN) matches every principal of it; anything
// else must equal the caller's principal.
func principalValueMatches(typ, v string, c Caller) bool {
	if v == "*" {
		return typ == "AWS" || typ == c.Type
	}
	if typ != c.Type {
		return false
	}
	if typ == "AWS" && c.Account != "" {
		if v == c.Account {
			return true
		}
		if parts := strings.Split(v, ":"); len(parts) == 6 && parts[2] == "iam" && parts[4] == c.Account && parts[5] == "root" {
			return true
		}
	}
	if typ == "Service" {
		return strings.EqualFold(v, c.ID)
	}
	return v == c.ID
}

// actionMatches: actions are case-insensitive and may hold wildcards.
func actionMatches(patterns []string, action string) Tri {
	for _, p := range patterns {
		if Glob(strings.ToLower(p), strings.ToLower(action)) {
			return True
		}
	}
	return False
}

// Operator is a parsed condition operator.
type Operator struct {
	Base      string // StringEquals, Null, ...
	IfExists  bool
	ForAny    bool // ForAnyValue:
	ForAll    bool // ForAllValues:
	negated   bool
	wildcards bool
}

// operators lists every base operator IAM documents, with whether it is negated and whether
// its values may hold wildcards.
var operators = map[string]struct{ negated, wildcards bool }{
	"StringEquals": {}, "StringNotEquals": {negated: true},
	"StringEqualsIgnoreCase": {}, "StringNotEqualsIgnoreCase": {negated: true},
	"StringLike": {wildcards: true}, "StringNotLike": {negated: true, wildcards: true},
	"NumericEquals": {}, "NumericNotEquals": {negated: true},
	"NumericLessThan": {}, "NumericLessThanEquals": {}, "NumericGreaterThan": {}, "NumericGreaterThanEquals": {},
	"DateEquals": {}, "DateNotEquals": {negated: true},
	"DateLessThan": {}, "DateLessThanEquals": {}, "DateGreaterThan": {}, "DateGreaterThanEquals": {},
	"Bool": {}, "BinaryEquals": {},
	"IpAddress": {}, "NotIpAddress": {negated: true},
	"ArnEquals": {wildcards: true}, "ArnLike": {wildcards: true},
	"ArnNotEquals": {negated: true, wildcards: true}, "ArnNotLike": {negated: true, wildcards: true},
	"Null": {},
}

// ParseOperator reads "ForAnyValue:StringLikeIfExists" and the like.
func ParseOperator(s string) (Operator, error) { return parseOperator(s) }

func parseOperator(s string) (Operator, error) {
	var op Operator
	rest := s
	switch {
	case strings.HasPrefix(rest, "ForAnyValue:"):
		op.ForAny, rest = true, strings.TrimPrefix(rest, "ForAnyValue:")
	case strings.HasPrefix(rest, "ForAllValues:"):
		op.ForAll, rest = true, strings.TrimPrefix(rest, "ForAllValues:")
	}
	if base, ok := strings.CutSuffix(rest, "IfExists"); ok && base != "Null" {
		op.IfExists, rest = true, base
	}
	info, ok := operators[rest]
	if !ok {
		return op, fmt.Errorf("unknown condition operator %q", s)
	}
	op.Base, op.negated, op.wildcards = rest, info.negated, info.wildcards
	return op, nil
}

// Negated is true for the operators that require no match (StringNotEquals, ...).
func (o Operator) Negated() bool { return o.negated }

// Wildcards is true for the operators whose values may hold * and ?.
func (o Operator) Wildcards() bool { return o.wildcards }

func (c Clause) evaluate(req Request) ClauseResult {
	cr := ClauseResult{Clause: c}
	op, err := parseOperator(c.Operator)
	if err != nil {
		cr.Result, cr.Reason = False, err.Error()
		return cr
	}
	vals, present, unknown := req.lookup(c.Key)
	cr.Present = present
	if unknown {
		cr.Result, cr.Reason = Unknown, fmt.Sprintf("%s is a key whose value cannot be known here", c.Key)
		return cr
	}
	condVals, substUnknown := substitute(c.Values.Items, req)
	if substUnknown {
		cr.Result, cr.Reason = Unknown, "a policy variable in the value cannot be resolved here"
		return cr
	}
	if op.Base == "Null" {
		// Null: "true" asks for the key to be absent, "false" for it to be present.
		for _, v := range condVals {
			if b, err := strconv.ParseBool(v); err == nil && b == !present {
				cr.Result, cr.Reason = True, nullReason(c.Key, present)
				return cr
			}
		}
		cr.Result, cr.Reason = False, nullReason(c.Key, present)
		return cr
	}
	if !present {
		switch {
		case op.IfExists:
			cr.Result, cr.Reason = True, "the request does not carry "+c.Key+", and IfExists makes that a match"
		case op.ForAll:
			cr.Result, cr.Reason = True, "the request carries no value of "+c.Key+", and ForAllValues holds for no values"
		case op.ForAny:
			cr.Result, cr.Reason = False, "the request carries no value of "+c.Key+", and ForAnyValue needs one"
		case op.negated:
			cr.Result, cr.Reason = True, "the request does not carry "+c.Key+", which a negated operator counts as a match"
		default:
			cr.Result, cr.Reason = False, "the request does not carry the key "+c.Key
		}
		return cr
	}
	// One request value matches when it compares to any of the policy's values (a negated
	// operator: to none of them).
	one := func(r string) bool {
		hit := false
		for _, v := range condVals {
			if compare(op.Base, r, v) {
				hit = true
				break
			}
		}
		return hit != op.negated
	}
	var ok bool
	switch {
	case op.ForAll:
		ok = true
		for _, r := range vals {
			ok = ok && one(r)
		}
	case op.negated && !op.ForAny:
		// Without a set operator a negated operator holds when no request value matches.
		ok = true
		for _, r := range vals {
			ok = ok && one(r)
		}
	default:
		for _, r := range vals {
			ok = ok || one(r)
		}
	}
	cr.Result = tri(ok)
	verb := "matches"
	if !ok {
		verb = "does not match"
	}
	cr.Reason = fmt.Sprintf("the request's %s %s %s", c.Key, quoteList(vals), verb)
	return cr
}

func nullReason(key string, present bool) string {
	if present {
		return "the request carries " + key
	}
	return "the request does not carry " + key
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// substitute resolves policy variables (${key}, and the escapes ${*} ${?} ${$}) from the
// request; unknown is true when a variable names a key the request does not carry.
func substitute(vals []string, req Request) (out []string, unknown bool) {
	out = make([]string, len(vals))
	for i, v := range vals {
		if !strings.Contains(v, "${") {
			out[i] = v
			continue
		}
		var b strings.Builder
		for {
			start := strings.Index(v, "${")
			if start < 0 {
				b.WriteString(v)
				break
			}
			end := strings.Index(v[start:], "}")
			if end < 0 {
				b.WriteString(v)
				break
			}
			b.WriteString(v[:start])
			name := v[start+2 : start+end]
			switch name {
			case "*", "?", "$":
				// An escaped character: a literal * or ? is matched literally by
				// StringLike only through these, which Glob cannot tell apart; keep it.
				b.WriteString(name)
			default:
				got, present, unk := req.lookup(name)
				if unk || !present || len(got) != 1 {
					return nil, true
				}
				b.WriteString(got[0])
			}
			v = v[start+end+1:]
		}
		out[i] = b.String()
	}
	return out, false
}

// compare applies a positive base operator to one request value r and one policy value v.
func compare(base, r, v string) bool {
	switch base {
	case "StringEquals", "StringNotEquals":
		return r == v
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		return strings.EqualFold(r, v)
	case "StringLike", "StringNotLike":
		return Glob(v, r)
	case "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		a, ok1 := new(big.Float).SetString(r)
		b, ok2 := new(big.Float).SetString(v)
		if !ok1 || !ok2 {
			return false
		}
		return ordered(base, a.Cmp(b))
	case "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals":
		a, ok1 := parseDate(r)
		b, ok2 := parseDate(v)
		if !ok1 || !ok2 {
			return false
		}
		return ordered(base, a.Compare(b))
	case "Bool":
		a, err1 := strconv.ParseBool(strings.ToLower(r))
		b, err2 := strconv.ParseBool(strings.ToLower(v))
		return err1 == nil && err2 == nil && a == b
	case "BinaryEquals":
		a, err1 := base64.StdEncoding.DecodeString(r)
		b, err2 := base64.StdEncoding.DecodeString(v)
		return err1 == nil && err2 == nil && string(a) == string(b)
	case "IpAddress", "NotIpAddress":
		ip, err := netip.ParseAddr(r)
		if err != nil {
			return false
		}
		if pfx, err := netip.ParsePrefix(v); err == nil {
			return pfx.Contains(ip)
		}
		a, err := netip.ParseAddr(v)
		return err == nil && a == ip
	case "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike":
		rp, vp := strings.SplitN(r, ":", 6), strings.SplitN(v, ":", 6)
		if len(rp) != 6 || len(vp) != 6 {
			return false
		}
		for i := range rp {
			if !Glob(vp[i], rp[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// ordered reads a comparison result for the Equals/LessThan/GreaterThan family.
func ordered(base string, cmp int) bool {
	switch {
	case strings.HasSuffix(base, "NotEquals"):
		return cmp == 0 // negated by the caller
	case strings.HasSuffix(base, "LessThanEquals"):
		return cmp <= 0
	case strings.HasSuffix(base, "LessThan"):
		return cmp < 0
	case strings.HasSuffix(base, "GreaterThanEquals"):
		return cmp >= 0
	case strings.HasSuffix(base, "GreaterThan"):
		return cmp > 0
	}
	return cmp == 0
}

// parseDate reads the date forms IAM takes: ISO 8601 (with or without time) or epoch seconds.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}
