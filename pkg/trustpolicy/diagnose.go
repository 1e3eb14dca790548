package trustpolicy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aymanbagabas/go-udiff"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// Problem codes: what Diagnose found wrong, stable for scripts and tests.
const (
	ProblemDeny             = "deny"               // a Deny statement applies
	ProblemNoStatement      = "no-statement"       // no Allow statement names the principal and action
	ProblemOtherProvider    = "other-provider"     // Federated names the provider of another issuer
	ProblemOtherAccount     = "other-account"      // Federated names this issuer's provider in another account
	ProblemPrincipal        = "principal"          // the principal is of another kind, or another one
	ProblemAction           = "action"             // the action is not allowed
	ProblemWildcardInEquals = "wildcard-in-equals" // a * or ? inside a non-Like operator
	ProblemHTTPSPrefix      = "https-prefix"       // the condition key keeps the issuer's https://
	ProblemKeyOtherIssuer   = "key-other-issuer"   // the condition key names another issuer
	ProblemSwapped          = "aud-sub-swapped"    // aud holds the subject and sub the audience
	ProblemNamespace        = "wrong-namespace"    // sub names another namespace
	ProblemName             = "wrong-name"         // sub names another service account
	ProblemCase             = "case"               // a case-sensitive value differs in case only
	ProblemAudience         = "wrong-audience"     // aud is not the token's audience
	ProblemAbsentKey        = "absent-key"         // a clause on a key the request never carries
	ProblemCondition        = "condition"          // any other clause that does not hold
	ProblemUnknown          = "unknown"            // a clause on a key that cannot be known here
)

// Problem is one reason a trust policy refuses a request, pointing at the exact element.
type Problem struct {
	Code      string `json:"code"`
	Statement int    `json:"statement"` // index in the policy; -1 when no statement
	Sid       string `json:"sid,omitempty"`
	// Element is the exact part of the policy, compact JSON: a clause
	// ("StringEquals": {"KEY": "VALUE"}), a principal, an action or a statement.
	Element string `json:"element,omitempty"`
	Message string `json:"message"`
}

// Where names the statement for a message: statement 0 ("Sid").
func (p Problem) Where() string {
	if p.Statement < 0 {
		return "the policy"
	}
	if p.Sid != "" {
		return fmt.Sprintf("statement %d (%q)", p.Statement, p.Sid)
	}
	return fmt.Sprintf("statement %d", p.Statement)
}

// Diagnosis is a trust policy judged for what a role must admit.
type Diagnosis struct {
	Decision Decision
	Problems []Problem
	// Corrected is the policy that admits the requests, changed as little as the problems
	// need; nil when the policy admits them already, or no correction admits them.
	Corrected *Document
}

// Expect is what a role's trust policy must admit: every request of Requests, through a
// statement like Statement, which a correction appends when no statement can be fixed.
type Expect struct {
	Requests  []Request
	Statement Stmt
	// Subject, Audience and HostPath are set for IRSA: the token's sub and aud, and the
	// issuer's host/path that prefixes the condition keys.
	Subject, Audience, HostPath string
	// InUse reports whether another subject the policy admits is still used, so that a
	// correction adds this account beside it rather than replacing it. nil: never in use.
	InUse func(subject string) bool
}

// ExpectWebIdentity is what an IRSA role must admit: AssumeRoleWithWebIdentity of the
// account's token through the provider of its issuer in the role's account.
func ExpectWebIdentity(r WebIdentityRequest) Expect {
	return Expect{
		Requests: []Request{r.Request()},
		Statement: Stmt{
			Effect:    "Allow",
			Principal: &Principals{Entries: []PrincipalEntry{{Type: "Federated", Values: NewValues(r.ProviderARN)}}},
			Action:    NewValues(ActionWebIdentity),
			Conditions: []Clause{
				{Operator: "StringEquals", Key: r.HostPath + ":aud", Values: NewValues(r.Audience)},
				{Operator: "StringEquals", Key: r.HostPath + ":sub", Values: NewValues(r.Subject)},
			},
		},
		Subject: r.Subject, Audience: r.Audience, HostPath: r.HostPath,
	}
}

// PodIdentityContext is what EKS Pod Identity's request carries: the cluster the association
// belongs to, as aws:SourceArn and aws:SourceAccount, and the session tags it sets.
type PodIdentityContext struct {
	ClusterARN     string
	Account        string
	ClusterName    string
	Namespace      string
	ServiceAccount string
	// SessionTags is false when the association disables them: no sts:TagSession then.
	SessionTags bool
}

