package explain

import (
	"encoding/json"
	"fmt"
	"strings"
)

// An association's inline session policy (EKS API, PodIdentityAssociation.policy) is
// intersected with the permissions of the role the pods get: the target role's when the
// association has one (EKS applies it to that session only), the association's role's
// otherwise. EKS takes it only with disableSessionTags set. explain does not evaluate it
// against the role's own policies, which it does not read; it says what it allows.

// sessionStatement is what a summary needs of one statement of a permissions policy.
type sessionStatement struct {
	Effect      string          `json:"Effect"`
	Action      json.RawMessage `json:"Action"`
	NotAction   json.RawMessage `json:"NotAction"`
	Resource    json.RawMessage `json:"Resource"`
	NotResource json.RawMessage `json:"NotResource"`
	Condition   json.RawMessage `json:"Condition"`
}

// summarizeSessionPolicy words what a session policy allows and denies, statement by
// statement: "Allow s3:GetObject on arn:aws:s3:::bucket/*".
func summarizeSessionPolicy(doc string) (string, error) {
	var p struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return "", fmt.Errorf("the session policy is not JSON: %w", err)
	}
	var sts []sessionStatement
	if err := json.Unmarshal(p.Statement, &sts); err != nil {
		var one sessionStatement
		if err := json.Unmarshal(p.Statement, &one); err != nil {
			return "", fmt.Errorf("the session policy's Statement is neither a statement nor a list: %w", err)
		}
		sts = []sessionStatement{one}
	}
	if len(sts) == 0 {
		return "no statement: it allows nothing", nil
	}
	parts := make([]string, 0, len(sts))
	for _, st := range sts {
		what := stringsOf(st.Action)
		if len(st.NotAction) > 0 {
			what = "every action but " + stringsOf(st.NotAction)
		}
		on := "on " + stringsOf(st.Resource)
		if len(st.NotResource) > 0 {
			on = "on every resource but " + stringsOf(st.NotResource)
		}
		part := st.Effect + " " + what + " " + on
		if len(st.Condition) > 0 && string(st.Condition) != "null" {
			part += " when " + string(st.Condition)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; "), nil
}

// stringsOf is a string-or-list element as a comma list; "nothing" when absent.
func stringsOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return strings.Join(many, ", ")
	}
	return string(raw)
}
