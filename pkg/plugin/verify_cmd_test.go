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
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

const vfRole = "arn:aws:iam::111122223333:role/checkout"

// vfOptions are verify's options on a fake cluster: client, terminal, logs and pod name are
// the test's.
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

func vfOptions(c kubernetes.Interface, terminal bool, stream string) (*VerifyOptions, *bytes.Buffer, *bytes.Buffer) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cf := genericclioptions.NewConfigFlags(false)
	cf.Namespace = ptr.To("shop")
	o := NewVerifyOptions(cf, streams)
	o.explainRefusal = nil // no AWS from a unit test
	o.newClient = func() (kubernetes.Interface, verify.DiscoveryFunc, error) {
		return c, func(context.Context) ([]byte, error) { return []byte(`{"issuer":"https://127.0.0.1:6443"}`), nil }, nil
	}
	o.isTerminal = func() bool { return terminal }
	o.podName = func() string { return "wi-probe-abcde" }
	o.logs = func(context.Context, string, string, string, bool) (io.ReadCloser, error) {
		b, err := os.ReadFile("../../testdata/streams/" + stream)
		return io.NopCloser(bytes.NewReader(b)), err
	}
	return o, out, errOut
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
				if c.Target != (verify.Target{Kind: verify.KindServiceAccount, Name: "checkout"}) || c.Namespace != "shop" || o.Output != "text" ||
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
					Namespace: "shop", Target: verify.Target{Kind: verify.KindDeployment, Name: "web"}, RoleARN: vfRole, Audience: "my-aud",
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
		{name: "bad target", args: []string{"pod/web"}, wantErr: `unknown kind "pod"`},
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
			o, _, _ := vfOptions(fake.NewClientset(), tt.terminal, "probe-pass.jsonl")
			o.getenv = func(k string) string { return tt.env[k] }
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

// vfCluster is a fake cluster with the service account shop/checkout (annotated with
// annotations), the pod identity webhook's registration, a webhook that mutates created pods
// when the account names a role, and a kubelet that runs them to completion at once. A cluster
// without the webhook is pkg/verify's to test.
func vfCluster(annotations map[string]string) *fake.Clientset {
	c := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "shop", Annotations: annotations}},
		&admissionv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "pod-identity-webhook"},
			Webhooks: []admissionv1.MutatingWebhook{{Name: "iam-for-pods.amazonaws.com", Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}}}},
		},
	)
	c.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pod := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if role := annotations[identity.AnnotationRoleARN]; role != "" {
			ctr := &pod.Spec.Containers[0]
			ctr.Env = append(ctr.Env, corev1.EnvVar{Name: identity.EnvRoleARN, Value: role}, corev1.EnvVar{Name: identity.EnvTokenFile, Value: identity.TokenFile})
			ctr.VolumeMounts = append(ctr.VolumeMounts, corev1.VolumeMount{Name: identity.TokenVolumeName, MountPath: identity.TokenMountPath, ReadOnly: true})
			pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: identity.TokenVolumeName, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "sts.amazonaws.com", ExpirationSeconds: ptr.To[int64](86400), Path: "token"}}},
			}}})
		}
		pod.UID = "uid-1"
		pod.Spec.NodeName = "node-1"
		pod.Status.Phase = corev1.PodSucceeded
		return false, nil, nil
	})
	return c
}

