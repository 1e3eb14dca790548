package probe

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// scannerFunc is an AppScanner of a test: it records the path it was asked to judge for.
type scannerFunc func(ctx context.Context, path string) AppReport

func (f scannerFunc) Scan(ctx context.Context, path string) AppReport { return f(ctx, path) }

func TestInPodApp(t *testing.T) {
	token := signToken(t, goodClaims())
	botocore := AppSDK{Name: "botocore", Module: "botocore", Version: "1.34.50", PID: 7, Process: "python3.12", Where: "/usr/lib/python3/site-packages/botocore-1.34.50.dist-info/METADATA", Status: SDKOK,
		Minimum: "1.34.41", Doc: "https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html"}
	oldGo := AppSDK{Name: "aws-sdk-go", Module: "github.com/aws/aws-sdk-go", Version: "v1.44.0", PID: 9, Process: "server", Status: SDKTooOld,
		Minimum: "v1.47.11", Fix: "upgrade github.com/aws/aws-sdk-go to v1.47.11 or later",
		Doc: "https://docs.aws.amazon.com/eks/latest/userguide/pod-id-minimum-sdk.html"}
	tests := []struct {
		name       string
		cfg        func() Config
		scanner    AppScanner
		wantPath   string
		wantSDK    []check.Status // the app.sdk checks' statuses, in order
		wantInMsgs []string
		wantFix    string
		wantResult check.Status
	}{
		{
			name: "not in-pod: no app checks",
			cfg:  testConfig,
			scanner: scannerFunc(func(context.Context, string) AppReport {
				t.Error("the scanner ran outside an in-pod run")
				return AppReport{}
			}),
			wantResult: check.StatusPass,
		},
		{
			name:       "in-pod without a scanner: said, not guessed",
			cfg:        inPodConfig,
			wantSDK:    []check.Status{check.StatusSkip},
			wantInMsgs: []string{"this build of the probe cannot read the app's AWS SDKs"},
			wantResult: check.StatusPass,
		},
		{
			name: "an SDK at the minimum and one below it, judged for the pod's path",
			cfg:  inPodConfig,
			scanner: scannerFunc(func(context.Context, string) AppReport {
				return AppReport{SDKs: []AppSDK{botocore, oldGo, botocore}}
			}),
			wantPath: PathIRSA,
			wantSDK:  []check.Status{check.StatusPass, check.StatusFail, check.StatusPass},
			wantInMsgs: []string{
				"AWS SDKs found in 2 process(es) of the app: 7 (python3.12), 9 (server)",
				"process 7 (python3.12) uses botocore 1.34.50, at or above 1.34.41, the minimum for IRSA (web identity)",
				"process 9 (server) uses aws-sdk-go v1.44.0 (github.com/aws/aws-sdk-go), below v1.47.11, the minimum for IRSA (web identity)",
			},
			wantFix:    "upgrade github.com/aws/aws-sdk-go to v1.47.11 or later in the app's image, then roll out the new image",
			wantResult: check.StatusFail,
		},
		{
			name: "what could not be read is a skip naming why; an unknown version too",
			cfg:  inPodConfig,
			scanner: scannerFunc(func(context.Context, string) AppReport {
				uid := "permission denied: the process runs as uid 101 and the scanner as uid 1000; run the scanner as uid 101"
				return AppReport{
					SDKs: []AppSDK{{Name: "aws-java-sdk-v2", Module: "software.amazon.awssdk:auth", Version: "2.x", PID: 3, Process: "java", Status: SDKUnknown,
						Reason: `version "2.x" of software.amazon.awssdk:auth cannot be compared`}},
					Skipped: []AppSkip{
						{PID: 12, Path: "/proc/12/exe", Reason: uid}, {PID: 13, Path: "/proc/13/exe", Reason: uid},
						{PID: 14, Path: "/proc/14/exe", Reason: uid}, {PID: 15, Path: "/proc/15/exe", Reason: uid},
						{Path: "/proc", Reason: "no process to scan but the scanner itself: it does not share the app's process namespace"},
					},
				}
			}),
			wantPath: PathIRSA,
			wantSDK:  []check.Status{check.StatusSkip, check.StatusSkip, check.StatusSkip},
			wantInMsgs: []string{
				`not judged against the minimum for IRSA (web identity): version "2.x" of software.amazon.awssdk:auth cannot be compared`,
				"not read: process 12 /proc/12/exe, process 13 /proc/13/exe, process 14 /proc/14/exe and 1 more: permission denied: the process runs as uid 101",
				"not read: /proc: no process to scan but the scanner itself",
			},
			wantResult: check.StatusPass,
		},
		{
			name: "no SDK in any process",
			cfg:  inPodConfig,
			scanner: scannerFunc(func(context.Context, string) AppReport {
				return AppReport{}
			}),
			wantPath:   PathIRSA,
			wantSDK:    []check.Status{check.StatusSkip},
			wantInMsgs: []string{"no AWS SDK found in the app's processes"},
			wantResult: check.StatusPass,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deps := fakeDeps(irsaEnv(), files{testTokenPath: token}, okSTS())
			var askedPath *string
			if tt.scanner != nil {
				inner := tt.scanner
				deps.App = scannerFunc(func(ctx context.Context, path string) AppReport {
					askedPath = &path
					return inner.Scan(ctx, path)
				})
			}
			rec := &recorder{}
			sum, err := Run(context.Background(), tt.cfg(), deps, rec)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantPath != "" && (askedPath == nil || *askedPath != tt.wantPath) {
				t.Errorf("scanner asked for path %v, want %s", askedPath, tt.wantPath)
			}
			var got []check.Status
			var msgs []string
			fixes := ""
			for _, ev := range rec.events {
				if ev.Check == CheckAppSDK {
					got = append(got, ev.Status)
					fixes += ev.Fix
				}
				if strings.HasPrefix(ev.Check, "app.") {
					msgs = append(msgs, ev.Message)
				}
			}
			if !equalStatuses(got, tt.wantSDK) {
				t.Errorf("app.sdk statuses %v, want %v", got, tt.wantSDK)
			}
			all := strings.Join(msgs, "\n")
			for _, want := range tt.wantInMsgs {
				if !strings.Contains(all, want) {
					t.Errorf("no app event says %q:\n%s", want, all)
				}
			}
			if !strings.Contains(fixes, tt.wantFix) {
				t.Errorf("fixes %q lack %q", fixes, tt.wantFix)
			}
			if sum.Status != tt.wantResult {
				t.Errorf("result %s, want %s", sum.Status, tt.wantResult)
			}
			// The app checks come after the identity checks, before the result.
			if last := rec.last(t); last.Type != check.TypeResult {
				t.Errorf("last event %+v", last)
			}
		})
	}
}

