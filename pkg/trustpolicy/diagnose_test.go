package trustpolicy

import (
	"strings"
	"testing"
)

func webWant() Expect {
	return ExpectWebIdentity(WebIdentityRequest{ProviderARN: provider, HostPath: hp, Subject: subApp, Audience: sts})
}

// TestDiagnoseWebIdentity: each IRSA mistake is named with its code, statement and clause,
// and the correction admits the account while changing only what was wrong.
func TestDiagnoseWebIdentity(t *testing.T) {
	cond := func(op, key, val string) string { return `{"` + op + `":{"` + key + `":"` + val + `"}}` }
	both := func(aud, sub string) string {
		return `{"StringEquals":{"` + hp + `:aud":"` + aud + `","` + hp + `:sub":"` + sub + `"}}`
	}
	tests := []struct {
		name string
		doc  string
		code string
		// element is a part of the exact clause or principal the problem must quote.
		element string
		// added and removed are lines the diff must hold.
		added, removed string
		// inUse marks subjects another account still uses.
		inUse []string
	}{
		{name: "wildcard in StringEquals", doc: stmt(allowWeb(cond("StringEquals", hp+":sub", "system:serviceaccount:team:*"))),
			code: ProblemWildcardInEquals, element: `"StringEquals": {"` + hp + `:sub": "system:serviceaccount:team:*"}`, added: `+        "StringLike": {`, removed: `-        "StringEquals": {`},
		{name: "https:// in the key", doc: stmt(allowWeb(both(sts, subApp)[:0] + `{"StringEquals":{"https://` + hp + `:sub":"` + subApp + `"}}`)),
			code: ProblemHTTPSPrefix, element: `"https://` + hp + `:sub"`, added: `+          "` + hp + `:sub"`, removed: `-          "https://` + hp + `:sub"`},
		{name: "aud and sub swapped", doc: stmt(allowWeb(both(subApp, sts))),
			code: ProblemSwapped, added: `+          "` + hp + `:sub": "` + subApp + `"`},
		{name: "another cluster's provider", doc: stmt(strings.Replace(allowWeb(both(sts, subApp)), "/id/ABC\"", "/id/OTHER\"", 1)),
			code: ProblemOtherProvider, element: "oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/OTHER", added: `+        "Federated": "` + provider + `"`},
		{name: "the provider of the issuer's other EKS host", doc: stmt(strings.Replace(allowWeb(both(sts, subApp)), "oidc-provider/"+hp, "oidc-provider/oidc-eks.us-west-2.api.aws/id/ABC", 1)),
			code: ProblemOtherProvider, element: "oidc-provider/oidc-eks.us-west-2.api.aws/id/ABC", added: `+        "Federated": "` + provider + `"`},
		{name: "the provider of another account", doc: stmt(strings.Replace(allowWeb(both(sts, subApp)), "111122223333", "999999999999", 1)),
			code: ProblemOtherAccount, element: "999999999999", added: `+        "Federated": "` + provider + `"`},
		{name: "another namespace", doc: stmt(allowWeb(both(sts, "system:serviceaccount:prod:app"))),
			code: ProblemNamespace, element: "system:serviceaccount:prod:app", added: `+          "` + hp + `:sub": "` + subApp + `"`, removed: `-          "` + hp + `:sub": "system:serviceaccount:prod:app"`},
		{name: "another name", doc: stmt(allowWeb(both(sts, "system:serviceaccount:team:ap"))),
			code: ProblemName, removed: `-          "` + hp + `:sub": "system:serviceaccount:team:ap"`},
		{name: "another name still in use is kept", doc: stmt(allowWeb(both(sts, "system:serviceaccount:team:web"))), inUse: []string{"system:serviceaccount:team:web"},
			code: ProblemName, added: `+            "` + subApp + `"`},
		{name: "case", doc: stmt(allowWeb(both(sts, "system:serviceaccount:team:App"))),
			code: ProblemCase},
		{name: "wrong audience", doc: stmt(allowWeb(both("vault", subApp))),
			code: ProblemAudience, element: `"vault"`, added: `+            "sts.amazonaws.com"`},
		{name: "a Deny", doc: stmt(allowWeb(both(sts, subApp)), `{"Sid":"NoTeam","Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"`+hp+`:sub":"system:serviceaccount:team:*"}}}`),
			code: ProblemDeny, element: `"Sid":"NoTeam"`, removed: `-      "Sid": "NoTeam",`},
		{name: "the Pod Identity trust on an IRSA role", doc: stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}`),
			code: ProblemNoStatement, added: `+      "Action": "sts:AssumeRoleWithWebIdentity",`},
		{name: "sts:AssumeRole for the provider", doc: stmt(strings.Replace(allowWeb(both(sts, subApp)), "sts:AssumeRoleWithWebIdentity", "sts:AssumeRole", 1)),
			code: ProblemAction, element: `"Action": "sts:AssumeRole"`, added: `+      "Action": "sts:AssumeRoleWithWebIdentity",`},
		{name: "a clause on a key the request never carries", doc: stmt(allowWeb(`{"StringEquals":{"` + hp + `:sub":"` + subApp + `","aws:SourceVpc":"vpc-1"}}`)),
			code: ProblemAbsentKey, element: "aws:SourceVpc", removed: `-          "aws:SourceVpc": "vpc-1"`},
		{name: "the key of another issuer", doc: stmt(allowWeb(`{"StringEquals":{"oidc.eks.us-west-2.amazonaws.com/id/OTHER:sub":"` + subApp + `"}}`)),
			code: ProblemKeyOtherIssuer, element: "id/OTHER:sub", added: `+          "` + hp + `:sub"`},
		{name: "no statement at all for web identity", doc: stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}`),
			code: ProblemNoStatement},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDocument(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			want := webWant()
			want.InUse = func(s string) bool {
				for _, u := range tt.inUse {
					if u == s {
						return true
					}
				}
				return false
			}
			diag := Diagnose(d, want)
			if diag.Decision == Allowed {
				t.Fatal("the mistaken policy is allowed")
			}
			var found *Problem
			for i, p := range diag.Problems {
				if p.Code == tt.code {
					found = &diag.Problems[i]
				}
			}
			if found == nil {
				t.Fatalf("no %s problem in %+v", tt.code, diag.Problems)
			}
			if tt.element != "" && !strings.Contains(found.Element+found.Message, tt.element) {
				t.Fatalf("problem %+v does not quote %s", found, tt.element)
			}
			if diag.Corrected == nil {
				t.Fatalf("no correction for %+v", diag.Problems)
			}
			if dec, _ := diag.Corrected.Judge(want); dec != Allowed {
				t.Fatalf("the correction does not admit the account:\n%s", diag.Corrected.JSON())
			}
			for _, other := range []string{"system:serviceaccount:team:other", "system:serviceaccount:kube-system:app"} {
				r := irsa(other, sts)
				if diag.Corrected.Evaluate(r).Decision == Allowed && d.Evaluate(r).Decision != Allowed && !strings.Contains(tt.doc, "team:*") {
					t.Fatalf("the correction admits %s, which the policy did not:\n%s", other, diag.Corrected.JSON())
				}
			}
			diff := Diff(d, diag.Corrected, "role/app")
			for _, line := range []string{tt.added, tt.removed} {
				if line != "" && !strings.Contains(diff, line) {
					t.Fatalf("the diff lacks %q:\n%s", line, diff)
				}
			}
			for _, u := range tt.inUse {
				if diag.Corrected.Evaluate(irsa(u, sts)).Decision != Allowed {
					t.Fatalf("the correction drops %s, still in use:\n%s", u, diag.Corrected.JSON())
				}
			}
		})
	}
}