// keys are the condition keys of the EKS Auth service's request; the pod's own tags vary by
// pod and are unknown.
func (c PodIdentityContext) keys() (map[string][]string, []string) {
	keys := map[string][]string{}
	if c.ClusterARN != "" {
		keys["aws:SourceArn"] = []string{c.ClusterARN}
		keys["aws:RequestTag/eks-cluster-arn"] = []string{c.ClusterARN}
	}
	if c.Account != "" {
		keys["aws:SourceAccount"] = []string{c.Account}
	}
	if c.ClusterName != "" {
		keys["aws:RequestTag/eks-cluster-name"] = []string{c.ClusterName}
	}
	keys["aws:RequestTag/kubernetes-namespace"] = []string{c.Namespace}
	keys["aws:RequestTag/kubernetes-service-account"] = []string{c.ServiceAccount}
	if c.SessionTags {
		keys["aws:TagKeys"] = []string{"eks-cluster-arn", "eks-cluster-name", "kubernetes-namespace", "kubernetes-service-account", "kubernetes-pod-name", "kubernetes-pod-uid"}
	}
	return keys, []string{"aws:RequestTag/kubernetes-pod-name", "aws:RequestTag/kubernetes-pod-uid"}
}

// ExpectPodIdentity is what the role of a Pod Identity association must admit: the EKS Auth
// service's sts:AssumeRole and, unless the association disables session tags, sts:TagSession.
func ExpectPodIdentity(c PodIdentityContext) Expect {
	keys, unknown := c.keys()
	caller := Caller{Type: "Service", ID: PodIdentityService}
	actions := []string{ActionAssumeRole}
	if c.SessionTags {
		actions = append(actions, ActionTagSession)
	}
	e := Expect{Statement: ForPodIdentity().Statement[0].doc()}
	for _, a := range actions {
		e.Requests = append(e.Requests, Request{Action: a, Caller: caller, Keys: keys, Unknown: unknown})
	}
	return e
}

// ExpectTargetRole is what the target role of a Pod Identity association must admit: the
// association's role, in its session, assuming it and tagging the session, with the
// association's external ID.
func ExpectTargetRole(sourceRoleARN, sourceAccount, externalID string, c PodIdentityContext) Expect {
	keys, unknown := c.keys()
	delete(keys, "aws:SourceArn")
	delete(keys, "aws:SourceAccount")
	keys["aws:PrincipalArn"] = []string{sourceRoleARN}
	keys["aws:PrincipalAccount"] = []string{sourceAccount}
	if externalID != "" {
		keys["sts:ExternalId"] = []string{externalID}
	}
	caller := Caller{Type: "AWS", ID: sourceRoleARN, Account: sourceAccount}
	st := Stmt{
		Effect:    "Allow",
		Principal: &Principals{Entries: []PrincipalEntry{{Type: "AWS", Values: NewValues(sourceRoleARN)}}},
		Action:    NewValues(ActionAssumeRole, ActionTagSession),
	}
	if externalID != "" {
		st.Conditions = []Clause{{Operator: "StringEquals", Key: "sts:ExternalId", Values: NewValues(externalID)}}
	}
	e := Expect{Statement: st}
	for _, a := range []string{ActionAssumeRole, ActionTagSession} {
		e.Requests = append(e.Requests, Request{Action: a, Caller: caller, Keys: keys, Unknown: unknown})
	}
	return e
}

// doc turns a generated statement into a Document statement.
func (s Statement) doc() Stmt {
	st := Stmt{Sid: s.Sid, Effect: s.Effect, Action: Values{Items: s.Action, List: len(s.Action) != 1}, Principal: &Principals{}}
	if s.Principal.Federated != "" {
		st.Principal.Entries = append(st.Principal.Entries, PrincipalEntry{Type: "Federated", Values: NewValues(s.Principal.Federated)})
	}
	if s.Principal.Service != "" {
		st.Principal.Entries = append(st.Principal.Entries, PrincipalEntry{Type: "Service", Values: NewValues(s.Principal.Service)})
	}
	if s.Condition != nil {
		for _, e := range s.Condition.StringEquals {
			st.Conditions = append(st.Conditions, Clause{Operator: "StringEquals", Key: e.Key, Values: NewValues(e.Value)})
		}
		for _, e := range s.Condition.StringLike {
			st.Conditions = append(st.Conditions, Clause{Operator: "StringLike", Key: e.Key, Values: NewValues(e.Value)})
		}
	}
	return st
}

