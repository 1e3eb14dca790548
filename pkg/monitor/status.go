package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StatusKey is the status ConfigMap's data key that holds the Status document.
const StatusKey = "status.json"

// Status is the monitor's last results, as `kubectl wi monitor status` reads them from the
// status ConfigMap. Adding fields is allowed; renaming or retyping one is not.
type Status struct {
	Updated    time.Time `json:"updated"`
	Leader     string    `json:"leader"`
	WebhookUp  bool      `json:"webhookUp"`
	AgentReady bool      `json:"agentReady"`
	// AWSReads is "enabled", or "not configured: <why>".
	AWSReads string `json:"awsReads"`
	// Accounts are the accounts proven at least once, sorted by namespace and name.
	Accounts []AccountStatus `json:"accounts"`
}

// AccountStatus is one account's last proof.
type AccountStatus struct {
	Namespace       string    `json:"namespace"`
	ServiceAccount  string    `json:"serviceAccount"`
	Identity        string    `json:"identity"`
	Verified        bool      `json:"verified"`
	FailedChecks    []Check   `json:"failedChecks"`
	StalePods       int       `json:"stalePods"`
	LastRun         time.Time `json:"lastRun"`
	DurationSeconds float64   `json:"durationSeconds"`
}

// writeStatus creates or replaces the status ConfigMap's document, leaving its other keys,
// labels and annotations as they are.
func (m *Monitor) writeStatus(ctx context.Context, st Status) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("failed to encode the status: %w", err)
	}
	doc := redact(string(b))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cms := m.deps.Client.CoreV1().ConfigMaps(m.cfg.Namespace)
	cm, err := cms.Get(ctx, m.cfg.StatusConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: m.cfg.StatusConfigMap, Namespace: m.cfg.Namespace,
				Labels: map[string]string{NameLabel: Name}},
			Data: map[string]string{StatusKey: doc},
		}
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("failed to create configmap %s/%s: %w", m.cfg.Namespace, m.cfg.StatusConfigMap, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to get configmap %s/%s: %w", m.cfg.Namespace, m.cfg.StatusConfigMap, err)
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[StatusKey] = doc
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("failed to update configmap %s/%s: %w", m.cfg.Namespace, m.cfg.StatusConfigMap, err)
	}
	return nil
}

// readStatus is the status a previous leader wrote, or nil when there is none to read.
func (m *Monitor) readStatus(ctx context.Context) *Status {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cm, err := m.deps.Client.CoreV1().ConfigMaps(m.cfg.Namespace).Get(ctx, m.cfg.StatusConfigMap, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	var st Status
	if json.Unmarshal([]byte(cm.Data[StatusKey]), &st) != nil {
		return nil
	}
	return &st
}

// isGone is a deletion of an object already gone, or replaced (its UID precondition failed).
func isGone(err error) bool { return apierrors.IsNotFound(err) || apierrors.IsConflict(err) }
