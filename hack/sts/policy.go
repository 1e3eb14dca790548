package sts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Policy is a parsed IAM trust policy. Only what web identity and Pod Identity trust policies
// use is supported: Effect Allow/Deny, Principal (Federated, Service, AWS, or "*"), Action, and
// Condition with
// the String operators (StringEquals, StringNotEquals, StringEqualsIgnoreCase,
// StringNotEqualsIgnoreCase, StringLike, StringNotLike), each optionally with an IfExists
// suffix and a ForAnyValue: or ForAllValues: prefix. Anything else is refused when the
// policy is parsed rather than evaluated wrongly.
type Policy struct {
	Statements []Statement
}

// Statement is one statement of a Policy.
type Statement struct {
	Sid    string
	Effect string
	// Principals maps a principal type ("Federated", "AWS", "Service") to its values. It is
	// nil when the principal is "*".
	Principals map[string][]string
	// AnyPrincipal is set when the principal is "*".
	AnyPrincipal bool
	Actions      []string
	Conditions   []Condition
}

// Condition is one operator/key pair of a statement's Condition block: the request's
// values for Key must satisfy Operator against Values.
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

// RequestContext is what a trust policy is evaluated against.
type RequestContext struct {
	// Action is the API action, e.g. "sts:AssumeRoleWithWebIdentity".
	Action string
	// Federated is the ARN of the OIDC provider the token came from.
	Federated string
	// Service is the service principal that asks, e.g. "pods.eks.amazonaws.com".
	Service string
	// AWS are the names the asking AWS principal goes by: a role's ARN, its account's root ARN
	// and the bare account id (IAM writes "111122223333" as the root ARN).
	AWS []string
	// Keys holds the condition keys of the request (e.g. "127.0.0.1:6443:sub"); keys are
	// matched case-insensitively, as IAM does.
	Keys map[string][]string
}

// rawStatement is the JSON shape of a statement.
type rawStatement struct {
	Sid       string                           `json:"Sid,omitempty"`
	Effect    string                           `json:"Effect"`
	Principal json.RawMessage                  `json:"Principal"`
	Action    stringList                       `json:"Action"`
	Condition map[string]map[string]stringList `json:"Condition,omitempty"`
}

// stringList is an IAM value that is a string or a list of strings (numbers and booleans
// are taken as their text, as IAM does).
type stringList []string

// UnmarshalJSON accepts a scalar or a list of scalars.
func (s *stringList) UnmarshalJSON(b []byte) error {
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	one := func(v any) (string, error) {
		switch v := v.(type) {
		case string:
			return v, nil
		case bool:
			return strconv.FormatBool(v), nil
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64), nil
		default:
			return "", fmt.Errorf("value %s is not a string", b)
		}
	}
	switch v := raw.(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			str, err := one(e)
			if err != nil {
				return err
			}
			out = append(out, str)
		}
		*s = out
	default:
		str, err := one(v)
		if err != nil {
			return err
		}
		*s = []string{str}
	}
	return nil
}

