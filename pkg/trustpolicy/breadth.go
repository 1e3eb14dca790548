package trustpolicy

import (
	"fmt"
	"slices"
	"strings"
)

// This file judges an IRSA trust policy that admits the account for what else it admits: a
// lint over the statements that admit, not a verdict. IAM's rules it relies on (IAM User
// Guide: "Condition operators", "Multivalued context keys", "Available keys for OIDC
// federation") are the evaluator's (eval.go); what matters here:
//
//   - AssumeRoleWithWebIdentity puts only a few claims of the token in the request under the
//     issuer's prefix; for a Kubernetes token those are HOST:aud and HOST:sub, and every token
//     carries both. A key under another prefix (another issuer, the issuer written with
//     https://) or another claim is never in the request.
//   - A clause on a key the request does not carry is false, except ...IfExists, ForAllValues:,
//     a negated operator and Null: true, which then hold. On HOST:sub such a qualifier is
//     harmless, since the key is always there; on a key never carried the clause holds for
//     every token, so it restricts nothing: it is void.
//   - ForAnyValue: and ForAllValues: are for multivalued keys; sub is single-valued, so on it
//     they compare the one value as the plain operator would: not void, but not what they
//     look like (and ForAllValues: would hold for a request without the key).
//   - Keys are case-insensitive: a key written in another case matches.
//
// Who else a statement admits is found by evaluating it for the tokens of other service
// accounts (made-up names in made-up namespaces, and the account's name in other namespaces)
// and of another audience, with the same evaluator; a statement that admits two unrelated
// accounts of unrelated namespaces admits every service account of the cluster.

// Breadth codes: how a trust policy admits more than the account, stable for scripts and tests.
const (
	BreadthNoCondition = "no-condition"  // a Federated statement with no Condition at all
	BreadthNoAudience  = "no-audience"   // no condition that holds the audience to the token's
	BreadthSubject     = "broad-subject" // no :sub condition, or one that admits other namespaces
	BreadthVoidClause  = "void-clause"   // a clause on a key never carried, which holds because of it
	BreadthSetOperator = "set-operator"  // ForAnyValue:/ForAllValues: on the single-valued sub
	BreadthKeyCase     = "key-case"      // a key written in a case other than IAM's form
)

// Finding is one way a statement that admits the account admits more, or says less than it
// seems to.
type Finding struct {
	Code      string `json:"code"`
	Statement int    `json:"statement"`
	Sid       string `json:"sid,omitempty"`
	// Element is the clause at fault, compact JSON, or the statement's Condition (the
	// statement itself when it has none) when a clause is missing.
	Element string `json:"element,omitempty"`
	Message string `json:"message"`
	// Admits says who else the statement admits, in words; "" when it admits no one else.
	Admits string `json:"admits,omitempty"`
	// Tightened is the policy with this finding alone tightened.
	Tightened *Document `json:"-"`
}

// Where names the statement: statement 0 ("Sid").
func (f Finding) Where() string { return where(f.Statement, f.Sid) }

// Breadth is what CheckBreadth found, and the policy with every finding tightened.
type Breadth struct {
	Findings []Finding
	// Tightened admits what e expects and nothing the findings name; nil without findings.
	Tightened *Document
}

// Probes: subjects no cluster is likely to hold, whose letters are not in
// "system:serviceaccount:", so that a pattern which matches both has wildcards over the
// namespace and the name.
const (
	probeNamespace = "zx-90"
	probeName      = "bd-kw"
	probeAudience  = "zx-another-audience"
)

// CheckBreadth looks at every Allow statement of d that admits e's IRSA request (e.HostPath
// set) and says how each admits more than the account. It says nothing of a policy for
// another kind of request.
func CheckBreadth(d *Document, e Expect) Breadth {
	var b Breadth
	if e.HostPath == "" || len(e.Requests) == 0 {
		return b
	}
	c := breadthCheck{d: d, e: e, req: e.Requests[0], subKey: e.HostPath + ":sub", audKey: e.HostPath + ":aud"}
	all := d.Clone()
	for i, st := range d.Statements {
		if st.Effect != "Allow" || st.Principal == nil || !st.Principal.Any && !principalHasType(st.Principal, "Federated") {
			continue
		}
		if st.evaluate(i, c.req).Applies != True {
			continue
		}
		for _, f := range c.statement(i) {
			one := d.Clone()
			f.fix(&one.Statements[i])
			f.fix(&all.Statements[i])
			if dec, _ := one.Judge(e); dec != Allowed {
				c.exact(&one.Statements[i])
			}
			f.Tightened = one
			b.Findings = append(b.Findings, f.Finding)
		}
	}
	if len(b.Findings) == 0 {
		return b
	}
	if dec, _ := all.Judge(e); dec != Allowed || len(CheckBreadth(all, e).Findings) > 0 {
		for _, f := range b.Findings {
			c.exact(&all.Statements[f.Statement])
		}
	}
	b.Tightened = all
	return b
}

