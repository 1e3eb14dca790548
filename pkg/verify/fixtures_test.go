package verify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// storedCase is one file of testdata/stored: the stored pod, what was expected of it, what the
// outside checks knew, and the checks it must give.
type storedCase struct {
	Expected struct {
		ServiceAccount string `json:"serviceAccount"`
		RoleARN        string `json:"roleARN"`
		Audience       string `json:"audience"`
		Expiration     int64  `json:"expiration"`
	} `json:"expected"`
	Cluster struct {
		HasRoleAnnotation bool     `json:"hasRoleAnnotation"`
		WebhooksKnown     bool     `json:"webhooksKnown"`
		Webhooks          []string `json:"webhooks"`
	} `json:"cluster"`
	Want struct {
		Mutated     bool                    `json:"mutated"`
		Checks      map[string]check.Status `json:"checks"`
		Messages    []string                `json:"messages"`
		NotMessages []string                `json:"notMessages"`
		Fixes       []string                `json:"fixes"`
	} `json:"want"`
	Pod corev1.Pod `json:"pod"`
}

func TestCheckStoredPod(t *testing.T) {
	files, err := filepath.Glob("testdata/stored/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			var tc storedCase
			readYAML(t, file, &tc)
			ns, name, _ := strings.Cut(tc.Expected.ServiceAccount, "/")
			want := Expected{
				ServiceAccount: tc.Expected.ServiceAccount, Subject: "system:serviceaccount:" + ns + ":" + name,
				RoleARN: tc.Expected.RoleARN, Audience: tc.Expected.Audience, Expiration: tc.Expected.Expiration,
			}
			cl := Cluster{HasRoleAnnotation: tc.Cluster.HasRoleAnnotation, WebhooksKnown: tc.Cluster.WebhooksKnown, Webhooks: tc.Cluster.Webhooks}

			evs, mutated := CheckStoredPod(&tc.Pod, want, cl)

			if mutated != tc.Want.Mutated {
				t.Errorf("mutated = %v, want %v", mutated, tc.Want.Mutated)
			}
			got := map[string]check.Status{}
			var msgs, fixes []string
			for _, ev := range evs {
				if ev.Type != check.TypeCheck {
					t.Errorf("event %s is a %s, want a check", ev.Check, ev.Type)
				}
				if _, dup := got[ev.Check]; dup {
					t.Errorf("check %s twice", ev.Check)
				}
				got[ev.Check] = ev.Status
				msgs = append(msgs, ev.Message)
				fixes = append(fixes, ev.Fix)
				if ev.Status == check.StatusFail && ev.Fix == "" {
					t.Errorf("failed check %s has no fix", ev.Check)
				}
			}
			if !equalStatuses(got, tc.Want.Checks) {
				t.Errorf("checks = %v, want %v", got, tc.Want.Checks)
			}
			all := strings.Join(msgs, "\n")
			for _, m := range tc.Want.Messages {
				if !strings.Contains(all, m) {
					t.Errorf("no message contains %q:\n%s", m, all)
				}
			}
			for _, m := range tc.Want.NotMessages {
				if strings.Contains(all, m) {
					t.Errorf("a message contains %q:\n%s", m, all)
				}
			}
			allFixes := strings.Join(fixes, "\n")
			for _, f := range tc.Want.Fixes {
				if !strings.Contains(allFixes, f) {
					t.Errorf("no fix contains %q:\n%s", f, allFixes)
				}
			}
		})
	}
}

func equalStatuses(a, b map[string]check.Status) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// startCase is one file of testdata/start: a pod's status and what AssessStart must say.
type startCase struct {
	Want struct {
		Scheduled     bool     `json:"scheduled"`
		Ran           bool     `json:"ran"`
		Unschedulable bool     `json:"unschedulable"`
		Fatal         bool     `json:"fatal"`
		Reason        string   `json:"reason"`
		Progress      string   `json:"progress"`
		Message       []string `json:"message"`
		Fix           []string `json:"fix"`
	} `json:"want"`
	Pod corev1.Pod `json:"pod"`
}

func TestAssessStart(t *testing.T) {
	files, err := filepath.Glob("testdata/start/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			var tc startCase
			readYAML(t, file, &tc)
			st := AssessStart(&tc.Pod)
			w := tc.Want
			if st.Scheduled != w.Scheduled || st.Ran != w.Ran || st.Unschedulable != w.Unschedulable || st.Fatal != w.Fatal || st.Reason != w.Reason {
				t.Errorf("got scheduled=%v ran=%v unschedulable=%v fatal=%v reason=%q, want scheduled=%v ran=%v unschedulable=%v fatal=%v reason=%q",
					st.Scheduled, st.Ran, st.Unschedulable, st.Fatal, st.Reason, w.Scheduled, w.Ran, w.Unschedulable, w.Fatal, w.Reason)
			}
			if !st.Ran && !st.Fatal && st.Progress != w.Progress {
				t.Errorf("progress %q, want %q", st.Progress, w.Progress)
			}
			for _, m := range w.Message {
				if !strings.Contains(st.Message, m) {
					t.Errorf("message %q lacks %q", st.Message, m)
				}
			}
			for _, f := range w.Fix {
				if !strings.Contains(st.Fix, f) {
					t.Errorf("fix %q lacks %q", st.Fix, f)
				}
			}
		})
	}
}

func readYAML(t *testing.T, file string, into any) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
