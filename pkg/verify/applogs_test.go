package verify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// An example secret key from AWS's documentation, written by an app beside the failure.
const loggedSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

var (
	logJSv3Old   = `CredentialsProviderError: 169.254.170.23 is not a valid container metadata service hostname aws_secret_access_key=` + loggedSecret
	logNoCreds   = `botocore.exceptions.NoCredentialsError: Unable to locate credentials`
	logExpired   = `An error occurred (ExpiredToken) when calling the GetObject operation: The provided token has expired.`
	logAgentDown = `operation error SQS: ReceiveMessage, get identity: get credentials: failed to refresh cached credentials, failed to load credentials, request send failed, Get "http://169.254.170.23/v1/credentials": dial tcp 169.254.170.23:80: i/o timeout`
)

// appPod is a running pod of the workload, created age ago, with the named app containers.
func appPod(name string, age time.Duration, containers ...string) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", CreationTimestamp: metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(-age))},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

// fakeTail serves logs by POD/CONTAINER and records what was asked.
type fakeTail struct {
	mu    sync.Mutex
	logs  map[string]string
	errs  map[string]error
	asked []string
}

func (f *fakeTail) tail(_ context.Context, _, pod, container string, lines int64) (io.ReadCloser, error) {
	ref := pod + "/" + container
	f.mu.Lock()
	f.asked = append(f.asked, ref)
	f.mu.Unlock()
	if err := f.errs[ref]; err != nil {
		return nil, err
	}
	all := strings.Split(strings.TrimSuffix(f.logs[ref], "\n"), "\n")
	if f.logs[ref] == "" {
		all = nil
	}
	all = all[max(0, len(all)-int(lines)):] // as the apiserver's tailLines
	return io.NopCloser(strings.NewReader(strings.Join(all, "\n"))), nil
}

