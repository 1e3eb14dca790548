package checktarget

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		arg     string
		want    Target
		wantErr string
	}{
		{arg: "checkout", want: Target{Kind: KindServiceAccount, Name: "checkout"}},
		{arg: "serviceaccount/checkout", want: Target{Kind: KindServiceAccount, Name: "checkout"}},
		{arg: "sa/checkout", want: Target{Kind: KindServiceAccount, Name: "checkout"}},
		{arg: "deployment/web", want: Target{Kind: KindDeployment, Name: "web"}},
		{arg: "deploy/web", want: Target{Kind: KindDeployment, Name: "web"}},
		{arg: "Deployment.apps/web", want: Target{Kind: KindDeployment, Name: "web"}},
		{arg: "statefulset/db", want: Target{Kind: KindStatefulSet, Name: "db"}},
		{arg: "sts/db", want: Target{Kind: KindStatefulSet, Name: "db"}},
		{arg: "daemonset/agent", want: Target{Kind: KindDaemonSet, Name: "agent"}},
		{arg: "ds/agent", want: Target{Kind: KindDaemonSet, Name: "agent"}},
		{arg: "pod/web-5d8f-x2x7q", want: Target{Kind: KindPod, Name: "web-5d8f-x2x7q"}},
		{arg: "po/web", want: Target{Kind: KindPod, Name: "web"}},
		{arg: "Pods/web", want: Target{Kind: KindPod, Name: "web"}},
		{arg: "pod/", wantErr: "has no name"},
		{arg: "pod/Web_1", wantErr: "not a valid object name"},
		{arg: "pod/a/b", wantErr: "more than one slash"},
		{arg: "podx/web", wantErr: `unknown kind "podx"`},
		{arg: "deployment/", wantErr: "has no name"},
		{arg: "", wantErr: "has no name"},
		{arg: "Web_1", wantErr: "not a valid object name"},
		{arg: "deployment/a/b", wantErr: "more than one slash"},
		{arg: "storagecluster/px", wantErr: "verify their service account instead"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			got, err := Parse(tt.arg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