type breadthCheck struct {
	d              *Document
	e              Expect
	req            Request
	subKey, audKey string
}

// finding is a Finding with the change that tightens its statement.
type finding struct {
	Finding
	fix func(*Stmt)
}

// appliesTo reports whether statement st admits a token with that sub and aud, and no Deny
// statement of the policy may refuse it.
func (c breadthCheck) appliesTo(i int, st Stmt, sub, aud string) bool {
	r := c.req
	r.Keys = map[string][]string{c.subKey: {sub}, c.audKey: {aud}}
	if st.evaluate(i, r).Applies != True {
		return false
	}
	for j, d := range c.d.Statements {
		if d.Effect == "Deny" && d.evaluate(j, r).Applies != False {
			return false
		}
	}
	return true
}

// otherProvider reports whether key is under the prefix of another provider the statement
// trusts: a clause that restricts that provider's tokens, and is void only for this issuer's.
func (c breadthCheck) otherProvider(st Stmt, key string) bool {
	prefix := key[:strings.LastIndex(key, ":")]
	for _, e := range st.Principal.Entries {
		if e.Type != "Federated" {
			continue
		}
		for _, v := range e.Values.Items {
			if _, hp, ok := strings.Cut(v, ":oidc-provider/"); ok && strings.EqualFold(hp, prefix) && !strings.EqualFold(hp, c.e.HostPath) {
				return true
			}
		}
	}
	return false
}

// others says who else than the account statement st admits by its subject, "" when no one.
func (c breadthCheck) others(i int, st Stmt) string {
	ns, name, _ := splitSubject(c.e.Subject)
	if c.appliesTo(i, st, Subject("q", "q"), c.e.Audience) && c.appliesTo(i, st, Subject(probeNamespace, probeName), c.e.Audience) {
		return "every service account of the cluster"
	}
	otherNamespaces := []string{probeNamespace, ns + "-" + probeNamespace, probeNamespace + "-" + ns}
	for _, ons := range otherNamespaces {
		if c.appliesTo(i, st, Subject(ons, probeName), c.e.Audience) {
			return fmt.Sprintf("service accounts of namespaces other than %s (%s, for one)", ns, Subject(ons, probeName))
		}
	}
	for _, ons := range otherNamespaces {
		if c.appliesTo(i, st, Subject(ons, name), c.e.Audience) {
			return fmt.Sprintf("the service account %s of other namespaces (%s, for one)", name, Subject(ons, name))
		}
	}
	// A pattern may admit only some names elsewhere ("system:serviceaccount:*:web"): each
	// pattern on sub, its wildcards filled in, is a subject it admits.
	for _, cl := range st.Conditions {
		if !c.isSub(cl.Key) {
			continue
		}
		for _, v := range cl.Values.Items {
			if !strings.ContainsAny(v, "*?") {
				continue
			}
			filled := strings.NewReplacer("*", probeNamespace, "?", "q").Replace(v)
			if ons, _, ok := splitSubject(filled); ok && ons != ns && c.appliesTo(i, st, filled, c.e.Audience) {
				return fmt.Sprintf("service accounts of namespaces other than %s (%s, for one)", ns, filled)
			}
		}
	}
	return ""
}

func (c breadthCheck) isSub(k string) bool { return strings.EqualFold(k, c.subKey) }
func (c breadthCheck) isAud(k string) bool { return strings.EqualFold(k, c.audKey) }

// claim is the claim a key names after its last colon, lower case: "sub" of "HOST:sub".
func claim(key string) string {
	return strings.ToLower(key[strings.LastIndex(key, ":")+1:])
}

// providerKey reports whether key is an identity provider's (HOST[/PATH]:claim), not a
// service's own (aws:..., sts:...).
func providerKey(key string) bool {
	i := strings.LastIndex(key, ":")
	return i > 0 && strings.ContainsAny(key[:i], "./")
}

