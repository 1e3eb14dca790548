package sdkapp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		creds       Credentials
		err         error
		want        int
		wantAttempt bool
		wantLines   []string // lines the log holds, in order
		wantAbsent  []string
	}{
		{
			name:       "no attempt asked: the app only idles",
			env:        map[string]string{MetadataDisabledEnv: "true"},
			want:       ExitOK,
			wantLines:  []string{"app: built against example.com/sdk ", "app: idle until SIGTERM"},
			wantAbsent: []string{"credentials:"},
		},
		{
			name:        "the flag asks for the attempt; a success names the provider, never a secret",
			args:        []string{"-get-credentials"},
			env:         map[string]string{MetadataDisabledEnv: "true"},
			creds:       Credentials{Source: "CredentialsEndpointProvider", Expires: expires},
			want:        ExitOK,
			wantAttempt: true,
			wantLines:   []string{"app: credentials: from CredentialsEndpointProvider, expiring 2030-01-02T03:04:05Z", "app: idle until SIGTERM"},
		},
		{
			name:        "the env asks for the attempt; the SDK gives no expiry",
			env:         map[string]string{AttemptEnv: "true", MetadataDisabledEnv: "true"},
			creds:       Credentials{Source: "EnvProvider"},
			want:        ExitOK,
			wantAttempt: true,
			wantLines:   []string{"app: credentials: from EnvProvider\n"},
		},
		{
			name:        "the SDK's error is logged verbatim, multi-line as SDKs print it",
			args:        []string{"-get-credentials"},
			env:         map[string]string{MetadataDisabledEnv: "true"},
			err:         errors.New("NoCredentialProviders: no valid providers in chain. Deprecated.\n\tFor verbose messaging see aws.Config.CredentialsChainVerboseErrors"),
			want:        ExitOK,
			wantAttempt: true,
			wantLines: []string{
				"app: credentials: NoCredentialProviders: no valid providers in chain. Deprecated.",
				"\tFor verbose messaging see aws.Config.CredentialsChainVerboseErrors",
				"app: idle until SIGTERM",
			},
		},
		{
			name:       "the attempt is refused without AWS_EC2_METADATA_DISABLED",
			args:       []string{"-get-credentials"},
			want:       ExitUsage,
			wantLines:  []string{"app: refusing the credential attempt: AWS_EC2_METADATA_DISABLED=true is not set"},
			wantAbsent: []string{"idle until SIGTERM"},
		},
		{
			name:      "the attempt is refused unless AWS_EC2_METADATA_DISABLED is exactly true",
			env:       map[string]string{AttemptEnv: "true", MetadataDisabledEnv: "1"},
			want:      ExitUsage,
			wantLines: []string{"app: refusing the credential attempt"},
		},
		{
			name: "an unknown flag",
			args: []string{"-nope"},
			want: ExitUsage,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attempted := false
			app := App{Name: "app", SDKModule: "example.com/sdk", Retrieve: func(ctx context.Context, _ io.Writer) (Credentials, error) {
				attempted = true
				if _, ok := ctx.Deadline(); !ok {
					t.Error("the attempt has no deadline: an unreachable endpoint would hang it")
				}
				return tt.creds, tt.err
			}}
			ctx, cancel := context.WithCancel(t.Context())
			cancel() // SIGTERM already came: Run returns once it would idle
			var out bytes.Buffer
			got := app.Run(ctx, tt.args, func(k string) string { return tt.env[k] }, &out)
			if got != tt.want {
				t.Errorf("Run() = %d, want %d; log:\n%s", got, tt.want, out.String())
			}
			if attempted != tt.wantAttempt {
				t.Errorf("attempted = %v, want %v", attempted, tt.wantAttempt)
			}
			log := out.String()
			at := 0
			for _, l := range tt.wantLines {
				i := strings.Index(log[at:], l)
				if i < 0 {
					t.Errorf("log lacks %q after offset %d:\n%s", l, at, log)
					continue
				}
				at += i + len(l)
			}
			for _, s := range tt.wantAbsent {
				if strings.Contains(log, s) {
					t.Errorf("log holds %q:\n%s", s, log)
				}
			}
		})
	}
}

func TestRunIdlesUntilCancelled(t *testing.T) {
	app := App{Name: "app", SDKModule: "example.com/sdk"}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	go func() { done <- app.Run(ctx, nil, func(string) string { return "" }, io.Discard) }()
	select {
	case code := <-done:
		t.Fatalf("Run() returned %d before its context ended", code)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("Run() = %d after SIGTERM, want %d", code, ExitOK)
	}
}