// ParsePolicy parses an IAM policy document given as a JSON object or as a JSON string
// holding one.
func ParsePolicy(doc []byte) (*Policy, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || bytes.Equal(doc, []byte("null")) {
		return nil, errors.New("no policy document")
	}
	if doc[0] == '"' {
		var s string
		if err := json.Unmarshal(doc, &s); err != nil {
			return nil, fmt.Errorf("failed to parse policy string: %w", err)
		}
		doc = bytes.TrimSpace([]byte(s))
	}
	var top struct {
		Version   string          `json:"Version,omitempty"`
		ID        string          `json:"Id,omitempty"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := strictUnmarshal(doc, &top); err != nil {
		return nil, fmt.Errorf("failed to parse policy: %w", err)
	}
	var raws []rawStatement
	switch st := bytes.TrimSpace(top.Statement); {
	case len(st) == 0:
		return nil, errors.New("policy has no Statement")
	case st[0] == '[':
		if err := strictUnmarshal(st, &raws); err != nil {
			return nil, fmt.Errorf("failed to parse Statement: %w", err)
		}
	default:
		var one rawStatement
		if err := strictUnmarshal(st, &one); err != nil {
			return nil, fmt.Errorf("failed to parse Statement: %w", err)
		}
		raws = []rawStatement{one}
	}
	p := &Policy{}
	for i, r := range raws {
		st, err := r.parse()
		if err != nil {
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

func (r rawStatement) parse() (Statement, error) {
	st := Statement{Sid: r.Sid, Effect: r.Effect, Actions: r.Action}
	if r.Effect != "Allow" && r.Effect != "Deny" {
		return st, fmt.Errorf("effect %q is neither Allow nor Deny", r.Effect)
	}
	if len(r.Action) == 0 {
		return st, errors.New("no Action")
	}
	pr := bytes.TrimSpace(r.Principal)
	switch {
	case len(pr) == 0:
		return st, errors.New("no Principal (a trust policy needs one)")
	case pr[0] == '"':
		var s string
		if err := json.Unmarshal(pr, &s); err != nil || s != "*" {
			return st, fmt.Errorf("principal %s is neither \"*\" nor an object", pr)
		}
		st.AnyPrincipal = true
	default:
		var m map[string]stringList
		if err := json.Unmarshal(pr, &m); err != nil {
			return st, fmt.Errorf("failed to parse Principal: %w", err)
		}
		st.Principals = map[string][]string{}
		for k, v := range m {
			st.Principals[k] = v
		}
	}
	for op, keys := range r.Condition {
		if _, err := parseOperator(op); err != nil {
			return st, err
		}
		for key, values := range keys {
			st.Conditions = append(st.Conditions, Condition{Operator: op, Key: key, Values: values})
		}
	}
	return st, nil
}

// Allows reports whether the policy allows the request: some Allow statement matches it
// and no Deny statement does.
func (p *Policy) Allows(rc RequestContext) bool {
	allowed := false
	for _, st := range p.Statements {
		if !st.matches(rc) {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = true
	}
	return allowed
}

func (st Statement) matches(rc RequestContext) bool {
	if !st.principalMatches(rc) {
		return false
	}
	actionOK := false
	for _, a := range st.Actions {
		if globMatch(strings.ToLower(a), strings.ToLower(rc.Action)) {
			actionOK = true
			break
		}
	}
	if !actionOK {
		return false
	}
	for _, c := range st.Conditions {
		if !c.holds(rc.Keys) {
			return false
		}
	}
	return true
}

func (st Statement) principalMatches(rc RequestContext) bool {
	if st.AnyPrincipal {
		return true
	}
	for _, v := range st.Principals["Federated"] {
		if rc.Federated != "" && (v == "*" || v == rc.Federated) {
			return true
		}
	}
	for _, v := range st.Principals["Service"] {
		if rc.Service != "" && v == rc.Service {
			return true
		}
	}
	for _, v := range st.Principals["AWS"] {
		for _, name := range rc.AWS {
			if v == "*" || v == name {
				return true
			}
		}
	}
	return false
}

// operator is a parsed condition operator.
type operator struct {
	like       bool // StringLike / StringNotLike: glob
	ignoreCase bool
	negate     bool
	ifExists   bool
	set        string // "", "ForAnyValue", "ForAllValues"
}

func parseOperator(op string) (operator, error) {
	var o operator
	name := op
	if set, rest, ok := strings.Cut(name, ":"); ok {
		if set != "ForAnyValue" && set != "ForAllValues" {
			return o, fmt.Errorf("condition operator %q: unsupported set qualifier", op)
		}
		o.set, name = set, rest
	}
	if n, ok := strings.CutSuffix(name, "IfExists"); ok {
		o.ifExists, name = true, n
	}
	switch name {
	case "StringEquals":
	case "StringNotEquals":
		o.negate = true
	case "StringEqualsIgnoreCase":
		o.ignoreCase = true
	case "StringNotEqualsIgnoreCase":
		o.ignoreCase, o.negate = true, true
	case "StringLike":
		o.like = true
	case "StringNotLike":
		o.like, o.negate = true, true
	default:
		return o, fmt.Errorf("condition operator %q is not supported", op)
	}
	return o, nil
}

// holds evaluates the condition against the request's keys.
func (c Condition) holds(keys map[string][]string) bool {
	o, err := parseOperator(c.Operator)
	if err != nil {
		return false // refused at parse time; never allow on doubt
	}
	var values []string
	present := false
	for k, v := range keys {
		if strings.EqualFold(k, c.Key) {
			values, present = v, true
			break
		}
	}
	if !present || len(values) == 0 {
		// A missing key satisfies only IfExists, ForAllValues and the negated operators.
		return o.ifExists || o.set == "ForAllValues" || o.negate
	}
	matchesOne := func(v string) bool {
		for _, want := range c.Values {
			switch {
			case o.like:
				if globMatch(want, v) {
					return true
				}
			case o.ignoreCase:
				if strings.EqualFold(want, v) {
					return true
				}
			default:
				if want == v {
					return true
				}
			}
		}
		return false
	}
	if o.set == "ForAllValues" {
		for _, v := range values {
			if matchesOne(v) == o.negate {
				return false
			}
		}
		return true
	}
	// Single-valued keys and ForAnyValue: the condition holds if a request value satisfies
	// it; a negated operator holds if no request value matches.
	anyMatch := false
	for _, v := range values {
		if matchesOne(v) {
			anyMatch = true
			break
		}
	}
	return anyMatch != o.negate
}

// globMatch matches s against an IAM wildcard pattern: "*" is any run of characters
// (including none and including "/"), "?" is exactly one character, all else is literal.
func globMatch(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
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
