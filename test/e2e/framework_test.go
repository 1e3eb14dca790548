//go:build e2e

// Package e2e holds the end-to-end tests of kubectl-wi. They run against the local cluster that
// hack/cluster-up.sh starts (hack/e2e.sh does both) and read its addresses from the
// environment that cluster-up writes to $WI_STATE/env.
//
// A top-level test calls t.Parallel first unless it changes or reads what other tests share:
// it pauses or faults a stand-in, the node or the apiserver; it counts writes in the whole
// AWS request log without a filter of its own; it installs cluster-wide definitions; or it
// asserts a timing (an interrupt answered at once, the webhook's cache lag) that a busy machine
// would blur. Everything else works in a namespace, with roles and users of its own names.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// env is the local cluster as cluster-up describes it.
type env struct {
	kubeconfig, state, issuer, caFile    string
	probeImage, idleImage                string
	stsEndpoint, stsConfig, stsAccount   string
	minioEndpoint, minioRoleARN          string
	auditLog, bin, viewerKubeconfig, k8s string
	webhookProfile                       string
	// the AWS stand-in: its environment for the SDKs (aws.env), its JSON request log, the EKS
	// cluster's name and the Pod Identity agent's address
	aws                       map[string]string
	awsRequestLog, eksCluster string
	agentAddr                 string
}

func loadEnv(t *testing.T) env {
	t.Helper()
	var missing []string
	need := func(name string) string {
		v := os.Getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		return v
	}
	e := env{
		kubeconfig: need("KUBECONFIG"), state: need("WI_STATE"), issuer: need("WI_ISSUER"),
		caFile: need("WI_CA_FILE"), probeImage: need("WI_PROBE_IMAGE"), idleImage: need("WI_IDLE_IMAGE"),
		stsEndpoint: need("WI_STS_ENDPOINT"), stsConfig: need("WI_STS_CONFIG"), stsAccount: need("WI_STS_ACCOUNT"),
		minioEndpoint: need("WI_MINIO_ENDPOINT"), minioRoleARN: need("WI_MINIO_ROLE_ARN"),
		auditLog: need("WI_AUDIT_LOG"), bin: need("WI_BIN"), viewerKubeconfig: need("WI_VIEWER_KUBECONFIG"),
		k8s: need("WI_K8S_BIN"), webhookProfile: need("WI_WEBHOOK_PROFILE"),
		awsRequestLog: need("WI_AWS_REQUEST_LOG"), eksCluster: need("WI_EKS_CLUSTER"),
		agentAddr: need("WI_POD_IDENTITY_AGENT"),
	}
	awsEnv := need("WI_AWS_ENV")
	if len(missing) > 0 {
		t.Fatalf("the local cluster's environment lacks %s: run through hack/e2e.sh (make e2e), or source $WI_STATE/env after make cluster-up and set WI_BIN", strings.Join(missing, ", "))
	}
	if !strings.HasPrefix(e.stsEndpoint, "https://") || !strings.HasPrefix(e.minioEndpoint, "https://") {
		t.Fatalf("the STS endpoints %s and %s are not HTTPS: the test bed serves STS over TLS only", e.stsEndpoint, e.minioEndpoint)
	}
	e.aws = loadAWSEnv(t, awsEnv)
	return e
}

// requireEnv returns the test bed's variable name, failing the test when it is unset. Every
// variable a test reads is one cluster-up writes (or hack/e2e.sh sets): a missing one is a
// broken test bed, which fails the test, never a reason to skip it.
func requireEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: the test bed sets it (hack/cluster-up.sh writes $WI_STATE/env; hack/e2e.sh sources it)", name)
	}
	return v
}

