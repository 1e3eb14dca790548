package sts

import (
	"net/http"
	"slices"
	"strings"
)

// authorize decides whether p may call action (e.g. "iam:GetRole") on resource, as it appears
// in AWS's message ("role app", or an ARN). A user may call everything but its deny list; a
// session of a role may call STS and what its role's Allow lists (its permission policy).
// The error has the query protocol's code (AccessDenied); the JSON services rename it.
func authorize(p *principal, action, resource string) *apiError {
	allowed := true
	switch {
	case p.user != nil:
		for _, d := range p.user.Deny {
			if globMatch(strings.ToLower(d), strings.ToLower(action)) {
				allowed = false
			}
		}
	default:
		allowed = strings.HasPrefix(action, "sts:") || slices.ContainsFunc(p.allow, func(a string) bool {
			return globMatch(strings.ToLower(a), strings.ToLower(action))
		})
	}
	if allowed {
		return nil
	}
	return denied(p, action, resource)
}

// denied is IAM's refusal of an action the caller's policies do not allow.
func denied(p *principal, action, resource string) *apiError {
	msg := "User: " + p.arn + " is not authorized to perform: " + action
	if resource != "" {
		msg += " on resource: " + resource
	}
	msg += " because no identity-based policy allows the " + action + " action"
	return &apiError{status: http.StatusForbidden, code: "AccessDenied", message: msg}
}