func TestDiagnoseAllowedHasNoProblem(t *testing.T) {
	p, err := ForIRSA(IRSA{Partition: "aws", AccountID: "111122223333", Issuer: "https://" + hp, Audience: sts, Namespace: "team", ServiceAccount: "app"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDocument(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if diag := Diagnose(d, webWant()); diag.Decision != Allowed || len(diag.Problems) > 0 || diag.Corrected != nil {
		t.Fatalf("generated policy: %+v", diag)
	}
}

func TestDiagnosePodIdentity(t *testing.T) {
	ctx := PodIdentityContext{ClusterARN: "arn:aws:eks:us-west-2:111122223333:cluster/prod", Account: "111122223333", ClusterName: "prod", Namespace: "team", ServiceAccount: "app", SessionTags: true}
	tests := []struct {
		name, doc, code string
		want            Decision
	}{
		{"the documented policy", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}`), "", Allowed},
		{"no sts:TagSession", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}`), ProblemAction, ImplicitDeny},
		{"another service", stmt(`{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}`), ProblemPrincipal, ImplicitDeny},
		{"an IRSA trust", stmt(allowWeb("")), ProblemNoStatement, ImplicitDeny},
		{"another cluster's account", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:SourceAccount":"444455556666"}}}`), ProblemCondition, ImplicitDeny},
		{"a condition on the pod's name", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"aws:RequestTag/kubernetes-pod-name":"web-0"}}}`), ProblemUnknown, Undecided},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDocument(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			diag := Diagnose(d, ExpectPodIdentity(ctx))
			if diag.Decision != tt.want {
				t.Fatalf("decision %s, want %s (%+v)", diag.Decision, tt.want, diag.Problems)
			}
			if tt.code == "" {
				return
			}
			if len(diag.Problems) == 0 || diag.Problems[0].Code != tt.code {
				t.Fatalf("problems %+v, want %s first", diag.Problems, tt.code)
			}
			if tt.want == ImplicitDeny {
				if diag.Corrected == nil {
					t.Fatal("no correction")
				}
				if dec, _ := diag.Corrected.Judge(ExpectPodIdentity(ctx)); dec != Allowed {
					t.Fatalf("correction not allowed:\n%s", diag.Corrected.JSON())
				}
			}
		})
	}
	// Without session tags, sts:AssumeRole alone is enough.
	d, _ := ParseDocument(stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}`))
	noTags := ctx
	noTags.SessionTags = false
	if diag := Diagnose(d, ExpectPodIdentity(noTags)); diag.Decision != Allowed {
		t.Fatalf("an association without session tags needs no sts:TagSession: %+v", diag.Problems)
	}
}

