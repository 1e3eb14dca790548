package monitorinstall

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/monitor"
)

// ErrNoStatus is ReadStatus's error when the monitor has written no status yet (or is not
// installed in that namespace).
type ErrNoStatus struct{ Namespace string }

func (e *ErrNoStatus) Error() string {
	return fmt.Sprintf("no monitor status in namespace %s: the monitor is not installed there (kubectl wi monitor install), or has not finished its first round", e.Namespace)
}

// ReadStatus reads the monitor's status object (monitor.Status, which the running monitor
// writes once per round) from namespace ns.
func ReadStatus(ctx context.Context, d Deps, ns string) (*monitor.Status, error) {
	cm, err := d.Client.CoreV1().ConfigMaps(ns).Get(ctx, StatusConfigMap, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, &ErrNoStatus{Namespace: ns}
	case err != nil:
		return nil, apicall.Wrap(err, "get", "configmaps", ns, StatusConfigMap)
	}
	raw, ok := cm.Data[monitor.StatusKey]
	if !ok {
		return nil, &ErrNoStatus{Namespace: ns}
	}
	var s monitor.Status
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return nil, fmt.Errorf("configmap %s/%s: %s is not the monitor's status: %w", ns, StatusConfigMap, monitor.StatusKey, err)
	}
	return &s, nil
}
