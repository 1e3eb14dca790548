package plugin

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

const vfRole = "arn:aws:iam::111122223333:role/checkout"

// testCAPEM is a self-signed CA certificate in PEM.
func testCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// vfOptions are verify's options on a fake cluster (fakeDeps): client, terminal, logs and
// pod name are the test's; more changes to the deps, in order.
func vfOptions(c kubernetes.Interface, terminal bool, stream string, more ...func(*deps)) (*VerifyOptions, *bytes.Buffer, *bytes.Buffer) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cf := genericclioptions.NewConfigFlags(false)
	cf.Namespace = ptr.To("shop")
	d := fakeDeps(c)
	d.discovery = func(kubernetes.Interface) apicall.DiscoveryFunc {
		return func(context.Context) ([]byte, error) { return []byte(`{"issuer":"https://127.0.0.1:6443"}`), nil }
	}
	d.isTerminal = func(io.Writer) bool { return terminal }
	d.podName = func() string { return "wi-probe-abcde" }
	d.logs = func(context.Context, string, string, string, bool) (io.ReadCloser, error) {
		b, err := os.ReadFile("../../testdata/streams/" + stream)
		return io.NopCloser(bytes.NewReader(b)), err
	}
	for _, f := range more {
		f(&d)
	}
	return newVerifyOptions(cf, streams, d), out, errOut
}

