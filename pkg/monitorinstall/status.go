package monitorinstall

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
)

// Status is the status object the running monitor writes to StatusConfigMap (key StatusKey)
// once per proof round, as `monitor status` reads it.
type Status struct {
	Updated    time.Time       `json:"updated"`
	Leader     string          `json:"leader"`
	WebhookUp  bool            `json:"webhookUp"`
	AgentReady bool            `json:"agentReady"`
	AWSReads   string          `json:"awsReads"`
	Accounts   []AccountStatus `json:"accounts"`
}

// AccountStatus is the last proof of one identity account.
type AccountStatus struct {
	Namespace       string        `json:"namespace"`
	ServiceAccount  string        `json:"serviceAccount"`
	Identity        string        `json:"identity"` // irsa | pod-identity
	Verified        bool          `json:"verified"`
	FailedChecks    []FailedCheck `json:"failedChecks,omitempty"`
	StalePods       int           `json:"stalePods"`
	LastRun         time.Time     `json:"lastRun"`
	DurationSeconds float64       `json:"durationSeconds"`
}

// FailedCheck is one check that failed in an account's last proof, with its fix.
type FailedCheck struct {
	Check   string `json:"check"`
	Message string `json:"message,omitempty"`
	Fix     string `json:"fix,omitempty"`
}

// ErrNoStatus is ReadStatus's error when the monitor has written no status yet (or is not
// installed in that namespace).
type ErrNoStatus struct{ Namespace string }

func (e *ErrNoStatus) Error() string {
	return fmt.Sprintf("no monitor status in namespace %s: the monitor is not installed there (kubectl wi monitor install), or has not finished its first round", e.Namespace)
}

// ReadStatus reads the monitor's status object from namespace ns.
func ReadStatus(ctx context.Context, d Deps, ns string) (*Status, error) {
	cm, err := d.Client.CoreV1().ConfigMaps(ns).Get(ctx, StatusConfigMap, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, &ErrNoStatus{Namespace: ns}
	case err != nil:
		return nil, apicall.Wrap(err, "get", "configmaps", ns, StatusConfigMap)
	}
	raw, ok := cm.Data[StatusKey]
	if !ok {
		return nil, &ErrNoStatus{Namespace: ns}
	}
	var s Status
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return nil, fmt.Errorf("configmap %s/%s: %s is not the monitor's status: %w", ns, StatusConfigMap, StatusKey, err)
	}
	return &s, nil
}
