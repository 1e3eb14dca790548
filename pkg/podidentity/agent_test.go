package podidentity_test

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

func TestCheckAgent(t *testing.T) {
	agent := func(desired, ready int32) *appsv1.DaemonSet {
		return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: podidentity.AgentNamespace, Name: podidentity.AgentDaemonSet},
			Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: desired, NumberReady: ready}}
	}
	tests := []struct {
		name      string
		objs      []runtime.Object
		want      podidentity.AgentState
		wantReady bool // DaemonSetReady of the DaemonSet, when there is one
	}{
		{name: "every node's pod ready", objs: []runtime.Object{agent(3, 3)}, want: podidentity.AgentReady, wantReady: true},
		{name: "one node's pod not ready", objs: []runtime.Object{agent(3, 2)}, want: podidentity.AgentNotReady},
		{name: "scheduled on no node", objs: []runtime.Object{agent(0, 0)}, want: podidentity.AgentNotReady},
		{name: "no DaemonSet", want: podidentity.AgentUnseen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podidentity.CheckAgent(context.Background(), fake.NewClientset(tt.objs...)); got.State != tt.want {
				t.Errorf("CheckAgent = %s (%s), want %s", got.State, got.Message, tt.want)
			}
			for _, o := range tt.objs {
				if got := podidentity.DaemonSetReady(o.(*appsv1.DaemonSet)); got != tt.wantReady {
					t.Errorf("DaemonSetReady = %t, want %t", got, tt.wantReady)
				}
			}
		})
	}
}
