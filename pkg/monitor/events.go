package monitor

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

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
// that the proof passed again.
func eventMessage(r Result) string {
	if r.Verified {
		return fmt.Sprintf("the %s identity of service account %s is proven again from a probe pod", r.Account.Identity, r.Account.key())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the %s identity of service account %s failed its proof:", r.Account.Identity, r.Account.key())
	for _, c := range r.FailedChecks {
		fmt.Fprintf(&b, " %s: %s", c.Check, c.Message)
		if c.Fix != "" {
			fmt.Fprintf(&b, " (fix: %s)", c.Fix)
		}
		b.WriteString(";")
	}
	return truncate(redact(strings.TrimSuffix(b.String(), ";")), maxEventMessage)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
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