// Judge evaluates every request and returns the worst decision: a Deny, then a refusal, then
// an undecided one.
func (d *Document) Judge(e Expect) (Decision, []Result) {
	rank := map[Decision]int{Allowed: 0, Undecided: 1, ImplicitDeny: 2, ExplicitDeny: 3}
	worst := Allowed
	var results []Result
	for _, r := range e.Requests {
		res := d.Evaluate(r)
		results = append(results, res)
		if rank[res.Decision] > rank[worst] {
			worst = res.Decision
		}
	}
	return worst, results
}

// Diagnose says why the policy does not admit what e expects, statement and clause, and
// corrects it.
func Diagnose(d *Document, e Expect) Diagnosis {
	decision, results := d.Judge(e)
	diag := Diagnosis{Decision: decision}
	if decision == Allowed {
		return diag
	}
	fix := d.Clone()
	// Deny statements that apply: named, and dropped from the correction.
	var drop []int
	for _, res := range results {
		for _, sr := range res.Statements {
			st := d.Statements[sr.Index]
			if st.Effect != "Deny" || sr.Applies != True || slices.Contains(drop, sr.Index) {
				continue
			}
			drop = append(drop, sr.Index)
			diag.Problems = append(diag.Problems, Problem{
				Code: ProblemDeny, Statement: sr.Index, Sid: st.Sid, Element: d.StatementJSON(sr.Index),
				Message: fmt.Sprintf("%s denies it: an explicit Deny wins over every Allow (%s)", where(sr.Index, st.Sid), denyWhy(sr)),
			})
		}
	}
	// The Allow side: the statement closest to admitting, and what keeps it from doing so.
	allowed := true
	for _, res := range results {
		allowed = allowed && allowApplies(d, res) == True
	}
	appendFresh := false
	if !allowed {
		cand := candidate(d, e, results)
		if cand < 0 {
			diag.Problems = append(diag.Problems, Problem{
				Code: ProblemNoStatement, Statement: -1,
				Message: "no Allow statement names " + describeCaller(e.Requests[0].Caller) + " with " + actionsOf(e),
			})
			appendFresh = true
		} else {
			probs, fresh := diagnoseStatement(d, cand, e, results, fix)
			diag.Problems = append(diag.Problems, probs...)
			appendFresh = fresh
		}
	}
	slices.Sort(drop)
	for i := len(drop) - 1; i >= 0; i-- {
		fix.Statements = slices.Delete(fix.Statements, drop[i], drop[i]+1)
	}
	if appendFresh {
		fix.Statements = append(fix.Statements, e.Statement)
		fix.single = false
	}
	if dec, _ := fix.Judge(e); dec == Allowed {
		diag.Corrected = fix
		return diag
	}
	// The in-place correction fell short: the expected statement beside the others does it.
	fix = d.Clone()
	for i := len(drop) - 1; i >= 0; i-- {
		fix.Statements = slices.Delete(fix.Statements, drop[i], drop[i]+1)
	}
	fix.Statements = append(fix.Statements, e.Statement)
	fix.single = false
	if dec, _ := fix.Judge(e); dec == Allowed {
		diag.Corrected = fix
	}
	return diag
}

func where(i int, sid string) string {
	return Problem{Statement: i, Sid: sid}.Where()
}

func denyWhy(sr StmtResult) string {
	if len(sr.Clauses) == 0 {
		return "it has no condition"
	}
	var why []string
	for _, c := range sr.Clauses {
		why = append(why, ClauseJSON(c.Clause)+" holds: "+c.Reason)
	}
	return strings.Join(why, "; ")
}

// allowApplies is whether some Allow statement applies to the request, Denies aside.
func allowApplies(d *Document, res Result) Tri {
	out := False
	for _, sr := range res.Statements {
		if d.Statements[sr.Index].Effect == "Allow" {
			out = or(out, sr.Applies)
		}
	}
	return out
}

func describeCaller(c Caller) string {
	switch c.Type {
	case "Federated":
		return "the OIDC provider " + c.ID + " (Federated)"
	case "Service":
		return "the service " + c.ID
	}
	return c.ID
}

func actionsOf(e Expect) string {
	var a []string
	for _, r := range e.Requests {
		if !slices.Contains(a, r.Action) {
			a = append(a, r.Action)
		}
	}
	return strings.Join(a, " and ")
}

