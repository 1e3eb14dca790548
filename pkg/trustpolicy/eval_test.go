package trustpolicy

import (
	"net/url"
	"strings"
	"testing"
)

const (
	hp       = "oidc.eks.us-west-2.amazonaws.com/id/ABC"
	provider = "arn:aws:iam::111122223333:oidc-provider/" + hp
	subApp   = "system:serviceaccount:team:app"
	sts      = "sts.amazonaws.com"
)

// irsa is an AssumeRoleWithWebIdentity request of sub with aud through this cluster's provider.
func irsa(sub, aud string) Request {
	return WebIdentityRequest{ProviderARN: provider, HostPath: hp, Subject: sub, Audience: aud}.Request()
}

func with(r Request, key string, vals ...string) Request {
	keys := map[string][]string{}
	for k, v := range r.Keys {
		keys[k] = v
	}
	keys[key] = vals
	r.Keys = keys
	return r
}

func podIdentity(action string) Request {
	return Request{Action: action, Caller: Caller{Type: "Service", ID: "pods.eks.amazonaws.com"},
		Keys: map[string][]string{"aws:SourceAccount": {"111122223333"}, "aws:SourceArn": {"arn:aws:eks:us-west-2:111122223333:cluster/prod"}}}
}

// stmt wraps statements in a document.
func stmt(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

// allowWeb is an Allow of AssumeRoleWithWebIdentity for this cluster's provider with cond.
func allowWeb(cond string) string {
	s := `{"Effect":"Allow","Principal":{"Federated":"` + provider + `"},"Action":"sts:AssumeRoleWithWebIdentity"`
	if cond != "" {
		s += `,"Condition":` + cond
	}
	return s + "}"
}

// TestEvaluate is the evaluator against IAM's documented rules, one policy per row.
func TestEvaluate(t *testing.T) {
	exact := allowWeb(`{"StringEquals":{"` + hp + `:aud":"sts.amazonaws.com","` + hp + `:sub":"` + subApp + `"}}`)
	tests := []struct {
		name string
		doc  string
		req  Request
		want Decision
	}{
		// The generated policy and the usual mistakes.
		{"exact sub and aud", stmt(exact), irsa(subApp, sts), Allowed},
		{"another account of the namespace", stmt(exact), irsa("system:serviceaccount:team:web", sts), ImplicitDeny},
		{"another audience", stmt(exact), irsa(subApp, "vault"), ImplicitDeny},
		{"* inside StringEquals is literal", stmt(allowWeb(`{"StringEquals":{"` + hp + `:sub":"system:serviceaccount:team:*"}}`)), irsa(subApp, sts), ImplicitDeny},
		{"* inside StringEquals matches a literal *", stmt(allowWeb(`{"StringEquals":{"` + hp + `:sub":"system:serviceaccount:team:*"}}`)), irsa("system:serviceaccount:team:*", sts), Allowed},
		{"* inside StringLike", stmt(allowWeb(`{"StringLike":{"` + hp + `:sub":"system:serviceaccount:team:*"}}`)), irsa(subApp, sts), Allowed},
		{"? inside StringLike is one character", stmt(allowWeb(`{"StringLike":{"` + hp + `:sub":"system:serviceaccount:team:ap?"}}`)), irsa(subApp, sts), Allowed},
		{"? inside StringLike is not two", stmt(allowWeb(`{"StringLike":{"` + hp + `:sub":"system:serviceaccount:team:a?"}}`)), irsa(subApp, sts), ImplicitDeny},
		{"https:// left in the key: no request carries it", stmt(allowWeb(`{"StringEquals":{"https://` + hp + `:sub":"` + subApp + `"}}`)), irsa(subApp, sts), ImplicitDeny},
		{"aud and sub swapped", stmt(allowWeb(`{"StringEquals":{"` + hp + `:aud":"` + subApp + `","` + hp + `:sub":"sts.amazonaws.com"}}`)), irsa(subApp, sts), ImplicitDeny},
		{"another cluster's provider", stmt(strings.Replace(exact, "/id/ABC\"", "/id/OTHER\"", 1)), irsa(subApp, sts), ImplicitDeny},
		{"the provider in another account", stmt(strings.Replace(exact, "111122223333", "999999999999", 1)), irsa(subApp, sts), ImplicitDeny},
		{"keys are case-insensitive", stmt(allowWeb(`{"StringEquals":{"` + strings.ToUpper(hp) + `:SUB":"` + subApp + `"}}`)), irsa(subApp, sts), Allowed},
		{"StringEquals values are case-sensitive", stmt(allowWeb(`{"StringEquals":{"` + hp + `:sub":"system:serviceaccount:Team:app"}}`)), irsa(subApp, sts), ImplicitDeny},
		{"StringEqualsIgnoreCase", stmt(allowWeb(`{"StringEqualsIgnoreCase":{"` + hp + `:sub":"SYSTEM:serviceaccount:TEAM:app"}}`)), irsa(subApp, sts), Allowed},
		{"values of one key are ORed", stmt(allowWeb(`{"StringEquals":{"` + hp + `:sub":["system:serviceaccount:team:web","` + subApp + `"]}}`)), irsa(subApp, sts), Allowed},
		{"no condition admits every account of the provider", stmt(allowWeb("")), irsa("system:serviceaccount:x:y", "anything"), Allowed},

		// Deny over Allow.
		{"a matching Deny wins", stmt(exact, `{"Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringLike":{"`+hp+`:sub":"system:serviceaccount:team:*"}}}`), irsa(subApp, sts), ExplicitDeny},
		{"a Deny on other subjects lets this one through", stmt(exact, `{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringNotEquals":{"`+hp+`:sub":"`+subApp+`"}}}`), irsa(subApp, sts), Allowed},
		{"the same Deny stops another subject", stmt(allowWeb(""), `{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringNotEquals":{"`+hp+`:sub":"`+subApp+`"}}}`), irsa("system:serviceaccount:team:web", sts), ExplicitDeny},
		{"a negated operator on an absent key holds", stmt(allowWeb(""), `{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringNotEquals":{"aws:SourceIp":"10.0.0.1"}}}`), irsa(subApp, sts), ExplicitDeny},
		{"NotPrincipal with Deny spares the named one", stmt(allowWeb(""), `{"Effect":"Deny","NotPrincipal":{"Federated":"`+provider+`"},"Action":"*"}`), irsa(subApp, sts), Allowed},
		{"NotPrincipal with Deny stops others", stmt(`{"Effect":"Allow","Principal":"*","Action":"*"}`, `{"Effect":"Deny","NotPrincipal":{"Federated":"`+provider+`"},"Action":"*"}`), podIdentity("sts:AssumeRole"), ExplicitDeny},

		// IfExists, Null, set operators.
		{"IfExists on an absent key holds", stmt(allowWeb(`{"StringEqualsIfExists":{"aws:SourceIdentity":"x"},"StringEquals":{"` + hp + `:sub":"` + subApp + `"}}`)), irsa(subApp, sts), Allowed},
		{"IfExists on a present key compares", stmt(allowWeb(`{"StringEqualsIfExists":{"` + hp + `:aud":"vault"}}`)), irsa(subApp, sts), ImplicitDeny},
		{"Null true: the key must be absent", stmt(allowWeb(`{"Null":{"aws:SourceIdentity":"true"}}`)), irsa(subApp, sts), Allowed},
		{"Null false: the key must be present", stmt(allowWeb(`{"Null":{"aws:SourceIdentity":"false"}}`)), irsa(subApp, sts), ImplicitDeny},
		{"a positive operator on an absent key fails", stmt(allowWeb(`{"StringEquals":{"aws:SourceIdentity":"x"}}`)), irsa(subApp, sts), ImplicitDeny},
		{"ForAnyValue: one of the request's values", stmt(allowWeb(`{"ForAnyValue:StringEquals":{"` + hp + `:aud":"vault"}}`)), with(irsa(subApp, sts), hp+":aud", "sts.amazonaws.com", "vault"), Allowed},
		{"ForAnyValue on an absent key fails", stmt(allowWeb(`{"ForAnyValue:StringEquals":{"aws:TagKeys":"team"}}`)), irsa(subApp, sts), ImplicitDeny},
		{"ForAllValues on an absent key holds", stmt(allowWeb(`{"ForAllValues:StringEquals":{"aws:TagKeys":"team"}}`)), irsa(subApp, sts), Allowed},
		{"ForAllValues: every value must be listed", stmt(allowWeb(`{"ForAllValues:StringEquals":{"aws:TagKeys":["team","env"]}}`)), with(irsa(subApp, sts), "aws:TagKeys", "team", "owner"), ImplicitDeny},
		{"ForAllValues: every value listed", stmt(allowWeb(`{"ForAllValues:StringLike":{"aws:TagKeys":["team","e*"]}}`)), with(irsa(subApp, sts), "aws:TagKeys", "team", "env"), Allowed},

		// Principals and actions.
		{"the Pod Identity policy does not admit IRSA", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}`), irsa(subApp, sts), ImplicitDeny},
		{"sts:AssumeRole is not the web identity action", stmt(strings.Replace(exact, "sts:AssumeRoleWithWebIdentity", "sts:AssumeRole", 1)), irsa(subApp, sts), ImplicitDeny},
		{"actions are case-insensitive", stmt(strings.Replace(exact, "sts:AssumeRoleWithWebIdentity", "STS:assumerolewithwebidentity", 1)), irsa(subApp, sts), Allowed},
		{"a wildcard action", stmt(strings.Replace(exact, "sts:AssumeRoleWithWebIdentity", "sts:Assume*", 1)), irsa(subApp, sts), Allowed},
		{"NotAction excludes the action", stmt(strings.Replace(exact, `"Action"`, `"NotAction"`, 1)), irsa(subApp, sts), ImplicitDeny},
		{"Principal * admits any caller", stmt(`{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}`), irsa(subApp, sts), Allowed},
		{"a wildcard inside a principal is literal", stmt(`{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/*"},"Action":"sts:AssumeRoleWithWebIdentity"}`), irsa(subApp, sts), ImplicitDeny},
		{"an account admits its roles", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}`),
			Request{Action: "sts:AssumeRole", Caller: Caller{Type: "AWS", ID: "arn:aws:iam::111122223333:role/src", Account: "111122223333"}}, Allowed},
		{"an account does not admit another's roles", stmt(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}`),
			Request{Action: "sts:AssumeRole", Caller: Caller{Type: "AWS", ID: "arn:aws:iam::444455556666:role/src", Account: "444455556666"}}, ImplicitDeny},

		// Pod Identity: both actions, and the source conditions.
		{"Pod Identity: AssumeRole", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}`), podIdentity("sts:AssumeRole"), Allowed},
		{"Pod Identity: TagSession missing", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}`), podIdentity("sts:TagSession"), ImplicitDeny},
		{"ArnLike on the source cluster", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:eks:*:111122223333:cluster/*"}}}`), podIdentity("sts:AssumeRole"), Allowed},
		{"ArnEquals takes wildcards per ARN part, as IAM documents", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:eks:us-west-2:111122223333:cluster/pr*"}}}`), podIdentity("sts:AssumeRole"), Allowed},
		{"a * does not cross an ARN part", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:eks:*:cluster/prod"}}}`), podIdentity("sts:AssumeRole"), ImplicitDeny},
		{"StringEquals on the source account", stmt(`{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"444455556666"}}}`), podIdentity("sts:AssumeRole"), ImplicitDeny},

		// The other operator families.
		{"IpAddress in a CIDR", stmt(allowWeb(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`)), with(irsa(subApp, sts), "aws:SourceIp", "10.1.2.3"), Allowed},
		{"NotIpAddress", stmt(allowWeb(`{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.1"]}}`)), with(irsa(subApp, sts), "aws:SourceIp", "192.168.0.1"), ImplicitDeny},
		{"NumericLessThan", stmt(allowWeb(`{"NumericLessThan":{"aws:MultiFactorAuthAge":3600}}`)), with(irsa(subApp, sts), "aws:MultiFactorAuthAge", "60"), Allowed},
		{"DateGreaterThan", stmt(allowWeb(`{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}`)), with(irsa(subApp, sts), "aws:CurrentTime", "2019-06-01T00:00:00Z"), ImplicitDeny},
		{"Bool", stmt(allowWeb(`{"Bool":{"aws:SecureTransport":true}}`)), with(irsa(subApp, sts), "aws:SecureTransport", "TRUE"), Allowed},
		{"BinaryEquals", stmt(allowWeb(`{"BinaryEquals":{"k":"YWJj"}}`)), with(irsa(subApp, sts), "k", "YWJj"), Allowed},

		// What cannot be known is not guessed.
		{"a clause on an unknown key", stmt(allowWeb(`{"StringEquals":{"aws:RequestTag/kubernetes-pod-name":"web-0"}}`)),
			Request{Action: ActionWebIdentity, Caller: Caller{Type: "Federated", ID: provider}, Unknown: []string{"aws:RequestTag/kubernetes-pod-name"}}, Undecided},
		{"an unknown clause under a failing one", stmt(allowWeb(`{"StringEquals":{"aws:RequestTag/kubernetes-pod-name":"web-0","` + hp + `:aud":"vault"}}`)),
			Request{Action: ActionWebIdentity, Caller: Caller{Type: "Federated", ID: provider}, Keys: map[string][]string{hp + ":aud": {sts}}, Unknown: []string{"aws:RequestTag/kubernetes-pod-name"}}, ImplicitDeny},
		{"a policy variable resolved from the request", stmt(allowWeb(`{"StringEquals":{"` + hp + `:aud":"${` + hp + `:aud}"}}`)), irsa(subApp, sts), Allowed},

		// Shapes IAM stores.
		{"one statement as an object", `{"Version":"2012-10-17","Statement":` + exact + `}`, irsa(subApp, sts), Allowed},
		{"URL-encoded, as GetRole returns it", url.QueryEscape(stmt(exact)), irsa(subApp, sts), Allowed},
	}
	if len(tests) < 25 {
		t.Fatalf("the table holds %d policies; IAM's rules need at least 25", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDocument(tt.doc)
			if err != nil {
				t.Fatalf("ParseDocument: %v\n%s", err, tt.doc)
			}
			if got := d.Evaluate(tt.req); got.Decision != tt.want {
				t.Fatalf("Evaluate = %s, want %s\n%s\n%+v", got.Decision, tt.want, d.JSON(), got.Statements)
			}
		})
	}
}

func TestParseDocumentRefuses(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not JSON", `{"Statement":`, "not JSON"},
		{"no statement", `{"Version":"2012-10-17"}`, "no Statement"},
		{"unknown element", `{"Statement":[],"Foo":1}`, "unknown policy element"},
		{"Resource", stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), "Resource"},
		{"no Effect", stmt(`{"Principal":"*","Action":"*"}`), "Effect"},
		{"no Action", stmt(`{"Effect":"Allow","Principal":"*"}`), "no Action"},
		{"no Principal", stmt(`{"Effect":"Allow","Action":"*"}`), "no Principal"},
		{"unknown operator", stmt(allowWeb(`{"StringMatches":{"k":"v"}}`)), "unknown condition operator"},
		{"IfExists on Null", stmt(allowWeb(`{"NullIfExists":{"k":"true"}}`)), "unknown condition operator"},
		{"a key twice", `{"Statement":[],"Statement":[]}`, "twice"},
		{"an object as a value", stmt(allowWeb(`{"StringEquals":{"k":{"a":"b"}}}`)), "not a string"},
		{"a partial principal string", stmt(`{"Effect":"Allow","Principal":"arn:aws:iam::1:root","Action":"*"}`), `only be "*"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDocument(tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseDocument error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestDocumentRoundTrip: a document renders back with its keys in order and its scalars and
// lists as written, so a corrected copy differs only where it was corrected.
func TestDocumentRoundTrip(t *testing.T) {
	in := `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "irsa",
      "Effect": "Allow",
      "Principal": {
        "Federated": "` + provider + `"
      },
      "Action": [
        "sts:AssumeRoleWithWebIdentity"
      ],
      "Condition": {
        "StringLike": {
          "` + hp + `:sub": "system:serviceaccount:team:*"
        },
        "Bool": {
          "aws:SecureTransport": true
        },
        "StringEquals": {
          "` + hp + `:aud": "sts.amazonaws.com"
        }
      }
    }
  ]
}
`
	d, err := ParseDocument(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.JSON(); got != in {
		t.Fatalf("round trip:\n%s\nwant:\n%s", got, in)
	}
	if got, want := d.Size(), len(strings.Join(strings.Fields(in), "")); got != want {
		t.Fatalf("Size = %d, want %d (no white space outside strings here)", got, want)
	}
	c := d.Clone()
	c.Statements[0].Conditions[0].Values.Items[0] = "changed"
	if d.Statements[0].Conditions[0].Values.Items[0] == "changed" {
		t.Fatal("Clone shares values with the original")
	}
}
