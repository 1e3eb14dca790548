//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// breadthCase is one account whose role's trust policy admits it: what explain must warn of.
type breadthCase struct {
	sa     string
	cond   func(host, ns, sa string) map[string]any // the statement's Condition; nil: none
	code   string                                   // the finding; "" for a tight policy
	want   []string                                 // in the warning's message
	admits string                                   // in its data's admits
}

// TestExplainTrustBreadth seeds roles whose trust policies admit their account and more, and
// tight ones: explain passes iam.trust for all, warns (exit 0) of each broad one in
// iam.trust_breadth with the statement, the clause, who else it admits and the tightened
// policy as a diff, and says nothing more of the tight ones.
func TestExplainTrustBreadth(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	host := strings.TrimPrefix(e.issuer, "https://")
	provider := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", e.stsAccount, host)
	sub := func(ns, sa string) string { return "system:serviceaccount:" + ns + ":" + sa }
	aud := func(host string) map[string]any { return map[string]any{host + ":aud": "sts.amazonaws.com"} }
	cases := []breadthCase{
		{sa: "tight", cond: func(h, ns, sa string) map[string]any {
			return map[string]any{"StringEquals": map[string]any{h + ":aud": "sts.amazonaws.com", h + ":sub": sub(ns, sa)}}
		}},
		{sa: "tight-namespace", cond: func(h, ns, _ string) map[string]any {
			return map[string]any{"StringEquals": aud(h), "StringLike": map[string]any{h + ":sub": sub(ns, "*")}}
		}},
		{sa: "tight-ifexists", cond: func(h, ns, sa string) map[string]any {
			// IfExists on the issuer's own sub: every token carries it, so it restricts.
			return map[string]any{"StringEquals": aud(h), "StringEqualsIfExists": map[string]any{h + ":sub": sub(ns, sa)}}
		}},

		{sa: "no-aud", code: "no-audience", admits: "any audience the provider lists as a client ID",
			want: []string{"statement 0: no condition on " + host + ":aud holds the token's audience to sts.amazonaws.com"},
			cond: func(h, ns, sa string) map[string]any {
				return map[string]any{"StringEquals": map[string]any{h + ":sub": sub(ns, sa)}}
			}},
		{sa: "no-sub", code: "broad-subject", admits: "every service account of the cluster",
			want: []string{"no condition on " + host + ":sub names the service account"},
			cond: func(h, _, _ string) map[string]any { return map[string]any{"StringEquals": aud(h)} }},
		{sa: "star-cluster", code: "broad-subject", admits: "every service account of the cluster",
			want: []string{`"StringLike": {"` + host + `:sub": "system:serviceaccount:*"}`},
			cond: func(h, _, _ string) map[string]any {
				return map[string]any{"StringEquals": aud(h), "StringLike": map[string]any{h + ":sub": "system:serviceaccount:*"}}
			}},
		{sa: "star-namespaces", code: "broad-subject", admits: "the service account star-namespaces of other namespaces",
			want: []string{`"StringLike": {"` + host + `:sub": "system:serviceaccount:*:star-namespaces"}`},
			cond: func(h, _, sa string) map[string]any {
				return map[string]any{"StringEquals": aud(h), "StringLike": map[string]any{h + ":sub": sub("*", sa)}}
			}},
		{sa: "void-ifexists", code: "void-clause", admits: "every service account of the cluster",
			want: []string{`"StringEqualsIfExists": {"https://` + host + `:sub"`, "never carry", "...IfExists holds when the key is absent", "restricts nothing"},
			cond: func(h, ns, sa string) map[string]any {
				return map[string]any{"StringEquals": aud(h), "StringEqualsIfExists": map[string]any{"https://" + h + ":sub": sub(ns, sa)}}
			}},
		{sa: "set-operator", code: "set-operator",
			want: []string{`"ForAnyValue:StringEquals": {"` + host + `:sub"`, "a single-valued key"},
			cond: func(h, ns, sa string) map[string]any {
				return map[string]any{"StringEquals": aud(h), "ForAnyValue:StringEquals": map[string]any{h + ":sub": sub(ns, sa)}}
			}},
		{sa: "key-case", code: "key-case",
			want: []string{"the key " + host + ":SUB is written in another case than IAM's " + host + ":sub"},
			cond: func(h, ns, sa string) map[string]any {
				return map[string]any{"StringEquals": map[string]any{h + ":aud": "sts.amazonaws.com", h + ":SUB": sub(ns, sa)}}
			}},
		{sa: "no-condition", code: "no-condition", admits: "every service account of the cluster, with a token of any audience",
			want: []string{"no Condition (missing or empty)"}},
		{sa: "empty-condition", code: "no-condition", admits: "every service account of the cluster",
			want: []string{"no Condition (missing or empty)"},
			cond: func(string, string, string) map[string]any { return map[string]any{} }},
		{sa: "negated-only", code: "broad-subject", admits: "every service account of the cluster",
			want: []string{`"StringNotEquals": {"` + host + `:sub": "system:serviceaccount:kube-system:admin"}`},
			cond: func(h, _, _ string) map[string]any {
				return map[string]any{"StringEquals": aud(h), "StringNotEquals": map[string]any{h + ":sub": sub("kube-system", "admin")}}
			}},
	}
	broad := 0
	for _, tc := range cases {
		if tc.code != "" {
			broad++
		}
	}
	if broad < 8 {
		t.Fatalf("%d broad policies, the issue asks for at least 8", broad)
	}

	user := e.newAWSUser(t)
	pfx := "br" + randSuffix()
	var last string
	for _, tc := range cases {
		role := pfx + "-" + tc.sa
		st := map[string]any{"Effect": "Allow", "Principal": map[string]any{"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity"}
		if tc.cond != nil {
			st["Condition"] = tc.cond(host, ns, tc.sa)
		}
		e.addSTSRole(t, role, map[string]any{"Version": "2012-10-17", "Statement": []any{st}})
		last = role
		ann := map[string]string{"eks.amazonaws.com/role-arn": fmt.Sprintf("arn:aws:iam::%s:role/%s", e.stsAccount, role)}
		if _, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), saObject(tc.sa, ann), createOpts()); err != nil {
			t.Fatal(err)
		}
	}
	e.awaitRole(t, user, last)

	cmd := execWI(e, "explain", "-n", ns, "-o", "json")
	cmd.Env = e.awsEnv(&user)
	res := e.run(t, cmd)
	if res.code != 0 {
		t.Fatalf("explain exited %d, want 0 (warnings only):\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	evs := explainEvents(t, res.stdout)
	for _, tc := range cases {
		sa := ns + "/" + tc.sa
		got := accountChecks(evs, sa)
		if tr := got["iam.trust"]; len(tr) != 1 || tr[0].Status != check.StatusPass {
			t.Errorf("%s: iam.trust is %+v, want PASS: the policy admits the account", sa, tr)
		}
		warns := got["iam.trust_breadth"]
		if tc.code == "" {
			if len(warns) != 0 {
				t.Errorf("%s: a tight policy warned: %+v", sa, warns)
			}
			continue
		}
		var w *check.Event
		for i := range warns {
			if warns[i].Data["code"] == tc.code {
				w = &warns[i]
			}
		}
		if w == nil || w.Status != check.StatusWarn {
			t.Errorf("%s: no %s warning: %+v", sa, tc.code, warns)
			continue
		}
		for _, s := range tc.want {
			if !strings.Contains(w.Message, s) {
				t.Errorf("%s: %q does not say %q", sa, w.Message, s)
			}
		}
		if admits, _ := w.Data["admits"].(string); !strings.Contains(admits, tc.admits) || tc.admits != "" && !strings.Contains(w.Message, "it also admits "+admits) {
			t.Errorf("%s: admits %q, want %q named in the message %q", sa, admits, tc.admits, w.Message)
		}
		if w.Data["element"] == "" || !strings.Contains(w.Message, "statement 0") {
			t.Errorf("%s: the warning names no statement or clause: %+v", sa, w)
		}
		if !strings.Contains(w.Detail, "\n+") || !strings.Contains(w.Fix, "aws iam update-assume-role-policy --role-name "+pfx+"-"+tc.sa+" ") {
			t.Errorf("%s: no tightened policy as a diff and the command to apply it: detail %q fix %q", sa, w.Detail, w.Fix)
		}
	}
	if v := evs[len(evs)-1]; v.Type != check.TypeResult || v.Status != check.StatusWarn {
		t.Errorf("the verdict is %+v, want warn", v)
	}

	t.Run("text output shows the tightening under its warning", func(t *testing.T) {
		cmd := execWI(e, "explain", "serviceaccount/no-sub", "-n", ns, "-o", "text")
		cmd.Env = e.awsEnv(&user)
		res := e.run(t, cmd)
		if res.code != 0 || !strings.Contains(res.stdout, "WARN iam.trust_breadth  "+ns+"/no-sub:") ||
			!strings.Contains(res.stdout, `+          "`+host+`:sub": "`+sub(ns, "no-sub")+`"`) {
			t.Fatalf("exit %d:\n%s\n%s", res.code, res.stdout, res.stderr)
		}
	})
}