func vfRun(t *testing.T, o *VerifyOptions, args ...string) error {
	t.Helper()
	cmd := newCmdVerify(o, nil)
	cmd.SetArgs(args)
	cmd.SetOut(o.Out)
	cmd.SetErr(o.ErrOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.ExecuteContext(context.Background())
}

func TestVerifyText(t *testing.T) {
	c := vfCluster(map[string]string{"eks.amazonaws.com/role-arn": vfRole})
	o, out, errOut := vfOptions(c, false, "probe-pass.jsonl")

	if err := vfRun(t, o, "checkout", "--image", "wi.local/kubectl-wi:dev"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"PASS outside.serviceaccount  the service account shop/checkout names the role " + vfRole + "\n",
		"PASS pod.mutation  IRSA: the webhook injected",
		"PASS token.audience  aud contains sts.amazonaws.com\n",
		"INFO sts.endpoint  ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.HasSuffix(out.String(), "\nPASS all 22 checks passed\n") {
		t.Errorf("the verdict is not last:\n%s", out.String())
	}
	if errOut.Len() != 0 {
		t.Errorf("error stream: %q", errOut.String())
	}
	if _, err := c.CoreV1().Pods("shop").Get(context.Background(), "wi-probe-abcde", metav1.GetOptions{}); err == nil {
		t.Error("the probe pod was not deleted")
	}
}

func TestVerifyJSON(t *testing.T) {
	c := vfCluster(map[string]string{"eks.amazonaws.com/role-arn": vfRole})
	o, out, _ := vfOptions(c, false, "probe-trust-policy.jsonl")

	err := vfRun(t, o, "checkout", "-o", "json")
	var failed *ChecksFailedError
	if !errors.As(err, &failed) || failed.Failed != 1 || ExitCode(err) != ExitCheckFailed {
		t.Fatalf("error %v, want 1 failed check (exit 1)", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, l := range lines {
		d := probe.DecodeLine([]byte(l))
		if d.Event == nil {
			t.Fatalf("line %d is not an event: %q", i, l)
		}
		if (d.Event.Type == probe.TypeResult) != (i == len(lines)-1) {
			t.Errorf("line %d: a result not last, or the last not a result: %q", i, l)
		}
	}
	last := probe.DecodeLine([]byte(lines[len(lines)-1])).Event
	if last.Status != probe.StatusFail || !strings.Contains(last.Fix, "kubectl wi trust-policy serviceaccount/audit -n shop") {
		t.Errorf("verdict %+v", last)
	}
}

// The account names no role: exit 1 from the stored pod alone.
func TestVerifyNoRole(t *testing.T) {
	c := vfCluster(nil)
	o, out, _ := vfOptions(c, false, "probe-pass.jsonl")

	err := vfRun(t, o, "serviceaccount/checkout")
	if ExitCode(err) != ExitCheckFailed {
		t.Fatalf("error %v, want exit 1", err)
	}
	if !strings.Contains(out.String(), "FAIL pod.mutation  the probe pod was not mutated") || strings.Contains(out.String(), "pod.start") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestVerifyKeepAndTimings(t *testing.T) {
	c := vfCluster(map[string]string{"eks.amazonaws.com/role-arn": vfRole})
	o, _, errOut := vfOptions(c, false, "probe-pass.jsonl")

	if err := vfRun(t, o, "checkout", "--keep", "--timings", "--image", "registry.example.com/kubectl-wi:v1.0.0"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	if len(lines) != 2 || lines[0] != "kept the probe pod shop/wi-probe-abcde: kubectl delete pod -n shop wi-probe-abcde" ||
		!strings.HasPrefix(lines[1], "timings outside_ms=") || !strings.Contains(lines[1], " overhead_after_running_ms=") {
		t.Errorf("error stream:\n%s", errOut.String())
	}
	if _, err := c.CoreV1().Pods("shop").Get(context.Background(), "wi-probe-abcde", metav1.GetOptions{}); err != nil {
		t.Errorf("the kept pod is gone: %v", err)
	}
}

// A development build says which image its probe runs and how to run another; a release
// build, or an --image of the user's, says nothing.
func TestVerifyDevelopmentBuildNote(t *testing.T) {
	tests := []struct {
		name, version string
		args          []string
		want          string
	}{
		{"development build", "dev", nil, "note: kubectl-wi dev is a development build; the probe pod runs the image " + ImageRepository + ":dev, which no release publishes"},
		{"a commit", "v1.2.3-4-gabcdef0-dirty", nil, "the probe pod runs the image " + ImageRepository + ":v1.2.3-4-gabcdef0-dirty"},
		{"release", "v1.2.3", nil, ""},
		{"--image given", "dev", []string{"--image", "registry.example.com/kubectl-wi:v1.0.0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(v string) { version = v }(version)
			version = tt.version
			o, _, errOut := vfOptions(vfCluster(map[string]string{"eks.amazonaws.com/role-arn": vfRole}), false, "probe-pass.jsonl")
			o.Image = ProbeImage()
			if err := vfRun(t, o, append([]string{"checkout"}, tt.args...)...); err != nil {
				t.Fatal(err)
			}
			got := errOut.String()
			if tt.want == "" && got != "" || tt.want != "" && (!strings.Contains(got, tt.want) || !strings.Contains(got, "--image")) {
				t.Errorf("error stream %q, want %q", got, tt.want)
			}
		})
	}
}

// A missing service account named by the target is bad input: exit 2, nothing created.
func TestVerifyMissingServiceAccount(t *testing.T) {
	c := vfCluster(nil)
	o, _, _ := vfOptions(c, false, "probe-pass.jsonl")
	if err := vfRun(t, o, "nope"); ExitCode(err) != ExitUsage {
		t.Fatalf("error %v, want exit 2", err)
	}
	for _, a := range c.Actions() {
		if a.GetVerb() == "create" {
			t.Errorf("created %s", a.GetResource().Resource)
		}
	}
}

// A misspelt workload is refused as enable refuses it, with the name that exists.
func TestVerifyMissingWorkload(t *testing.T) {
	c := vfCluster(nil)
	if err := c.Tracker().Add(kt.Deployment("shop", "checkout", "checkout")); err != nil {
		t.Fatal(err)
	}
	o, _, _ := vfOptions(c, false, "probe-pass.jsonl")
	err := vfRun(t, o, "deploy/chekout")
	if ExitCode(err) != ExitUsage || err.Error() != `deployment.apps "chekout" not found in namespace "shop"; did you mean deployment/checkout?` {
		t.Fatalf("error %v (exit %d), want exit 2 and a suggestion", err, ExitCode(err))
	}
}

// A misspelt service account, or a missing namespace, is named as enable names it.
func TestVerifyMissingAccountOrNamespace(t *testing.T) {
	c := vfCluster(nil)
	o, _, _ := vfOptions(c, false, "probe-pass.jsonl")
	if err := vfRun(t, o, "chekout"); ExitCode(err) != ExitUsage || err.Error() != `serviceaccount "chekout" not found in namespace "shop"; did you mean serviceaccount/checkout?` {
		t.Fatalf("error %v (exit %d)", err, ExitCode(err))
	}
	o, _, _ = vfOptions(c, false, "probe-pass.jsonl")
	o.configFlags.Namespace = ptr.To("nowhere")
	if err := vfRun(t, o, "checkout"); ExitCode(err) != ExitUsage || err.Error() != `namespace "nowhere" not found: check -n or the kubeconfig's context` {
		t.Fatalf("error %v (exit %d)", err, ExitCode(err))
	}
}

func TestWriteTimings(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var buf bytes.Buffer
	writeTimings(&buf, verify.Timings{
		Start: t0, OutsideDone: at(30), Created: at(50), Scheduled: at(60), Running: at(1500),
		FirstEvent: at(1520), Verdict: at(1540), Gone: at(1570),
		// The probe ran from 1100 to 1130 on its own clock: before the kubelet said it runs.
		ProbeFirst: at(1100), ProbeLast: at(1130),
	})
	want := "timings outside_ms=30.0 create_ms=20.0 scheduled_ms=10.0 running_ms=1440.0 first_event_ms=20.0 verdict_ms=20.0 gone_ms=30.0 total_ms=1570.0 probe_ms=30.0 overhead_after_running_ms=40.0 log_latency_ms=410.0\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