// candidate is the Allow statement closest to admitting: the right principal first, then
// the right action, then the most clauses that hold. -1: no Allow statement names the
// principal's kind.
func candidate(d *Document, e Expect, results []Result) int {
	best, bestScore := -1, 0
	caller := e.Requests[0].Caller
	for i, st := range d.Statements {
		if st.Effect != "Allow" || st.Principal == nil {
			continue
		}
		score := 0
		sr := results[0].Statements[i]
		switch {
		case sr.Principal == True:
			score += 100
		case principalHasType(st.Principal, caller.Type):
			score += 50
		default:
			continue
		}
		for _, res := range results {
			if res.Statements[i].Action == True {
				score += 10
			}
		}
		for _, c := range sr.Clauses {
			if c.Result != False {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

func principalHasType(p *Principals, typ string) bool {
	for _, e := range p.Entries {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// diagnoseStatement names what keeps statement i from admitting, and corrects it in fix
// (the same index: the Denies are dropped later). fresh is true when the statement cannot
// be corrected in place (another provider: it may serve another cluster) and the expected
// statement must be added beside it.
func diagnoseStatement(d *Document, i int, e Expect, results []Result, fix *Document) (probs []Problem, fresh bool) {
	st := d.Statements[i]
	fst := &fix.Statements[i]
	add := func(code, element, msg string) {
		probs = append(probs, Problem{Code: code, Statement: i, Sid: st.Sid, Element: element, Message: where(i, st.Sid) + ": " + msg})
	}
	caller := e.Requests[0].Caller
	if results[0].Statements[i].Principal != True {
		el := principalJSON(st.Principal)
		code, msg := principalProblem(st.Principal, caller, e)
		add(code, el, msg)
		// Another provider or principal may be meant for something else: keep it, and add
		// the expected statement.
		return probs, true
	}
	for _, res := range results {
		if res.Statements[i].Action == True {
			continue
		}
		action := e.Requests[0].Action
		for _, r := range e.Requests {
			if actionMatches(st.Action.Items, r.Action) == False || st.NotAction {
				action = r.Action
				break
			}
		}
		verb := "Action"
		if st.NotAction {
			verb = "NotAction"
		}
		add(ProblemAction, strconv.Quote(verb)+": "+valuesJSON(st.Action), fmt.Sprintf("%s %s does not allow %s", verb, strings.Join(st.Action.Items, ", "), action))
		fixActions(fst, e)
		break
	}
	// The clauses that do not hold for some request, each once.
	seen := map[int]bool{}
	swapped := false
	for _, res := range results {
		for ci, cr := range res.Statements[i].Clauses {
			if seen[ci] || cr.Result == True {
				continue
			}
			seen[ci] = true
			c := cr.Clause
			el := ClauseJSON(c)
			if cr.Result == Unknown {
				add(ProblemUnknown, el, el+" depends on "+c.Key+", which cannot be known without a pod: it is left as it is")
				continue
			}
			if e.HostPath != "" {
				if code, msg, ok := webClauseProblem(c, cr, e); ok {
					if code == ProblemSwapped {
						if swapped {
							continue
						}
						swapped = true
					}
					add(code, el, msg)
					fixWebClause(fst, ci, code, c, e)
					continue
				}
			}
			if !cr.Present && !isNegatedOrLenient(c.Operator) {
				add(ProblemAbsentKey, el, fmt.Sprintf("%s needs the key %s, which this request never carries: remove the clause", el, c.Key))
				fst.Conditions[ci].Operator = "" // removed below
				continue
			}
			add(ProblemCondition, el, el+" does not hold: "+cr.Reason)
			fresh = true
		}
	}
	fst.Conditions = slices.DeleteFunc(fst.Conditions, func(c Clause) bool { return c.Operator == "" })
	return probs, fresh
}

func isNegatedOrLenient(op string) bool {
	o, err := parseOperator(op)
	return err == nil && (o.negated || o.IfExists || o.ForAll || o.Base == "Null")
}

func principalJSON(p *Principals) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(`"Principal": `)
	if p.Any {
		b.WriteString(`"*"`)
		return b.String()
	}
	b.WriteString("{")
	for i, e := range p.Entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(e.Type) + ": " + valuesJSON(e.Values))
	}
	b.WriteString("}")
	return b.String()
}

func valuesJSON(v Values) string {
	var b strings.Builder
	for i, s := range v.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		q, _ := marshalNoEscape(s)
		b.Write(q)
	}
	if !v.List && len(v.Items) == 1 {
		return b.String()
	}
	return "[" + b.String() + "]"
}

// principalProblem says how the principal differs from the caller.
func principalProblem(p *Principals, c Caller, e Expect) (code, msg string) {
	var named []string
	for _, en := range p.Entries {
		for _, v := range en.Values.Items {
			named = append(named, en.Type+" "+v)
		}
	}
	list := strings.Join(named, ", ")
	if c.Type == "Federated" {
		for _, en := range p.Entries {
			if en.Type != "Federated" {
				continue
			}
			for _, v := range en.Values.Items {
				arn := strings.SplitN(v, ":", 6)
				if len(arn) != 6 || !strings.HasPrefix(arn[5], "oidc-provider/") {
					continue
				}
				want := strings.SplitN(c.ID, ":", 6)
				host := strings.TrimPrefix(arn[5], "oidc-provider/")
				if host == e.HostPath && len(want) == 6 && arn[4] != want[4] {
					return ProblemOtherAccount, fmt.Sprintf("Principal Federated %s is this issuer's provider in account %s, but the token is checked against the provider in the role's own account: %s", v, arn[4], c.ID)
				}
				if other, ok := identity.OtherEKSIssuerForm(e.HostPath); ok && host == other {
					return ProblemOtherProvider, fmt.Sprintf("Principal Federated %s is the provider of this cluster's issuer under its other host (https://%s), but the tokens carry iss https://%s, whose provider is %s: STS matches the provider by the token's iss", v, host, e.HostPath, c.ID)
				}
				if host != e.HostPath {
					return ProblemOtherProvider, fmt.Sprintf("Principal Federated %s is the provider of another issuer (https://%s), not of this cluster's (https://%s, provider %s)", v, host, e.HostPath, c.ID)
				}
			}
		}
		return ProblemPrincipal, fmt.Sprintf("Principal names %s, not the cluster's OIDC provider %s (Federated): IRSA's AssumeRoleWithWebIdentity comes from it", list, c.ID)
	}
	return ProblemPrincipal, fmt.Sprintf("Principal names %s, not %s", list, describeCaller(c))
}

// fixActions makes the statement allow every expected action: a web identity statement gets
// exactly AssumeRoleWithWebIdentity, the others keep their actions and get the missing ones.
func fixActions(st *Stmt, e Expect) {
	if st.NotAction || e.HostPath != "" {
		st.NotAction = false
		st.Action = e.Statement.Action.clone()
		return
	}
	for _, r := range e.Requests {
		if actionMatches(st.Action.Items, r.Action) == False {
			st.Action.Items = append(st.Action.Items, r.Action)
			st.Action.Bare = nil
			st.Action.List = true
		}
	}
}

// webClauseProblem recognises the IRSA mistakes in a clause that does not hold.
func webClauseProblem(c Clause, cr ClauseResult, e Expect) (code, msg string, ok bool) {
	op, err := parseOperator(c.Operator)
	if err != nil {
		return "", "", false
	}
	el := ClauseJSON(c)
	key := strings.ToLower(c.Key)
	subKey, audKey := strings.ToLower(e.HostPath+":sub"), strings.ToLower(e.HostPath+":aud")
	if !cr.Present {
		trimmed := strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
		switch {
		case trimmed != key && (trimmed == subKey || trimmed == audKey):
			return ProblemHTTPSPrefix, fmt.Sprintf("%s keeps the issuer's https:// in the key: IAM's keys are %s and %s, so no request carries %s", el, e.HostPath+":sub", e.HostPath+":aud", c.Key), true
		case strings.HasSuffix(key, ":sub") || strings.HasSuffix(key, ":aud"):
			return ProblemKeyOtherIssuer, fmt.Sprintf("%s names the key of another issuer (%s): this cluster's are %s and %s", el, strings.TrimSuffix(strings.TrimSuffix(c.Key, ":sub"), ":aud"), e.HostPath+":sub", e.HostPath+":aud"), true
		}
		return "", "", false
	}
	isSub := key == subKey
	isAud := key == audKey
	if !isSub && !isAud {
		return "", "", false
	}
	vals := c.Values.Items
	looksSub := func(vs []string) bool {
		return slices.ContainsFunc(vs, func(v string) bool { return strings.HasPrefix(v, "system:serviceaccount:") })
	}
	if isAud && looksSub(vals) || isSub && slices.Contains(vals, e.Audience) && !looksSub(vals) {
		return ProblemSwapped, fmt.Sprintf("%s and %s are swapped: the subject belongs under %s:sub and the audience under %s:aud", e.HostPath+":aud", e.HostPath+":sub", e.HostPath, e.HostPath), true
	}
	want := e.Subject
	if isAud {
		want = e.Audience
	}
	if !op.wildcards && slices.ContainsFunc(vals, func(v string) bool { return strings.ContainsAny(v, "*?") && Glob(v, want) }) {
		return ProblemWildcardInEquals, fmt.Sprintf("%s: a * or ? inside %s is a literal character, not a wildcard; %s takes wildcards", el, op.Base, likeOf(op.Base)), true
	}
	if op.Base == "StringEquals" && slices.ContainsFunc(vals, func(v string) bool { return strings.EqualFold(v, want) }) {
		return ProblemCase, fmt.Sprintf("%s differs from %s in case only, and StringEquals is case-sensitive", el, want), true
	}
	if isAud {
		return ProblemAudience, fmt.Sprintf("%s does not admit the token's audience %s", el, e.Audience), true
	}
	ns, name, _ := splitSubject(e.Subject)
	for _, v := range vals {
		vns, vname, ok := splitSubject(v)
		if !ok || strings.ContainsAny(v, "*?") && op.wildcards {
			continue
		}
		if vns != ns {
			return ProblemNamespace, fmt.Sprintf("%s names the namespace %s; the service account is in %s (%s)", el, vns, ns, e.Subject), true
		}
		if vname != name {
			return ProblemName, fmt.Sprintf("%s names the service account %s; this one is %s (%s)", el, vname, name, e.Subject), true
		}
	}
	return ProblemCondition, fmt.Sprintf("%s does not admit %s", el, e.Subject), true
}

func likeOf(base string) string {
	if strings.HasPrefix(base, "Arn") {
		return "ArnLike"
	}
	return "StringLike"
}

func splitSubject(sub string) (ns, name string, ok bool) {
	rest, ok := strings.CutPrefix(sub, "system:serviceaccount:")
	if !ok {
		return "", "", false
	}
	ns, name, ok = strings.Cut(rest, ":")
	return ns, name, ok
}

// fixWebClause corrects clause ci of st for the problem found.
func fixWebClause(st *Stmt, ci int, code string, c Clause, e Expect) {
	cl := &st.Conditions[ci]
	switch code {
	case ProblemHTTPSPrefix, ProblemKeyOtherIssuer:
		suffix := c.Key[strings.LastIndex(c.Key, ":"):]
		cl.Key = e.HostPath + suffix
	case ProblemSwapped:
		subKey, audKey := strings.ToLower(e.HostPath+":sub"), strings.ToLower(e.HostPath+":aud")
		for j := range st.Conditions {
			switch strings.ToLower(st.Conditions[j].Key) {
			case subKey:
				st.Conditions[j].Key = e.HostPath + ":aud"
			case audKey:
				st.Conditions[j].Key = e.HostPath + ":sub"
			}
		}
	case ProblemWildcardInEquals:
		op, _ := parseOperator(c.Operator)
		cl.Operator = strings.Replace(c.Operator, op.Base, likeOf(op.Base), 1)
	case ProblemCase, ProblemNamespace, ProblemName, ProblemCondition, ProblemAudience:
		want := e.Subject
		if strings.EqualFold(c.Key, e.HostPath+":aud") {
			want = e.Audience
		}
		// Keep the values another account still uses, replace the mistaken ones.
		var keep []string
		for _, v := range c.Values.Items {
			if code == ProblemAudience || strings.ContainsAny(v, "*?") || e.InUse != nil && e.InUse(v) {
				keep = append(keep, v)
			}
		}
		op, _ := parseOperator(c.Operator)
		if op.negated {
			keep = nil // a negated clause that refuses this account: it must not name it
		}
		cl.Values = Values{Items: append(keep, want), List: len(keep) > 0}
		if op.negated {
			cl.Operator = strings.Replace(c.Operator, op.Base, strings.Replace(op.Base, "Not", "", 1), 1)
		}
	}
}

// Diff is the correction as a unified diff of the two documents, both rendered the same way,
// so it shows only what changed.
func Diff(before, after *Document, name string) string {
	return udiff.Unified(name, name+" (corrected)", before.JSON(), after.JSON())
}
