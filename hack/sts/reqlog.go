package sts

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// requestLog writes one JSON line per request, for tests to count and inspect what reached
// AWS (how many writes, by whom, with which outcome). A line holds no token, secret access
// key or session token: only names, ARNs, access key ids and outcomes.
type requestLog struct {
	mu sync.Mutex
	w  io.Writer
}

// WithRequestLog sets where the server writes its JSON request log.
func WithRequestLog(w io.Writer) Option {
	return func(s *Server) { s.requests = &requestLog{w: w} }
}

// RequestLogLine is one line of the request log.
type RequestLogLine struct {
	Time        time.Time `json:"time"`
	RequestID   string    `json:"requestId"`
	Service     string    `json:"service"`
	Action      string    `json:"action"`
	Principal   string    `json:"principal,omitempty"`
	AccessKeyID string    `json:"accessKeyId,omitempty"`
	Status      int       `json:"status"`
	// Outcome is "OK" or the error code answered.
	Outcome string `json:"outcome"`
	// Write is true for an action that changes state, answered or not.
	Write bool `json:"write"`

	Role           string            `json:"role,omitempty"`
	TargetRole     string            `json:"targetRole,omitempty"`
	Session        string            `json:"session,omitempty"`
	Subject        string            `json:"subject,omitempty"`
	Cluster        string            `json:"cluster,omitempty"`
	Association    string            `json:"association,omitempty"`
	Namespace      string            `json:"namespace,omitempty"`
	ServiceAccount string            `json:"serviceAccount,omitempty"`
	SessionTags    map[string]string `json:"sessionTags,omitempty"`
	Detail         string            `json:"detail,omitempty"`
}

// writeActions are the actions that change state.
var writeActions = map[string]bool{
	"UpdateAssumeRolePolicy":       true,
	"CreatePodIdentityAssociation": true,
	"UpdatePodIdentityAssociation": true,
	"DeletePodIdentityAssociation": true,
}

func (l *requestLog) write(now time.Time, _ *http.Request, requestID string, status int, code string, e logEntry) {
	if l == nil {
		return
	}
	b, err := json.Marshal(RequestLogLine{
		Time: now.UTC(), RequestID: requestID, Service: e.service, Action: e.action, Principal: e.principal,
		AccessKeyID: e.accessKeyID, Status: status, Outcome: code, Write: writeActions[e.action],
		Role: e.role, TargetRole: e.targetRole, Session: e.session, Subject: e.subject, Cluster: e.cluster,
		Association: e.association, Namespace: e.namespace, ServiceAccount: e.serviceAccount,
		SessionTags: e.sessionTags, Detail: e.detail,
	})
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(append(b, '\n'))
}