// envCount is the positive number in the optional variable name, def when it is unset.
func envCount(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

func (e env) client(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// Tests that build hundreds of objects would wait on client-go's default 5 per second.
	cfg.QPS, cfg.Burst = 200, 400
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// namespace creates a namespace for one test and deletes it when the test ends.
func (e env) namespace(t *testing.T, c kubernetes.Interface, labels map[string]string) string {
	t.Helper()
	name := "wi-" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.TrimRight(name, "-") + "-" + randSuffix()
	_, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The apiserver creates the default service account asynchronously.
	waitFor(t, 30*time.Second, "default service account", func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	t.Cleanup(func() {
		_ = c.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	})
	return name
}

func randSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, cond)
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// serviceAccount creates a service account with the given annotations and, when they carry a
// role, waits until the webhook admits pods of it with the role: its service account cache
// lags (a second in the EKS profile), and tests that are not about that lag build their pods
// after it.
func serviceAccount(t *testing.T, c kubernetes.Interface, ns, name string, annotations map[string]string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := c.CoreV1().ServiceAccounts(ns).Create(context.Background(), &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if role := annotations["eks.amazonaws.com/role-arn"]; role != "" {
		awaitWebhookRole(t, c, ns, name, role)
	}
	return sa
}

// dryRunPod creates a minimal pod as serviceAccount with server-side dry run, which goes
// through admission, and returns it as the webhook left it; nothing is stored.
func dryRunPod(t *testing.T, c kubernetes.Interface, ns, serviceAccount string) *corev1.Pod {
	t.Helper()
	pod, err := c.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-admission-"},
		Spec: corev1.PodSpec{ServiceAccountName: serviceAccount, Containers: []corev1.Container{{
			Name: "app", Image: "e2e-admission:none", SecurityContext: &corev1.SecurityContext{
				RunAsNonRoot: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
		}}},
	}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatalf("dry-run pod as %s/%s: %v", ns, serviceAccount, err)
	}
	return pod
}

// injectedRole is the AWS_ROLE_ARN the webhook gave a pod's first container, "" for none.
func injectedRole(pod *corev1.Pod) string {
	for _, e := range pod.Spec.Containers[0].Env {
		if e.Name == "AWS_ROLE_ARN" {
			return e.Value
		}
	}
	return ""
}

// awaitWebhookRole waits until the webhook admits pods of ns/serviceAccount with role.
func awaitWebhookRole(t *testing.T, c kubernetes.Interface, ns, serviceAccount, role string) {
	t.Helper()
	waitFor(t, 30*time.Second, "the webhook to admit pods of "+ns+"/"+serviceAccount+" with "+role, func(context.Context) (bool, error) {
		return injectedRole(dryRunPod(t, c, ns, serviceAccount)) == role, nil
	})
}

// viewerMay asks the apiserver whether the viewer (WI_VIEWER_KUBECONFIG's user, with its
// groups) may do what spec names, with a SelfSubjectAccessReview made as the viewer.
func (e env) viewerMay(t *testing.T, spec authorizationv1.SelfSubjectAccessReviewSpec) bool {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", e.viewerKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	review, err := viewer.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(), &authorizationv1.SelfSubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectAccessReview as the viewer: %v", err)
	}
	return review.Status.Allowed
}

// awaitWebhookSeen waits until the webhook's service account cache holds every account created
// in ns so far: it creates a marker account with a role of its own and waits until the webhook
// admits pods of it with that role. The cache is fed by one watch, which delivers changes in
// the order the apiserver made them, and each change lags the same time before it applies, so
// once the marker is seen every account created before it is too, with or without a role.
func awaitWebhookSeen(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	serviceAccount(t, c, ns, "webhook-seen", map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/webhook-seen"})
}

// needsProfile begins the message of a test skipped for the webhook profile: hack/e2e.sh fails
// a run of profile P in which a test skipped with needsProfile+P+" (", which would mean the
// tests did not see the profile make asked for.
const needsProfile = "needs webhook profile "

// requireProfile skips the test unless the webhook stand-in runs under profile (default or
// eks); why says what the other profile does that the test cannot use.
func (e env) requireProfile(t *testing.T, profile, why string) {
	t.Helper()
	if e.webhookProfile != profile {
		t.Skipf("%s%s (this run: %s): %s", needsProfile, profile, e.webhookProfile, why)
	}
}

// eksProfile is true when the webhook stand-in runs as EKS runs the real one.
func (e env) eksProfile() bool { return e.webhookProfile == "eks" }

// idlePod is a pod running the idle image under a service account.
func (e env) idlePod(name, sa string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			ServiceAccountName:            sa,
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{
				Name: "app", Image: e.idleImage, ImagePullPolicy: corev1.PullIfNotPresent,
			}},
		},
	}
}

// runPod creates a pod and waits until it runs.
func runPod(t *testing.T, c kubernetes.Interface, ns string, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	created, err := c.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got *corev1.Pod
	waitFor(t, 90*time.Second, "pod "+pod.Name+" running", func(ctx context.Context) (bool, error) {
		got, err = c.CoreV1().Pods(ns).Get(ctx, created.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return got.Status.Phase == corev1.PodRunning, nil
	})
	return got
}

// projectedToken reads a running pod's projected token from the node's disk, where the kubelet
// wrote it: the token the containers see, without printing it anywhere.
func (e env) projectedToken(t *testing.T, pod *corev1.Pod, volume string) string {
	t.Helper()
	path := filepath.Join(e.state, "data", "kubelet", "pods", string(pod.UID), "volumes", "kubernetes.io~projected", volume, "token")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the projected token of pod %s: %v", pod.Name, err)
	}
	return string(b)
}

// stsRole is one role of the STS stand-in's configuration.
type stsRole struct {
	Name        string         `json:"name"`
	TrustPolicy map[string]any `json:"trustPolicy"`
	Allow       []string       `json:"allow,omitempty"` // what its sessions may call beside STS
}

