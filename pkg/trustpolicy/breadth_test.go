package trustpolicy

import (
	"slices"
	"strings"
	"testing"
)

// TestCheckBreadth: each way an admitting trust policy admits more than the account is named
// with its code, statement and clause and who else it admits; the tightened policy still
// admits the account and draws no finding; tight policies draw none.
func TestCheckBreadth(t *testing.T) {
	aud := `"` + hp + `:aud":"` + sts + `"`
	sub := func(v string) string { return `"` + hp + `:sub":"` + v + `"` }
	tests := []struct {
		name      string
		doc       string
		wantCodes []string // nil: no finding
		element   string   // in the first finding's element
		admits    string   // in the first finding's Admits
		added     string   // a line of the first finding's diff (+ added, - removed)
	}{
		{name: "exact aud and sub", doc: stmt(allowWeb(`{"StringEquals":{` + aud + `,` + sub(subApp) + `}}`))},
		{name: "the account's namespace with StringLike, as trust-policy --namespace-wide writes it",
			doc: stmt(allowWeb(`{"StringEquals":{` + aud + `},"StringLike":{` + sub("system:serviceaccount:team:*") + `}}`))},
		{name: "IfExists on the issuer's own sub is harmless: every token carries it",
			doc: stmt(allowWeb(`{"StringEquals":{` + aud + `},"StringEqualsIfExists":{` + sub(subApp) + `}}`))},
		{name: "a wide Allow cut back by a Deny of every other subject",
			doc: stmt(allowWeb(`{"StringEquals":{`+aud+`}}`), `{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringNotEquals":{`+sub(subApp)+`}}}`)},
		{name: "a statement that trusts two clusters keeps the other's IfExists keys",
			doc: stmt(`{"Effect":"Allow","Principal":{"Federated":["` + provider + `","arn:aws:iam::111122223333:oidc-provider/oidc.example.com/b"]},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{` + aud + `},"StringEqualsIfExists":{` + sub(subApp) + `,"oidc.example.com/b:sub":"system:serviceaccount:b:app"}}}`)},

		{name: "no aud condition", doc: stmt(allowWeb(`{"StringEquals":{` + sub(subApp) + `}}`)),
			wantCodes: []string{BreadthNoAudience}, element: `"Condition":`, admits: "any audience the provider lists", added: `+          "` + hp + `:aud": "` + sts + `"`},
		{name: "aud with a wildcard", doc: stmt(allowWeb(`{"StringLike":{"` + hp + `:aud":"*"},"StringEquals":{` + sub(subApp) + `}}`)),
			wantCodes: []string{BreadthNoAudience}, element: `"StringLike": {"` + hp + `:aud": "*"}`, admits: "any audience"},
		{name: "no sub condition", doc: stmt(allowWeb(`{"StringEquals":{` + aud + `}}`)),
			wantCodes: []string{BreadthSubject}, admits: "every service account of the cluster", added: `+          "` + hp + `:sub": "` + subApp + `"`},
		{name: "sub wildcard over the cluster", doc: stmt(allowWeb(`{"StringEquals":{` + aud + `},"StringLike":{` + sub("system:serviceaccount:*") + `}}`)),
			wantCodes: []string{BreadthSubject}, element: `"StringLike": {"` + hp + `:sub": "system:serviceaccount:*"}`, admits: "every service account of the cluster"},
		{name: "sub wildcard over namespaces, for the account's name", doc: stmt(allowWeb(`{"StringEquals":{` + aud + `},"StringLike":{` + sub("system:serviceaccount:*:app") + `}}`)),
			wantCodes: []string{BreadthSubject}, admits: "the service account app of other namespaces"},
		{name: "sub wildcard over namespaces that start like the account's", doc: stmt(allowWeb(`{"StringEquals":{` + aud + `},"StringLike":{` + sub("system:serviceaccount:team*") + `}}`)),
			wantCodes: []string{BreadthSubject}, admits: "service accounts of namespaces other than team"},
		{name: "one wide value among tight ones", doc: stmt(allowWeb(`{"StringEquals":{` + aud + `},"StringLike":{"` + hp + `:sub":["system:serviceaccount:team:*","system:serviceaccount:*:web"]}}`)),
			wantCodes: []string{BreadthSubject}, admits: "system:serviceaccount:zx-90:web, for one", added: `+          "` + hp + `:sub": "system:serviceaccount:team:*"`},
		{name: "only a negated sub", doc: stmt(allowWeb(`{"StringEquals":{` + aud + `},"StringNotEquals":{` + sub("system:serviceaccount:kube-system:admin") + `}}`)),
			wantCodes: []string{BreadthSubject}, admits: "every service account of the cluster"},
		{name: "IfExists on the https:// form of the key, which no token carries",
			doc:       stmt(allowWeb(`{"StringEquals":{` + aud + `},"StringEqualsIfExists":{"https://` + hp + `:sub":"` + subApp + `"}}`)),
			wantCodes: []string{BreadthVoidClause}, element: `"https://` + hp + `:sub"`, admits: "every service account of the cluster", added: `+          "` + hp + `:sub": "` + subApp + `"`},
		{name: "ForAllValues on a claim the token never carries",
			doc:       stmt(allowWeb(`{"StringEquals":{` + aud + `,` + sub(subApp) + `},"ForAllValues:StringEquals":{"` + hp + `:groups":"admins"}}`)),
			wantCodes: []string{BreadthVoidClause}, element: hp + `:groups`},
		{name: "a set operator on sub", doc: stmt(allowWeb(`{"StringEquals":{` + aud + `},"ForAnyValue:StringEquals":{` + sub(subApp) + `}}`)),
			wantCodes: []string{BreadthSetOperator}, element: `"ForAnyValue:StringEquals"`, added: `-        "ForAnyValue:StringEquals": {`},
		{name: "ForAllValues on sub", doc: stmt(allowWeb(`{"StringEquals":{` + aud + `},"ForAllValues:StringLike":{` + sub(subApp) + `}}`)),
			wantCodes: []string{BreadthSetOperator}},
		{name: "a key in another case", doc: stmt(allowWeb(`{"StringEquals":{` + aud + `,"` + strings.ToUpper(hp) + `:SUB":"` + subApp + `"}}`)),
			wantCodes: []string{BreadthKeyCase}, element: strings.ToUpper(hp) + `:SUB`, added: `+          "` + hp + `:sub": "` + subApp + `"`},
		{name: "no Condition", doc: stmt(allowWeb("")),
			wantCodes: []string{BreadthNoCondition}, admits: "every service account of the cluster", added: `+      "Condition": {`},
		{name: "an empty Condition", doc: stmt(allowWeb(`{}`)),
			wantCodes: []string{BreadthNoCondition}},
		{name: "several at once", doc: stmt(`{"Sid":"Wide","Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"ForAnyValue:StringLike":{"` + strings.ToUpper(hp) + `:Sub":"system:serviceaccount:*"}}}`),
			wantCodes: []string{BreadthKeyCase, BreadthSetOperator, BreadthNoAudience, BreadthSubject}, element: `:Sub"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDocument(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			want := webWant()
			if dec, _ := d.Judge(want); dec != Allowed {
				t.Fatalf("the policy does not admit the account (%s): not a breadth case", dec)
			}
			b := CheckBreadth(d, want)
			var codes []string
			for _, f := range b.Findings {
				codes = append(codes, f.Code)
			}
			if !slices.Equal(codes, tt.wantCodes) {
				t.Fatalf("codes %v, want %v: %+v", codes, tt.wantCodes, b.Findings)
			}
			if len(b.Findings) == 0 {
				if b.Tightened != nil {
					t.Error("a tightened policy without findings")
				}
				return
			}
			f := b.Findings[0]
			if !strings.HasPrefix(f.Message, f.Where()+": ") || f.Element == "" {
				t.Errorf("the finding does not name its statement and element: %+v", f)
			}
			if !strings.Contains(f.Element, tt.element) {
				t.Errorf("element %q, want it to hold %q", f.Element, tt.element)
			}
			if !strings.Contains(f.Admits, tt.admits) {
				t.Errorf("admits %q, want %q", f.Admits, tt.admits)
			}
			if diff := Diff(d, f.Tightened, "role/app"); !strings.Contains(diff, tt.added) {
				t.Errorf("the diff has no line %q:\n%s", tt.added, diff)
			}
			for _, tight := range []*Document{f.Tightened, b.Tightened} {
				if dec, _ := tight.Judge(want); dec != Allowed {
					t.Errorf("the tightened policy refuses the account (%s):\n%s", dec, tight.JSON())
				}
			}
			if again := CheckBreadth(b.Tightened, want); len(again.Findings) > 0 {
				t.Errorf("the policy with every finding tightened still draws %+v:\n%s", again.Findings, b.Tightened.JSON())
			}
		})
	}
}

// TestGeneratedPoliciesAreTight: trust-policy never writes a policy CheckBreadth finds broad,
// whatever the account, audience or namespace-wide choice.
func TestGeneratedPoliciesAreTight(t *testing.T) {
	tests := []struct {
		name string
		in   IRSA
	}{
		{name: "one account", in: IRSA{Partition: "aws", AccountID: "111122223333", Issuer: "https://" + hp, Audience: sts, Namespace: "team", ServiceAccount: "app"}},
		{name: "namespace-wide", in: IRSA{Partition: "aws", AccountID: "111122223333", Issuer: "https://" + hp, Audience: sts, Namespace: "team", NamespaceWide: true}},
		{name: "a custom audience", in: IRSA{Partition: "aws", AccountID: "111122223333", Issuer: "https://" + hp, Audience: "vault", Namespace: "team", ServiceAccount: "app"}},
		{name: "an issuer with a path and a trailing slash", in: IRSA{Partition: "aws-cn", AccountID: "111122223333", Issuer: "https://oidc.example.com/cluster/", Audience: sts, Namespace: "kube-system", ServiceAccount: "ebs-csi"}},
		{name: "dual-stack EKS issuer", in: IRSA{Partition: "aws", AccountID: "111122223333", Issuer: "https://oidc-eks.us-west-2.api.aws/id/ABC", Audience: sts, Namespace: "team", ServiceAccount: "app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ForIRSA(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := p.JSON()
			if err != nil {
				t.Fatal(err)
			}
			d, err := ParseDocument(string(raw))
			if err != nil {
				t.Fatal(err)
			}
			host, err := ProviderHostPath(tt.in.Issuer)
			if err != nil {
				t.Fatal(err)
			}
			// Every account the policy is for: the one named, or two of the namespace.
			names := []string{tt.in.ServiceAccount}
			if tt.in.NamespaceWide {
				names = []string{"app", "worker"}
			}
			for _, name := range names {
				want := ExpectWebIdentity(WebIdentityRequest{ProviderARN: ProviderARN(tt.in.Partition, tt.in.AccountID, host), HostPath: host,
					Subject: Subject(tt.in.Namespace, name), Audience: tt.in.Audience})
				if dec, _ := d.Judge(want); dec != Allowed {
					t.Fatalf("the generated policy refuses %s: %s", name, dec)
				}
				if b := CheckBreadth(d, want); len(b.Findings) > 0 {
					t.Errorf("the generated policy draws %+v:\n%s", b.Findings, raw)
				}
			}
		})
	}
}

// FuzzCheckBreadth: for any trust policy that admits the account, CheckBreadth does not
// fail, each finding names its statement and carries a tightening that still admits the
// account, and the policy with every finding tightened draws none.
func FuzzCheckBreadth(f *testing.F) {
	f.Add(`{"StringEquals":{"` + hp + `:aud":"` + sts + `"}}`)
	f.Add(`{"StringLike":{"` + hp + `:sub":"system:serviceaccount:*:app"}}`)
	f.Add(`{"StringEqualsIfExists":{"https://` + hp + `:sub":"x"},"ForAnyValue:StringLike":{"` + strings.ToUpper(hp) + `:SUB":"*"}}`)
	f.Add(`{"StringNotLike":{"` + hp + `:sub":"system:serviceaccount:kube-system:*"},"Null":{"` + hp + `:groups":"true"}}`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, cond string) {
		d, err := ParseDocument(stmt(allowWeb(cond)))
		if err != nil {
			return
		}
		want := webWant()
		if dec, _ := d.Judge(want); dec != Allowed {
			return
		}
		b := CheckBreadth(d, want)
		for _, f := range b.Findings {
			if f.Statement != 0 || f.Tightened == nil {
				t.Fatalf("finding %+v", f)
			}
			if dec, _ := f.Tightened.Judge(want); dec != Allowed {
				t.Fatalf("%s: the tightening refuses the account:\n%s", f.Code, f.Tightened.JSON())
			}
		}
		if b.Tightened != nil {
			if dec, _ := b.Tightened.Judge(want); dec != Allowed {
				t.Fatalf("the tightened policy refuses the account:\n%s", b.Tightened.JSON())
			}
			if again := CheckBreadth(b.Tightened, want); len(again.Findings) > 0 {
				t.Fatalf("the tightened policy still draws %+v:\n%s", again.Findings, b.Tightened.JSON())
			}
		}
	})
}
