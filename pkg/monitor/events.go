package monitor

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Events the monitor writes on a service account, only when its proof changes verdict.
const (
	ReasonProofFailed    = "IdentityProofFailed"
	ReasonProofRecovered = "IdentityProofRecovered"
	// Component is the Events' reporting component and source.
	Component = Name
)

// maxEventMessage is the apiserver's bound on an Event's message (1 KiB for events.k8s.io;
// core Events are cut there too by kubectl's recorder).
const maxEventMessage = 1024

// transition is the Event a result calls for, given the account's last verdict (nil: none
// known): a failure after a pass or on first sight, a pass after a failure; "" otherwise.
func transition(prev *bool, r Result) (eventType, reason string) {
	switch {
	case !r.Verified && (prev == nil || *prev):
		return corev1.EventTypeWarning, ReasonProofFailed
	case r.Verified && prev != nil && !*prev:
		return corev1.EventTypeNormal, ReasonProofRecovered
	}
	return "", ""
}

// eventMessage is what an Event says of a result: the failed checks and their fixes, or
// that the proof passed again. It names every failed check first, and gives each check's
// words a share of the apiserver's bound, so that a long one never crowds out the others:
// STS's refusal lists every cause it may hide, and explain's check after it says which one.
func eventMessage(r Result) string {
	if r.Verified {
		return fmt.Sprintf("the %s identity of service account %s is proven again from a probe pod", r.Account.Identity, r.Account.key())
	}
	names := make([]string, len(r.FailedChecks))
	parts := make([]string, len(r.FailedChecks))
	for i, c := range r.FailedChecks {
		names[i] = c.Check
		parts[i] = redact(c.Check + ": " + c.Message)
		if c.Fix != "" {
			parts[i] += redact(" (fix: " + c.Fix + ")")
		}
	}
	head := redact(fmt.Sprintf("the %s identity of service account %s failed its proof (%s)", r.Account.Identity, r.Account.key(), strings.Join(names, ", ")))
	if len(parts) == 0 {
		return truncate(head, maxEventMessage)
	}
	const intro, sep = ": ", "; "
	shares := fairShares(parts, maxEventMessage-len(head)-len(intro)-len(sep)*(len(parts)-1))
	for i := range parts {
		parts[i] = truncate(parts[i], shares[i])
	}
	return truncate(head+intro+strings.Join(parts, sep), maxEventMessage)
}

// fairShares splits budget bytes among parts: a part shorter than an equal share keeps its
// length, and what it leaves goes to the longer ones.
func fairShares(parts []string, budget int) []int {
	shares := make([]int, len(parts))
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(parts[a]), len(parts[b])) })
	left := max(budget, 0)
	for n, i := range order {
		shares[i] = min(len(parts[i]), left/(len(order)-n))
		left -= shares[i]
	}
	return shares
}

// truncate cuts s to at most n bytes, ending in "..." when cut, on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 3 {
		return ""
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// secretPatterns are credentials a message must never carry, should a check ever quote one:
// AWS access key IDs (long-term AKIA, temporary ASIA; IAM user guide, "Unique identifier
// prefixes"), JWTs (a projected token: base64url header starting {"), and the long base64 of
// session tokens and secret keys after their names.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`),
	regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`),
	regexp.MustCompile(`(?i)((secret_?access_?key|session_?token|aws_secret_access_key|aws_session_token)["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{16,}`),
	regexp.MustCompile(`[A-Za-z0-9/+=]{100,}`),
}

// redact masks what looks like a credential.
func redact(s string) string {
	for i, re := range secretPatterns {
		if i == 2 {
			s = re.ReplaceAllString(s, "${1}[redacted]")
			continue
		}
		s = re.ReplaceAllString(s, "[redacted]")
	}
	return s
}

// writeEvent creates an Event on the account's service account.
func (m *Monitor) writeEvent(ctx context.Context, a Account, uid types.UID, eventType, reason, message string) error {
	now := metav1.NewTime(m.deps.Clock.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			// As client-go's recorder names them: the object's name and a unique suffix.
			Name:      fmt.Sprintf("%s.%x", a.Name, now.UnixNano()),
			Namespace: a.Namespace,
		},
		InvolvedObject: corev1.ObjectReference{
			Kind: "ServiceAccount", APIVersion: "v1", Namespace: a.Namespace, Name: a.Name, UID: uid,
		},
		Reason: reason, Message: message, Type: eventType,
		Source:         corev1.EventSource{Component: Component},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: Component, ReportingInstance: m.cfg.Identity,
		Action: "Prove",
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := m.deps.Client.CoreV1().Events(a.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}