// whyAbsentHolds is why a clause holds on a key the request does not carry.
func whyAbsentHolds(op Operator) string {
	switch {
	case op.Base == "Null":
		return "Null: true asks for the key to be absent"
	case op.IfExists:
		return "...IfExists holds when the key is absent"
	case op.ForAll:
		return "ForAllValues: holds when the key has no values"
	}
	return "a negated operator holds when the key is absent"
}

// statement is the findings of Allow statement i, which admits the account.
func (c breadthCheck) statement(i int) []finding {
	st := c.d.Statements[i]
	var out []finding
	add := func(code, element, msg, admits string, fix func(*Stmt)) {
		out = append(out, finding{Finding: Finding{Code: code, Statement: i, Sid: st.Sid, Element: element, Message: where(i, st.Sid) + ": " + msg, Admits: admits}, fix: fix})
	}
	if len(st.Conditions) == 0 {
		add(BreadthNoCondition, c.d.StatementJSON(i),
			fmt.Sprintf("the statement trusts the OIDC provider with no Condition (missing or empty): neither %s nor %s is held to a value", c.audKey, c.subKey),
			fmt.Sprintf("every service account of the cluster, with a token of any audience the provider lists as a client ID, not only %s", c.e.Audience),
			c.exact)
		return out
	}
	for _, cl := range st.Conditions {
		canon := ""
		switch {
		case c.isSub(cl.Key):
			canon = c.subKey
		case c.isAud(cl.Key):
			canon = c.audKey
		}
		if canon == "" || canon == cl.Key {
			continue
		}
		key := cl.Key
		add(BreadthKeyCase, ClauseJSON(cl),
			fmt.Sprintf("the key %s is written in another case than IAM's %s: IAM matches keys in any case, so it holds, but a review or a tool that looks for %s misses it", key, canon, canon),
			"", func(s *Stmt) { renameKey(s, key, canon) })
	}
	subWho := c.others(i, st)
	audWide := c.appliesTo(i, st, c.e.Subject, probeAudience)
	voidSub, voidAud := false, false
	for _, cl := range st.Conditions {
		if !providerKey(cl.Key) || c.isSub(cl.Key) || c.isAud(cl.Key) || c.otherProvider(st, cl.Key) {
			continue
		}
		cr := cl.evaluate(c.req)
		if cr.Result != True {
			continue
		}
		op, _ := parseOperator(cl.Operator)
		admits := ""
		switch claim(cl.Key) {
		case "sub":
			voidSub, admits = subWho != "", subWho
		case "aud":
			voidAud = audWide
			if audWide {
				admits = c.audienceOthers()
			}
		}
		add(BreadthVoidClause, ClauseJSON(cl),
			fmt.Sprintf("%s is on the key %s, which this issuer's tokens never carry (STS puts %s and %s in the request), and %s: the clause holds for every token and restricts nothing", ClauseJSON(cl), cl.Key, c.subKey, c.audKey, whyAbsentHolds(op)),
			admits, func(s *Stmt) { c.fixVoid(i, s, cl) })
	}
	for _, cl := range st.Conditions {
		op, err := parseOperator(cl.Operator)
		if err != nil || !c.isSub(cl.Key) || !op.ForAny && !op.ForAll {
			continue
		}
		set := "ForAnyValue:"
		extra := ""
		if op.ForAll {
			set = "ForAllValues:"
			extra = ", and it would hold for a request without the key"
		}
		plain := strings.TrimPrefix(cl.Operator, set)
		add(BreadthSetOperator, ClauseJSON(cl),
			fmt.Sprintf("%s puts the set operator %s on %s, a single-valued key: it compares the token's one sub as %s alone does%s; IAM documents set operators for multivalued keys only", ClauseJSON(cl), set, cl.Key, plain, extra),
			"", func(s *Stmt) { setOperator(s, cl, set, plain) })
	}
	if audWide && !voidAud {
		el, msg := c.keyClauses(st, c.isAud)
		if msg == "" {
			msg = "no condition on " + c.audKey + " holds the token's audience to " + c.e.Audience
		} else {
			msg += " admits other audiences than " + c.e.Audience
		}
		add(BreadthNoAudience, el, msg, c.audienceOthers(), func(s *Stmt) { c.tightenAudience(i, s) })
	}
	if subWho != "" && !voidSub {
		el, msg := c.keyClauses(st, c.isSub)
		if msg == "" {
			msg = "no condition on " + c.subKey + " names the service account"
		} else {
			msg += " admits more than " + c.e.Subject
		}
		add(BreadthSubject, el, msg, subWho, func(s *Stmt) { c.tightenSubject(i, s) })
	}
	return out
}