var (
	stsConfigMu sync.Mutex
	iamRoleName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// addSTSRole adds a role with a trust policy to the STS stand-in's configuration file, which
// the stand-in reads again when it changes, and returns the role's ARN.
func (e env) addSTSRole(t *testing.T, name string, trustPolicy map[string]any) string {
	t.Helper()
	// A name IAM refuses makes the stand-in refuse the whole file, and every later role with it.
	if !iamRoleName.MatchString(name) {
		t.Fatalf("role name %q is not one IAM takes (1 to 64 of [A-Za-z0-9+=,.@_-])", name)
	}
	e.addSTSEntries(t, "roles", stsRole{Name: name, TrustPolicy: trustPolicy})
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", e.stsAccount, name)
}

// addSTSRoleAllowing adds a role like addSTSRole whose sessions may also call the actions of
// allow (its permission policy), after making sure the running stand-in takes the field.
func (e env) addSTSRoleAllowing(t *testing.T, name string, trustPolicy map[string]any, allow []string) string {
	t.Helper()
	e.requireRoleAllowLists(t)
	if !iamRoleName.MatchString(name) {
		t.Fatalf("role name %q is not one IAM takes (1 to 64 of [A-Za-z0-9+=,.@_-])", name)
	}
	e.addSTSEntries(t, "roles", stsRole{Name: name, TrustPolicy: trustPolicy, Allow: allow})
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", e.stsAccount, name)
}

// requireRoleAllowLists fails unless the running AWS stand-in takes a role's allow list: one
// built before it would refuse the whole configuration file, every other test's roles with
// it. Its own executable checks a configuration that has one.
func (e env) requireRoleAllowLists(t *testing.T) {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "sts.yaml")
	doc := `{account: "` + e.stsAccount + `", roles: [{name: allow-check, allow: [iam:GetRole], trustPolicy: ` +
		`{Statement: [{Effect: Allow, Principal: {Service: pods.eks.amazonaws.com}, Action: sts:AssumeRole}]}}]}`
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	exe := fmt.Sprintf("/proc/%d/exe", pidOf(t, e, "wi-sts"))
	if out, err := exec.Command(exe, "--config", cfg, "--check").CombinedOutput(); err != nil {
		t.Fatalf("the running AWS stand-in takes no role allow list (%v): it was built before them; build and start the test bed again\n%s", err, out)
	}
}

// editSTSConfig changes the stand-in's configuration as data, under the lock every test takes
// for it, and writes it back 0600 (it holds keys); the stand-in reads it again. The lock is
// this process's mutex and an flock of a file beside the configuration: another test process
// on the same cluster reads and writes it too, and two unlocked edits lose one of them.
func (e env) editSTSConfig(t *testing.T, change func(map[string]any)) {
	t.Helper()
	stsConfigMu.Lock()
	defer stsConfigMu.Unlock()
	lock, err := os.OpenFile(e.stsConfig+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("locking %s: %v", lock.Name(), err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	raw, err := os.ReadFile(e.stsConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	change(cfg)
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tmp := e.stsConfig + ".tmp"
	if err := os.WriteFile(tmp, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, e.stsConfig); err != nil {
		t.Fatal(err)
	}
}

// trustPolicyFor is the trust policy that admits exactly one service account.
func (e env) trustPolicyFor(op, sub string) map[string]any {
	host := strings.TrimPrefix(e.issuer, "https://")
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", e.stsAccount, host)},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{op: map[string]any{host + ":sub": sub, host + ":aud": "sts.amazonaws.com"}},
		}},
	}
}

// result is a finished run of the kubectl-wi binary.
type result struct {
	stdout, stderr string
	code           int
}

// wi runs the built kubectl-wi binary with args.
func (e env) wi(t *testing.T, args ...string) result {
	t.Helper()
	t.Logf("kubectl-wi %s", strings.Join(args, " "))
	return e.run(t, exec.Command(e.bin, args...))
}

func (e env) run(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	// appended: the last value of a duplicate key wins, so a caller's own settings stay. verify's
	// defaults from the environment are cleared: each test passes what it means. No AWS SDK of
	// the test bed reaches for instance metadata, whatever a caller's env says.
	cmd.Env = append(cmd.Env, "KUBECONFIG="+e.kubeconfig, "NO_COLOR=1", "KUBECTL_WI_STS_ENDPOINT=", "KUBECTL_WI_CA_BUNDLE=")
	cmd.Env = append(cmd.Env, "AWS_EC2_METADATA_DISABLED=true")
	err := cmd.Run()
	code := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running %v: %v", cmd.Args, err)
		}
		code = exitErr.ExitCode()
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}
