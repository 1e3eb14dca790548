package plugin

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

func Test_NewCmdProbe(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    probe.Config
		wantErr string
	}{
		{
			name: "defaults",
			want: probe.Config{ExpectedAudience: "sts.amazonaws.com", SessionName: "kubectl-wi-probe"},
		},
		{
			name: "every flag",
			args: []string{
				"--expected-audience", "my-aud", "--expected-expiration", "3600",
				"--expected-issuer", "https://issuer.example", "--expected-subject", "system:serviceaccount:shop:checkout",
				"--expected-role-arn", "arn:aws:iam::111122223333:role/checkout", "--region", "eu-west-1",
				"--session-name", "mine",
			},
			want: probe.Config{
				ExpectedAudience: "my-aud", ExpectedExpiration: 3600, ExpectedIssuer: "https://issuer.example",
				ExpectedSubject: "system:serviceaccount:shop:checkout", ExpectedRoleARN: "arn:aws:iam::111122223333:role/checkout",
				Region: "eu-west-1", SessionName: "mine",
			},
		},
		{
			name: "--in-pod",
			args: []string{"--in-pod", "--expected-subject", "system:serviceaccount:shop:checkout"},
			want: probe.Config{ExpectedAudience: "sts.amazonaws.com", SessionName: "kubectl-wi-probe", ExpectedSubject: "system:serviceaccount:shop:checkout", InPod: true},
		},
		{
			name: "empty issuer and role are allowed",
			args: []string{"--expected-issuer", "", "--expected-role-arn", ""},
			want: probe.Config{ExpectedAudience: "sts.amazonaws.com", SessionName: "kubectl-wi-probe"},
		},
		{name: "negative expiration", args: []string{"--expected-expiration", "-1"}, wantErr: "--expected-expiration"},
		{name: "bad subject", args: []string{"--expected-subject", "checkout"}, wantErr: "--expected-subject"},
		{name: "subject without name", args: []string{"--expected-subject", "system:serviceaccount:shop:"}, wantErr: "--expected-subject"},
		{name: "bad role", args: []string{"--expected-role-arn", "checkout"}, wantErr: "--expected-role-arn"},
		{name: "empty audience", args: []string{"--expected-audience", ""}, wantErr: "--expected-audience"},
		{name: "no arguments", args: []string{"extra"}, wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streams, _, _, _ := genericiooptions.NewTestIOStreams()
			var got *ProbeOptions
			cmd := NewCmdProbe(streams, func(o *ProbeOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Config != tt.want {
				t.Errorf("config %+v, want %+v", got.Config, tt.want)
			}
		})
	}
}

func TestProbeCommandIsHidden(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	root := NewCmdRoot(streams)
	cmd, _, err := root.Find([]string{"probe"})
	if err != nil || cmd.Name() != "probe" {
		t.Fatalf("probe is not registered: %v", err)
	}
	if !cmd.Hidden {
		t.Error("probe is not hidden")
	}
}