func TestDiagnoseTargetRole(t *testing.T) {
	ctx := PodIdentityContext{ClusterARN: "arn:aws:eks:us-west-2:111122223333:cluster/prod", Account: "111122223333", Namespace: "team", ServiceAccount: "app", SessionTags: true}
	src := "arn:aws:iam::111122223333:role/source"
	want := ExpectTargetRole(src, "111122223333", "ext-1", ctx)
	good := stmt(`{"Effect":"Allow","Principal":{"AWS":"` + src + `"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"ext-1"}}}`)
	d, _ := ParseDocument(good)
	if diag := Diagnose(d, want); diag.Decision != Allowed {
		t.Fatalf("good target trust: %+v", diag.Problems)
	}
	d, _ = ParseDocument(strings.Replace(good, "ext-1", "ext-2", 1))
	diag := Diagnose(d, want)
	if diag.Decision == Allowed || diag.Problems[0].Code != ProblemCondition || !strings.Contains(diag.Problems[0].Element, "sts:ExternalId") {
		t.Fatalf("wrong external ID: %+v", diag)
	}
	d, _ = ParseDocument(strings.Replace(good, "role/source", "role/other", 1))
	if diag := Diagnose(d, want); diag.Decision == Allowed || diag.Problems[0].Code != ProblemPrincipal || diag.Corrected == nil {
		t.Fatalf("another source role: %+v", diag)
	}
}