func inPodConfig() Config {
	c := testConfig()
	c.InPod = true
	return c
}

func equalStatuses(a, b []check.Status) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The app's own keys, in the env the in-pod probe copies, never reach an event.
func TestInPodScrubsTheAppsKeys(t *testing.T) {
	token := signToken(t, goodClaims())
	env := irsaEnv()
	env["AWS_ACCESS_KEY_ID"] = "AKIAAPPOWNKEY1234567"
	env["AWS_SECRET_ACCESS_KEY"] = "app-own-secret-key-value-0123456789"
	deps := fakeDeps(env, files{testTokenPath: token}, okSTS())
	deps.App = scannerFunc(func(context.Context, string) AppReport {
		// A scanner that echoes what it found in the environment of a process.
		return AppReport{Skipped: []AppSkip{{PID: 4, Reason: "has AWS_SECRET_ACCESS_KEY=app-own-secret-key-value-0123456789 set"}}}
	})
	_, out := jsonOutput(t, inPodConfig(), deps)
	for _, s := range []string{"AKIAAPPOWNKEY1234567", "app-own-secret-key-value-0123456789"} {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("the output holds the app's secret %.8s...:\n%s", s, out)
		}
	}
	if !bytes.Contains(out, []byte("AWS_SECRET_ACCESS_KEY=[redacted]")) {
		t.Errorf("the skip was dropped rather than scrubbed:\n%s", out)
	}
}