// TestProbeCommand runs the command with a fake process and a fake STS and checks the events
// on Out, the exit code, and that ErrOut stays empty.
func TestProbeCommand(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	token := testToken(t, now, "sts.amazonaws.com")
	okSTS := probe.STSFuncs{
		AssumeRoleWithWebIdentityFn: func(_ context.Context, in *sts.AssumeRoleWithWebIdentityInput, _ ...func(*sts.Options)) (*sts.AssumeRoleWithWebIdentityOutput, error) {
			if aws.ToString(in.WebIdentityToken) != token || aws.ToString(in.RoleSessionName) != "kubectl-wi-probe" {
				return nil, errors.New("unexpected input")
			}
			return &sts.AssumeRoleWithWebIdentityOutput{Credentials: &ststypes.Credentials{
				AccessKeyId: aws.String("ASIAPLUGINTESTKEY"), SecretAccessKey: aws.String("plugin-test-secret-key"),
				SessionToken: aws.String("plugin-test-session-token"), Expiration: aws.Time(now.Add(time.Hour)),
			}}, nil
		},
		GetCallerIdentityFn: func(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
			return &sts.GetCallerIdentityOutput{Arn: aws.String("arn:aws:sts::111122223333:assumed-role/checkout/kubectl-wi-probe"), Account: aws.String("111122223333")}, nil
		},
	}
	env := map[string]string{
		"AWS_ROLE_ARN":                "arn:aws:iam::111122223333:role/checkout",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "/token",
	}
	args := []string{
		"--expected-subject", "system:serviceaccount:shop:checkout", "--expected-role-arn", "arn:aws:iam::111122223333:role/checkout",
		"--expected-issuer", "https://issuer.example", "--expected-expiration", "86400",
	}
	tests := []struct {
		name       string
		args       []string
		readFile   func(string) ([]byte, error)
		wantErr    error
		wantResult string
	}{
		{
			name:       "pass",
			args:       args,
			readFile:   func(string) ([]byte, error) { return []byte(token), nil },
			wantResult: `"status":"pass","message":"0 of 12 checks failed"`,
		},
		{
			name:       "unreadable token",
			args:       args,
			readFile:   func(p string) ([]byte, error) { return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission} },
			wantErr:    &ChecksFailedError{Failed: 1},
			wantResult: `"status":"fail","message":"1 of 12 checks failed","fix":"a non-root container without fsGroup cannot read the token`,
		},
		{
			name:       "wrong expected subject",
			args:       append([]string{"--expected-subject", "system:serviceaccount:shop:other"}, args[2:]...),
			readFile:   func(string) ([]byte, error) { return []byte(token), nil },
			wantErr:    &ChecksFailedError{Failed: 1},
			wantResult: `"status":"fail","message":"1 of 12 checks failed"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			cmd := NewCmdProbe(streams, func(o *ProbeOptions) error {
				o.deps = probe.Deps{
					Getenv:   func(k string) string { return env[k] },
					ReadFile: tt.readFile,
					Now:      func() time.Time { return now },
					NewSTS:   func(probe.STSTarget, aws.CredentialsProvider) probe.STSClient { return okSTS },
				}
				return o.Run(context.Background())
			})
			// As under the root command, which silences cobra's own printing.
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			cmd.SetArgs(tt.args)
			cmd.SetOut(out)
			cmd.SetErr(errOut)
			err := cmd.Execute()
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && (err == nil || err.Error() != tt.wantErr.Error()) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && ExitCode(err) != ExitCheckFailed {
				t.Errorf("exit code %d", ExitCode(err))
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			for _, l := range lines {
				if check.DecodeLine([]byte(l)).Event == nil {
					t.Errorf("not an event: %s", l)
				}
			}
			if last := lines[len(lines)-1]; !strings.Contains(last, tt.wantResult) {
				t.Errorf("result %s\nwant it to contain %s", last, tt.wantResult)
			}
			for _, secret := range []string{token, "plugin-test-secret-key", "plugin-test-session-token", "ASIAPLUGINTESTKEY"} {
				if strings.Contains(out.String(), secret) {
					t.Errorf("Out holds a secret: %.12s...", secret)
				}
			}
			if errOut.Len() != 0 {
				t.Errorf("ErrOut: %s", errOut)
			}
		})
	}
}

// TestMainProbeNoIdentity runs `kubectl wi probe` through Main with the real process, in an
// env with no identity: one failed check, exit 1, nothing on ErrOut.
func TestMainProbeNoIdentity(t *testing.T) {
	for _, k := range []string{
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	} {
		t.Setenv(k, "")
	}
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code := Main(context.Background(), streams, []string{"probe", "--expected-subject", "system:serviceaccount:shop:checkout"})
	if code != ExitCheckFailed {
		t.Errorf("exit code %d, want %d", code, ExitCheckFailed)
	}
	if errOut.Len() != 0 {
		t.Errorf("ErrOut: %s", errOut)
	}
	var events []*check.Event
	if err := check.ReadLines(out, func(l check.Line) error {
		if l.Event == nil {
			return errors.New("not an event: " + l.Raw)
		}
		events = append(events, l.Event)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 || events[0].Check != probe.CheckEnvPath || events[0].Status != check.StatusFail || events[1].Type != check.TypeResult {
		t.Errorf("events %+v", events)
	}
}

func testToken(t *testing.T, now time.Time, aud string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	iat := now.Add(-time.Minute)
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: "https://issuer.example", Subject: "system:serviceaccount:shop:checkout", Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(iat), Expiry: jwt.NewNumericDate(iat.Add(86400 * time.Second)),
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