func Test_NewCmdVerify(t *testing.T) {
	dir := t.TempDir()
	caFile, caPEM := filepath.Join(dir, "ca.pem"), testCAPEM(t)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(caFile, []byte(caPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A bundle past what --in-pod puts in the pod's spec: the same CA, many times.
	bigFile := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(bigFile, []byte(strings.Repeat(caPEM, verify.MaxInPodCABundle/len(caPEM)+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		terminal bool
		check    func(t *testing.T, o *VerifyOptions)
		wantErr  string
	}{
		{
			name: "defaults",
			args: []string{"checkout"},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				c := o.config()
				if c.Target != (checktarget.Target{Kind: checktarget.KindServiceAccount, Name: "checkout"}) || c.Namespace != "shop" || o.Output != "text" ||
					c.Image != ProbeImage() || c.PullPolicy != corev1.PullIfNotPresent || c.Timeout != 2*time.Minute || c.Keep ||
					c.RoleARN != "" || c.Audience != "" || c.STSEndpoint != "" || c.Region != "" {
					t.Errorf("config %+v output %q", c, o.Output)
				}
			},
		},
		{
			name: "a terminal gets the UI", args: []string{"checkout"}, terminal: true,
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if o.Output != "tui" {
					t.Errorf("output %q, want tui", o.Output)
				}
			},
		},
		{
			name: "every flag",
			args: []string{"deployment/web", "--role-arn", vfRole, "--audience", "my-aud", "--image", "registry.example.com/kubectl-wi:v1",
				"--image-pull-policy", "Always", "--timeout", "30s", "--keep", "-o", "json", "--sts-endpoint", "https://sts.eu-west-1.amazonaws.com",
				"--region", "eu-west-1", "--timings"},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				want := verify.Config{
					Namespace: "shop", Target: checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}, RoleARN: vfRole, Audience: "my-aud",
					Image: "registry.example.com/kubectl-wi:v1", PullPolicy: corev1.PullAlways, Timeout: 30 * time.Second, Keep: true,
					STSEndpoint: "https://sts.eu-west-1.amazonaws.com", Region: "eu-west-1",
				}
				if !reflect.DeepEqual(o.config(), want) || o.Output != "json" || !o.Timings {
					t.Errorf("config %+v output %q timings %v\nwant %+v", o.config(), o.Output, o.Timings, want)
				}
			},
		},
		{
			name: "a role of any partition", args: []string{"checkout", "--sts-endpoint", "http://10.244.0.1:9000", "--role-arn", "arn:minio:iam:::role/oxnUw3DAuQF1uggjXGxI2AmW8IA"},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if o.RoleARN != "arn:minio:iam:::role/oxnUw3DAuQF1uggjXGxI2AmW8IA" {
					t.Errorf("role %q", o.RoleARN)
				}
			},
		},
		{
			name: "--ca-bundle", args: []string{"checkout", "--ca-bundle", caFile},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if got := string(o.config().CABundle); got != caPEM {
					t.Errorf("CABundle %q, want the file's PEM", got)
				}
			},
		},
		{
			name: "defaults from the environment",
			args: []string{"checkout"}, env: map[string]string{EnvSTSEndpoint: "https://10.244.0.1:8900", EnvCABundle: caFile},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if c := o.config(); c.STSEndpoint != "https://10.244.0.1:8900" || string(c.CABundle) != caPEM {
					t.Errorf("config %+v: the environment's defaults not taken", c)
				}
			},
		},
		{
			name: "flags win over the environment",
			args: []string{"checkout", "--sts-endpoint", "https://sts.eu-west-1.amazonaws.com", "--ca-bundle", caFile},
			env:  map[string]string{EnvSTSEndpoint: "https://10.244.0.1:8900", EnvCABundle: "/nonexistent/ca.pem"},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if c := o.config(); c.STSEndpoint != "https://sts.eu-west-1.amazonaws.com" || string(c.CABundle) != caPEM {
					t.Errorf("config %+v: the flags lost", c)
				}
			},
		},
		{name: "--ca-bundle missing", args: []string{"checkout", "--ca-bundle", "/nonexistent/ca.pem"}, wantErr: "--ca-bundle: cannot read /nonexistent/ca.pem: no such file or directory"},
		{name: "--ca-bundle not PEM", args: []string{"checkout", "--ca-bundle", notPEM}, wantErr: "--ca-bundle: " + notPEM + " is not a PEM file of CA certificates: no PEM certificate"},
		{
			name: "bad default from the environment", args: []string{"checkout"}, env: map[string]string{EnvCABundle: notPEM},
			wantErr: "$" + EnvCABundle + " (the default of --ca-bundle): " + notPEM + " is not a PEM file",
		},
		{
			name: "bad endpoint from the environment", args: []string{"checkout"}, env: map[string]string{EnvSTSEndpoint: "10.0.0.1:8900"},
			wantErr: "$" + EnvSTSEndpoint + " (the default of --sts-endpoint) must be an http or https URL",
		},
		{name: "two targets", args: []string{"a", "b"}, wantErr: "verify takes at most one TARGET"},
		{name: "-A with a target", args: []string{"checkout", "-A"}, wantErr: "-A and -l select the service accounts to prove: give no TARGET with them"},
		{name: "-l with a target", args: []string{"deployment/web", "-l", "team=a"}, wantErr: "-A and -l select the service accounts to prove"},
		{name: "bad selector", args: []string{"-l", "team in (a"}, wantErr: `invalid -l "team in (a"`},
		{name: "--container of an account", args: []string{"checkout", "-c", "app"}, wantErr: "--container picks a container of a workload"},
		{name: "--container of a fleet", args: []string{"-A", "-c", "app"}, wantErr: "--container picks a container of a workload"},
		{name: "--role-arn of a fleet", args: []string{"-A", "--role-arn", "arn:aws:iam::123456789012:role/app"}, wantErr: "--role-arn is the role one account must have"},
		{name: "-A with a custom resource", args: []string{"storagecluster/px", "-A"}, wantErr: "storagecluster.core.libopenstorage.org/px names its operator's accounts already"},
		{name: "zero parallel", args: []string{"--parallel", "0"}, wantErr: "--parallel must be 1 or more, not 0"},
		{name: "KIND NAME", args: []string{"deployment", "web"}, wantErr: `"deployment web": TARGET is KIND/NAME or NAME, not KIND NAME: write deployment/web`},
		{name: "bad target", args: []string{"pods/web/x"}, wantErr: `target "pods/web/x" has more than one slash`},
		{name: "bad kind", args: []string{"podz/web"}, wantErr: `unknown kind "podz"`},
		{
			name: "--in-pod", args: []string{"deploy/web", "--in-pod", "--pod", "web-5d8f-x2x7q", "-c", "api"},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				c := o.config()
				if !c.InPod || c.Pod != "web-5d8f-x2x7q" || c.Container != "api" || c.Target != (checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}) || o.Output != "text" || o.dryRun != dryRunNone {
					t.Errorf("config %+v output %q dry-run %q", c, o.Output, o.dryRun)
				}
			},
		},
		{
			name: "--in-pod of a pod, with its container", args: []string{"pod/web-5d8f-x2x7q", "--in-pod", "-c", "api"},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if c := o.config(); !c.InPod || c.Target != (checktarget.Target{Kind: checktarget.KindPod, Name: "web-5d8f-x2x7q"}) || c.Container != "api" {
					t.Errorf("config %+v", c)
				}
			},
		},
		{
			name: "a pod without --in-pod: a probe pod made from its spec", args: []string{"po/web-5d8f-x2x7q"},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if c := o.config(); c.InPod || c.Target != (checktarget.Target{Kind: checktarget.KindPod, Name: "web-5d8f-x2x7q"}) {
					t.Errorf("config %+v", c)
				}
			},
		},
		{
			name: "--dry-run=client prints YAML by default", args: []string{"deployment/web", "--in-pod", "--dry-run=client"},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if o.dryRun != dryRunClient || o.Output != "yaml" {
					t.Errorf("dry-run %q output %q", o.dryRun, o.Output)
				}
			},
		},
		{
			name: "--dry-run=client -o json", args: []string{"deployment/web", "--in-pod", "--dry-run=client", "-o", "json"},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if o.Output != "json" {
					t.Errorf("output %q", o.Output)
				}
			},
		},
		{
			name: "--ca-bundle with --in-pod", args: []string{"deployment/web", "--in-pod", "--ca-bundle", caFile},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if string(o.config().CABundle) != caPEM {
					t.Error("the bundle is not passed on")
				}
			},
		},
		{
			name: "a big --ca-bundle without --in-pod", args: []string{"deployment/web", "--ca-bundle", bigFile},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if len(o.config().CABundle) <= verify.MaxInPodCABundle {
					t.Error("the bundle is not passed on")
				}
			},
		},
		{name: "a big --ca-bundle with --in-pod", args: []string{"deployment/web", "--in-pod", "--ca-bundle", bigFile}, wantErr: "with --in-pod the bundle travels in the ephemeral container's env, which stays in the pod's spec: give at most 64 KiB"},
		{name: "--in-pod of an account", args: []string{"checkout", "--in-pod"}, wantErr: "--in-pod joins a running pod of the app, and serviceaccount/checkout is a service account"},
		{
			name: "--in-pod of a fleet", args: []string{"-A", "--in-pod", "--parallel", "4"},
			check: func(t *testing.T, o *VerifyOptions) {
				t.Helper()
				if !o.InPod || !o.fleet() || o.Parallel != 4 {
					t.Errorf("in-pod %v fleet %v parallel %d", o.InPod, o.fleet(), o.Parallel)
				}
			},
		},
		{name: "--in-pod of a custom resource", args: []string{"storagecluster/px", "--in-pod"}, wantErr: "is a custom resource whose operator runs its own"},
		{name: "--pod of a fleet", args: []string{"--in-pod", "--pod", "web-1"}, wantErr: "--pod picks the pod of one workload"},
		{name: "--dry-run of a fleet", args: []string{"--in-pod", "--dry-run=client"}, wantErr: "--dry-run=client prints the ephemeral container of one pod"},
		{name: "--pod without --in-pod", args: []string{"deployment/web", "--pod", "web-1"}, wantErr: "--pod picks the app's pod the probe joins: it goes with --in-pod"},
		{name: "--pod of a pod target", args: []string{"pod/web-1", "--in-pod", "--pod", "web-2"}, wantErr: "the TARGET pod/web-1 is a pod already"},
		{name: "--pod not a name", args: []string{"deployment/web", "--in-pod", "--pod", "Web_1"}, wantErr: `--pod "Web_1" is not a valid pod name`},
		{name: "--dry-run without --in-pod", args: []string{"deployment/web", "--dry-run=client"}, wantErr: "--dry-run=client prints the ephemeral container of --in-pod"},
		{name: "--dry-run=server", args: []string{"deployment/web", "--in-pod", "--dry-run=server"}, wantErr: `--dry-run "server" is not supported: must be none or client`},
		{name: "--dry-run -o text", args: []string{"deployment/web", "--in-pod", "--dry-run=client", "-o", "text"}, wantErr: `--output "text" is not supported: allowed formats are yaml, json`},
		{name: "--container of a pod without --in-pod is allowed, of an account not", args: []string{"sa/checkout", "-c", "api"}, wantErr: "give a TARGET deployment|statefulset|daemonset|pod/NAME"},
		{name: "role not an ARN", args: []string{"checkout", "--role-arn", "checkout"}, wantErr: `invalid --role-arn: role ARN "checkout" is not an ARN`},
		{name: "role with a trailing space", args: []string{"checkout", "--role-arn", "arn:aws:iam::123456789012:role/app "}, wantErr: `invalid --role-arn: role ARN "arn:aws:iam::123456789012:role/app " has role name "app "`},
		{name: "role of another service's partition without its endpoint", args: []string{"checkout", "--role-arn", "arn:minio:iam:::role/x"}, wantErr: `has unknown partition "minio"`},
		{name: "a user, not a role", args: []string{"checkout", "--role-arn", "arn:aws:iam::123456789012:user/app"}, wantErr: "not a role"},
		{name: "bad output", args: []string{"checkout", "-o", "yaml"}, wantErr: `--output "yaml" is not supported: allowed formats are tui, text, json`},
		{name: "tui without a terminal", args: []string{"checkout", "-o", "tui"}, wantErr: "-o tui needs a terminal"},
		{name: "bad pull policy", args: []string{"checkout", "--image-pull-policy", "Sometimes"}, wantErr: "--image-pull-policy"},
		{name: "endpoint without scheme", args: []string{"checkout", "--sts-endpoint", "10.0.0.1:8900"}, wantErr: "--sts-endpoint must be an http or https URL"},
		{name: "zero timeout", args: []string{"checkout", "--timeout", "0s"}, wantErr: "--timeout must be positive"},
		{name: "empty image", args: []string{"checkout", "--image", ""}, wantErr: "--image must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, _ := vfOptions(fake.NewClientset(), tt.terminal, "probe-pass.jsonl", func(d *deps) {
				d.env = readEnvironment(func(k string) string { return tt.env[k] })
			})
			var got *VerifyOptions
			cmd := newCmdVerify(o, func(o *VerifyOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if code := ExitCode(err); code != ExitUsage && !strings.Contains(tt.wantErr, "accepts") {
					t.Errorf("exit %d, want %d", code, ExitUsage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}