func (c breadthCheck) audienceOthers() string {
	return fmt.Sprintf("tokens of this cluster for any audience the provider lists as a client ID, not only %s", c.e.Audience)
}

// keyClauses renders the statement's clauses on a key (for the element and the message),
// or, when it has none, its Condition.
func (c breadthCheck) keyClauses(st Stmt, is func(string) bool) (element, msg string) {
	var els []string
	for _, cl := range st.Conditions {
		if is(cl.Key) {
			els = append(els, ClauseJSON(cl))
		}
	}
	if len(els) == 0 {
		one := &Document{Statements: []Stmt{{Conditions: st.Conditions}}}
		return conditionJSON(one), ""
	}
	return strings.Join(els, ", "), strings.Join(els, " and ")
}

// conditionJSON is the Condition of a one-statement document, compact.
func conditionJSON(d *Document) string {
	s := d.StatementJSON(0)
	if i := strings.Index(s, `"Condition":`); i >= 0 {
		return strings.TrimSuffix(s[i:], "}")
	}
	return s
}

// exact gives a statement the expected statement's conditions: the token's aud and sub, exactly.
func (c breadthCheck) exact(s *Stmt) {
	s.Conditions = []Clause{
		{Operator: "StringEquals", Key: c.audKey, Values: NewValues(c.e.Audience)},
		{Operator: "StringEquals", Key: c.subKey, Values: NewValues(c.e.Subject)},
	}
}

func renameKey(s *Stmt, from, to string) {
	for j := range s.Conditions {
		if s.Conditions[j].Key == from {
			s.Conditions[j].Key = to
		}
	}
}

// setOperator takes the set qualifier off a clause (its key matched in any case: a key-case
// fix may have renamed it).
func setOperator(s *Stmt, cl Clause, set, plain string) {
	for j := range s.Conditions {
		if strings.EqualFold(s.Conditions[j].Key, cl.Key) && s.Conditions[j].Operator == set+plain {
			s.Conditions[j].Operator = plain
		}
	}
}

// fixVoid drops a void clause; one on sub or aud is replaced by what it was meant to be: the
// same values on the issuer's own key, without the qualifier that made it hold.
func (c breadthCheck) fixVoid(i int, s *Stmt, cl Clause) {
	s.Conditions = slices.DeleteFunc(s.Conditions, func(x Clause) bool { return x.Key == cl.Key && x.Operator == cl.Operator })
	switch claim(cl.Key) {
	case "sub":
		c.tightenSubject(i, s)
	case "aud":
		c.tightenAudience(i, s)
	}
}

// tightenAudience holds the audience to the token's: the clauses on aud give way to one.
func (c breadthCheck) tightenAudience(i int, s *Stmt) {
	if !c.appliesTo(i, *s, c.e.Subject, probeAudience) {
		return
	}
	s.Conditions = slices.DeleteFunc(s.Conditions, func(x Clause) bool { return c.isAud(x.Key) })
	s.Conditions = append([]Clause{{Operator: "StringEquals", Key: c.audKey, Values: NewValues(c.e.Audience)}}, s.Conditions...)
}

// tightenSubject replaces the clauses on sub by one that keeps each value that admits no
// other namespace (a literal subject, a pattern within the account's namespace) and the
// account's own subject.
func (c breadthCheck) tightenSubject(i int, s *Stmt) {
	if c.others(i, *s) == "" {
		return
	}
	ns, _, _ := splitSubject(c.e.Subject)
	var keep []string
	wild := false
	for _, cl := range s.Conditions {
		op, err := parseOperator(cl.Operator)
		if err != nil || !c.isSub(cl.Key) || op.negated || op.Base != "StringEquals" && op.Base != "StringLike" {
			continue
		}
		for _, v := range cl.Values.Items {
			w := op.Base == "StringLike" && strings.ContainsAny(v, "*?")
			if w && !strings.HasPrefix(v, Subject(ns, "")) || slices.Contains(keep, v) {
				continue
			}
			keep = append(keep, v)
			wild = wild || w
		}
	}
	covered := slices.ContainsFunc(keep, func(v string) bool { return Glob(v, c.e.Subject) })
	if !covered {
		keep = append(keep, c.e.Subject)
	}
	op := "StringEquals"
	if wild {
		op = "StringLike"
	}
	s.Conditions = slices.DeleteFunc(s.Conditions, func(x Clause) bool { return c.isSub(x.Key) })
	s.Conditions = append(s.Conditions, Clause{Operator: op, Key: c.subKey, Values: NewValues(keep...)})
}