func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func TestCheckAppLogs(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "pods/log"}, "web-1", errors.New(`User "dev" cannot get resource "pods/log"`))
	many := make([]corev1.Pod, 5)
	for i := range many {
		many[i] = appPod("web-"+string(rune('a'+i)), time.Duration(i)*time.Hour, "app")
	}
	for _, tt := range []struct {
		name      string
		pods      []corev1.Pod
		logs      map[string]string
		errs      map[string]error
		maxLines  int64
		want      []check.Status
		msgs      []string // parts of the messages, in order of the events
		fix       string   // a part of a fix
		detail    string   // a part of a detail
		wantAsked []string // sorted; nil: not checked
	}{
		{name: "no running pod", pods: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}, Status: corev1.PodStatus{Phase: corev1.PodPending}}},
			want: []check.Status{check.StatusSkip}, msgs: []string{"no running pod"}},
		{name: "clean logs", pods: []corev1.Pod{appPod("web-1", 0, "app", "envoy"), appPod("web-2", time.Hour, "app")},
			logs:      map[string]string{"web-1/app": lines("started", "GET / 200"), "web-1/envoy": lines("ready"), "web-2/app": lines("started")},
			want:      []check.Status{check.StatusPass},
			msgs:      []string{"no AWS SDK credential failure in the logs of 3 containers of pods web-1, web-2 (4 lines, the last 500 of each at most); that does not prove"},
			wantAsked: []string{"web-1/app", "web-1/envoy", "web-2/app"}},
		{name: "an old SDK", pods: []corev1.Pod{appPod("web-1", 0, "app")},
			logs: map[string]string{"web-1/app": lines("started", logJSv3Old, logJSv3Old)},
			want: []check.Status{check.StatusFail},
			msgs: []string{"the app's log shows an AWS SDK too old for EKS Pod Identity: web-1/app: 2 lines of js-v3-invalid-hostname (AWS SDK for JavaScript v3 before @aws-sdk/credential-provider-node 3.503.1); the SDK's container credentials provider accepts only loopback hosts"},
			fix:  "upgrade @aws-sdk/credential-provider-node to 3.503.1 or later", detail: "web-1/app line 2: CredentialsProviderError: 169.254.170.23 is not a valid container metadata service hostname aws_secret_access_key=[REDACTED]"},
		{name: "two kinds, in the table's order", pods: []corev1.Pod{appPod("web-1", 0, "app"), appPod("web-2", time.Hour, "app")},
			logs: map[string]string{"web-1/app": lines(logExpired), "web-2/app": lines(logNoCreds)},
			want: []check.Status{check.StatusFail, check.StatusWarn},
			msgs: []string{"no credentials found by the AWS SDK's default chain: web-2/app: 1 line of botocore-no-credentials (botocore, boto3 and the AWS CLI)", "expired AWS credentials or tokens: web-1/app"}},
		{name: "the agent, a warning", pods: []corev1.Pod{appPod("web-1", 0, "app")},
			logs: map[string]string{"web-1/app": lines(logAgentDown)},
			want: []check.Status{check.StatusWarn}, msgs: []string{"failed requests to the EKS Pod Identity agent"}, fix: "outside.network_policy"},
		{name: "only the last lines", pods: []corev1.Pod{appPod("web-1", 0, "app")}, maxLines: 2,
			logs: map[string]string{"web-1/app": lines(logNoCreds, "recovered", "ok")},
			want: []check.Status{check.StatusPass}, msgs: []string{"(2 lines, the last 2 of each at most)"}},
		{name: "the newest pods only", pods: many,
			want:      []check.Status{check.StatusPass},
			msgs:      []string{"pods web-a, web-b, web-c (the 3 newest of 5 running)"},
			wantAsked: []string{"web-a/app", "web-b/app", "web-c/app"}},
		{name: "init containers are not read", pods: []corev1.Pod{func() corev1.Pod {
			p := appPod("web-1", 0, "app")
			p.Spec.InitContainers = []corev1.Container{{Name: "migrate"}}
			return p
		}()}, want: []check.Status{check.StatusPass}, wantAsked: []string{"web-1/app"}},
		{name: "one log unreadable", pods: []corev1.Pod{appPod("web-1", 0, "app", "envoy")},
			logs: map[string]string{"web-1/app": lines(logNoCreds)},
			errs: map[string]error{"web-1/envoy": apierrors.NewBadRequest(`container "envoy" in pod "web-1" is waiting to start: PodInitializing`)},
			want: []check.Status{check.StatusFail, check.StatusSkip},
			msgs: []string{"web-1/app", `1 of 2 container logs of pod web-1 cannot be read, so what they hold is not checked: web-1/envoy: failed to get pods/log "web-1" in namespace "shop": container "envoy" in pod "web-1" is waiting to start`}},
		{name: "no log readable", pods: []corev1.Pod{appPod("web-1", 0, "app", "envoy")},
			errs: map[string]error{"web-1/app": forbidden, "web-1/envoy": forbidden},
			want: []check.Status{check.StatusSkip},
			msgs: []string{`web-1/app, web-1/envoy: cannot get pods/log in namespace "shop": forbidden; ask for RBAC verb "get" on "pods/log"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ft := &fakeTail{logs: tt.logs, errs: tt.errs}
			evs := checkAppLogs(context.Background(), ft.tail, "shop", tt.pods, tt.maxLines)
			var got []check.Status
			for _, ev := range evs {
				if ev.Check != CheckOutsideAppLogs || ev.Type != check.TypeCheck {
					t.Errorf("event %s/%s, want a %s check", ev.Type, ev.Check, CheckOutsideAppLogs)
				}
				if ev.Status == check.StatusFail && ev.Fix == "" {
					t.Errorf("failed check without a fix: %s", ev.Message)
				}
				got = append(got, ev.Status)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("statuses = %v, want %v\n%s", got, tt.want, messages(evs))
			}
			for i, m := range tt.msgs {
				if !strings.Contains(evs[i].Message, m) {
					t.Errorf("message %d = %q, want it to say %q", i, evs[i].Message, m)
				}
			}
			if tt.fix != "" && !strings.Contains(evs[0].Fix, tt.fix) {
				t.Errorf("fix = %q, want it to say %q", evs[0].Fix, tt.fix)
			}
			if tt.detail != "" && !strings.Contains(evs[0].Detail, tt.detail) {
				t.Errorf("detail = %q, want it to say %q", evs[0].Detail, tt.detail)
			}
			if tt.wantAsked != nil {
				slices.Sort(ft.asked)
				if !slices.Equal(ft.asked, tt.wantAsked) {
					t.Errorf("read %v, want %v", ft.asked, tt.wantAsked)
				}
			}
			raw, _ := json.Marshal(evs)
			if strings.Contains(string(raw), loggedSecret) {
				t.Errorf("an event holds the logged secret: %s", raw)
			}
		})
	}
}

func messages(evs []check.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(string(ev.Status) + ": " + ev.Message + "\n")
	}
	return b.String()
}

// Through the clientset: the tail and byte bounds go to the apiserver, and what it answers
// is judged.
func TestCheckAppLogsClientset(t *testing.T) {
	c := fake.NewClientset()
	var opts []corev1.PodLogOptions
	var mu sync.Mutex
	c.PrependReactor("get", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		o := a.(clienttesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		mu.Lock()
		opts = append(opts, *o)
		mu.Unlock()
		if o.Container == "envoy" {
			return true, &runtime.Unknown{Raw: []byte("ready\n")}, nil
		}
		return true, &runtime.Unknown{Raw: []byte(lines("started", logNoCreds))}, nil
	})
	evs := CheckAppLogs(context.Background(), c, "shop", []corev1.Pod{appPod("web-1", 0, "app", "envoy")}, 0)
	if len(evs) != 1 || evs[0].Status != check.StatusFail || !strings.Contains(evs[0].Message, "web-1/app: 1 line of botocore-no-credentials") {
		t.Fatalf("events:\n%s", messages(evs))
	}
	if len(opts) != 2 {
		t.Fatalf("%d log reads, want 2", len(opts))
	}
	for _, o := range opts {
		if o.TailLines == nil || *o.TailLines != DefaultAppLogLines || o.LimitBytes == nil || *o.LimitBytes != maxAppLogBytes || o.Follow || o.Previous {
			t.Errorf("log options %+v, want the last %d lines, at most %d bytes, no follow", o, DefaultAppLogLines, maxAppLogBytes)
		}
	}
}
