//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// The in-pod probe (verify --in-pod): an ephemeral container in a running pod of the app.

// ipArgs are verify's arguments for an in-pod run of target in ns.
func (e env) ipArgs(ns, target string, extra ...string) []string {
	return e.verifyArgs(ns, target, e.stsEndpoint, append([]string{"--in-pod", "-o", "text"}, extra...)...)
}

// ipSDKImage is the test bed's Go app linking aws-sdk-go-v2's default chain
// (hack/testapps, built and imported by cluster-up).
func ipSDKImage(t *testing.T) string {
	t.Helper()
	return requireEnv(t, "WI_APP_IMAGE_GO_SDKV2")
}

// ipDeployment runs one replica of the SDK app as deployment name under sa, with edit applied
// to its pod template, and returns its running pod.
func (e env) ipDeployment(t *testing.T, c kubernetes.Interface, ns, name, sa string, edit func(*corev1.PodSpec)) *corev1.Pod {
	t.Helper()
	labels := map[string]string{"app": name}
	spec := corev1.PodSpec{
		ServiceAccountName:            sa,
		TerminationGracePeriodSeconds: ptr.To[int64](0),
		SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](1000)},
		Containers: []corev1.Container{{
			Name: "app", Image: ipSDKImage(t), ImagePullPolicy: corev1.PullIfNotPresent,
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
				Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
		}},
	}
	if edit != nil {
		edit(&spec)
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
	if _, err := c.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	awaitRollout(t, c, ns, name)
	pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + name})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the pod of %s: %v", name, err)
	}
	return &pods.Items[0]
}

// ipChecks maps each check of a text run to the status words it got, in order: an in-pod run
// reports app.sdk once per SDK found.
func ipChecks(stdout string) map[string][]string {
	out := map[string][]string{}
	re := regexp.MustCompile(`^(PASS|WARN|FAIL|SKIP) (\S+)  `)
	for _, l := range strings.Split(stdout, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			out[m[2]] = append(out[m[2]], m[1])
		}
	}
	return out
}

// ipRequire fails the test unless each check was reported, every time, with its status.
func ipRequire(t *testing.T, r result, want map[string]string) {
	t.Helper()
	got := ipChecks(r.stdout)
	for check, status := range want {
		if len(got[check]) == 0 {
			t.Errorf("no %s in the output", check)
		}
		for _, s := range got[check] {
			if s != status {
				t.Errorf("%s is %s, want %s: %s", check, s, status, lineOf(r.stdout, check))
			}
		}
	}
}

// ipEphemeral is the pod as it is now, and the state of its ephemeral probe; it fails the test
// unless the pod has exactly one ephemeral container, the probe's.
func ipEphemeral(t *testing.T, c kubernetes.Interface, pod *corev1.Pod) (*corev1.Pod, corev1.EphemeralContainer, *corev1.ContainerStateTerminated) {
	t.Helper()
	var cur *corev1.Pod
	// The kubelet reports the probe's end a moment after it wrote its result.
	waitFor(t, 30*time.Second, "the ephemeral probe of "+pod.Name+" to end", func(ctx context.Context) (bool, error) {
		var err error
		cur, err = c.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, s := range cur.Status.EphemeralContainerStatuses {
			if s.State.Terminated != nil {
				return true, nil
			}
		}
		return false, nil
	})
	if cur.UID != pod.UID {
		t.Fatalf("the pod %s was replaced", pod.Name)
	}
	if len(cur.Spec.EphemeralContainers) != 1 {
		t.Fatalf("the pod has %d ephemeral containers, want the probe's", len(cur.Spec.EphemeralContainers))
	}
	ec := cur.Spec.EphemeralContainers[0]
	for _, s := range cur.Status.EphemeralContainerStatuses {
		if s.Name == ec.Name {
			return cur, ec, s.State.Terminated
		}
	}
	return cur, ec, nil
}

// An IRSA workload: the probe joins its pod as the app's user, every check passes from there,
// and it names the app's SDK, new enough; nothing is created or deleted, and the ephemeral
// container stays in the pod's spec, terminated, as the run says.
func TestVerifyInPodIRSA(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	pod := e.ipDeployment(t, c, ns, "web", "app", nil)

	r := e.wi(t, e.ipArgs(ns, "deployment/web")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	ipRequire(t, r, map[string]string{
		"inpod.identity": "PASS", "inpod.start": "PASS", "env.path": "PASS", "env.role_arn": "PASS", "token.file": "PASS",
		"token.audience": "PASS", "token.lifetime": "PASS", "token.issuer": "PASS", "token.subject": "PASS",
		"sts.assume_role": "PASS", "sts.caller_identity": "PASS", "app.sdk": "PASS",
	})
	for check, statuses := range ipChecks(r.stdout) {
		for _, s := range statuses {
			if s == "FAIL" {
				t.Errorf("%s failed: %s", check, lineOf(r.stdout, check))
			}
		}
	}
	if l := lineOf(r.stdout, "app.sdk"); !strings.Contains(l, "(go-sdkv2) uses aws-sdk-go-v2") {
		t.Errorf("app.sdk does not name the app's SDK: %s", l)
	}
	for _, want := range []string{"INFO inpod.footprint  adding the ephemeral container wi-probe-", "to the pod " + ns + "/" + pod.Name,
		"running as user 1000 group 1000 as the app does", "it cannot be removed", "kubectl rollout restart deployment/web -n " + ns} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the footprint does not say %q:\n%s", want, r.stdout)
		}
	}
	// The footprint came before the probe's first event.
	if strings.Index(r.stdout, "inpod.footprint") > strings.Index(r.stdout, "env.path") {
		t.Error("the footprint was said after the probe ran")
	}
	_, ec, term := ipEphemeral(t, c, pod)
	if ec.TargetContainerName != "app" || ptr.Deref(ec.SecurityContext.RunAsUser, -1) != 1000 || term == nil || term.ExitCode != 0 {
		t.Errorf("ephemeral container %s: target %s, user %v, terminated %+v", ec.Name, ec.TargetContainerName, ec.SecurityContext.RunAsUser, term)
	}
	if !strings.Contains(lineOf(r.stdout, "inpod.remains"), "the ephemeral container "+ec.Name+" stays in the spec of the pod "+ns+"/"+pod.Name+", terminated (exit code 0)") {
		t.Errorf("inpod.remains: %s", lineOf(r.stdout, "inpod.remains"))
	}
	noProbePods(t, c, ns)
}

// EKS Pod Identity, under the EKS profile: the probe gets the agent's credentials from inside
// the app's pod, and judges the app's SDK for Pod Identity.
func TestVerifyInPodPodIdentity(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "pi-"+ns, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	serviceAccount(t, c, ns, "app", nil)
	e.associate(t, c, ns, "app", role)
	pod := e.ipDeployment(t, c, ns, "web", "app", nil)

	r := e.wi(t, e.ipArgs(ns, "deployment/web")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	ipRequire(t, r, map[string]string{
		"inpod.identity": "PASS", "inpod.start": "PASS", "podidentity.env": "PASS", "podidentity.token_file": "PASS",
		"podidentity.audience": "PASS", "podidentity.agent": "PASS", "sts.caller_identity": "PASS", "app.sdk": "PASS",
	})
	if l := lineOf(r.stdout, "app.sdk"); !strings.Contains(l, "the minimum for EKS Pod Identity") {
		t.Errorf("app.sdk is not judged for Pod Identity: %s", l)
	}
	if l := lineOf(r.stdout, "sts.caller_identity"); !strings.Contains(l, ":assumed-role/pi-"+ns+"/eks-"+e.eksCluster+"-") {
		t.Errorf("caller identity is not the role's Pod Identity session: %s", l)
	}
	ipEphemeral(t, c, pod)
	noProbePods(t, c, ns)
}

// The app's containers run as two users and the pod declares the token volume itself with
// defaultMode 0400 (the webhook keeps a volume of that name, and mounts it): the kubelet then
// writes the token as root, mode 0400, and the app's user cannot read it. A probe pod, with the
// webhook's own volume, passes; the in-pod probe, as the app's user, finds what the app finds.
func TestVerifyInPodTokenOfAnotherUser(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	pod := e.ipDeployment(t, c, ns, "web", "app", func(s *corev1.PodSpec) {
		s.Volumes = []corev1.Volume{{Name: "aws-iam-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: ptr.To[int32](0o400),
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience: "sts.amazonaws.com", ExpirationSeconds: ptr.To[int64](86400), Path: "token",
			}}},
		}}}}
		sidecar := *s.Containers[0].DeepCopy()
		sidecar.Name, sidecar.SecurityContext.RunAsUser = "sidecar", ptr.To[int64](2000)
		s.Containers = append(s.Containers, sidecar)
	})

	plain := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...)
	if plain.code != 0 || !strings.Contains(lineOf(plain.stdout, "token.file"), "is readable") {
		t.Fatalf("the probe pod: exit %d, want 0 with a readable token\nstdout:\n%s\nstderr:\n%s", plain.code, plain.stdout, plain.stderr)
	}
	r := e.wi(t, e.ipArgs(ns, "deployment/web")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	ipRequire(t, r, map[string]string{"inpod.start": "PASS", "env.path": "PASS", "token.file": "FAIL"})
	if l := lineOf(r.stdout, "token.file"); !strings.Contains(l, "is not readable by uid 1000") {
		t.Errorf("token.file does not name the app's user: %s", l)
	}
	_, ec, _ := ipEphemeral(t, c, pod)
	if ptr.Deref(ec.SecurityContext.RunAsUser, -1) != 1000 {
		t.Errorf("the probe ran as %v, not the app's user", ec.SecurityContext.RunAsUser)
	}
}

// RBAC without patch on pods/ephemeralcontainers: verify says so, naming the verb and the
// resource, runs a probe pod instead (which passes) and exits 3; the app's pod is untouched.
// With verify.yaml's optional rule, the same user's in-pod run passes.
func TestVerifyInPodForbidden(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	pod := e.ipDeployment(t, c, ns, "web", "app", nil)
	cr := loadClusterRole(t, "verify.yaml")

	kubeconfig := e.userWithRole(t, c, ns, cr, &permission{"patch", "pods/ephemeralcontainers"}, "")
	r := e.wi(t, append(e.ipArgs(ns, "deployment/web"), "--kubeconfig", kubeconfig)...)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	ipRequire(t, r, map[string]string{"inpod.refused": "WARN", "pod.start": "PASS", "sts.assume_role": "PASS", "sts.caller_identity": "PASS"})
	if l := lineOf(r.stdout, "inpod.refused"); !strings.Contains(l, `ask for RBAC verb "patch" on "pods/ephemeralcontainers"`) || !strings.Contains(l, "a probe pod runs instead") {
		t.Errorf("inpod.refused: %s", l)
	}
	if !strings.Contains(r.stderr, "--in-pod: the probe could not join the app's pod (forbidden)") {
		t.Errorf("stderr does not say why the exit is 3: %s", r.stderr)
	}
	cur, err := c.CoreV1().Pods(ns).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil || len(cur.Spec.EphemeralContainers) != 0 {
		t.Errorf("the app's pod got an ephemeral container (%v)", err)
	}
	noProbePods(t, c, ns)

	kubeconfig = e.userWithRole(t, c, ns, cr, nil, "")
	if r := e.wi(t, append(e.ipArgs(ns, "deployment/web"), "--kubeconfig", kubeconfig)...); r.code != 0 {
		t.Fatalf("with verify.yaml's optional rule: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	ipEphemeral(t, c, pod)
}

// --dry-run=client prints the patch and writes nothing: the pod is as it was, no probe pod,
// even for a user who may not patch pods/ephemeralcontainers.
func TestVerifyInPodDryRun(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	pod := e.ipDeployment(t, c, ns, "web", "app", nil)
	kubeconfig := e.userWithRole(t, c, ns, loadClusterRole(t, "verify.yaml"), &permission{"patch", "pods/ephemeralcontainers"}, "")

	r := e.wi(t, "verify", "-n", ns, "deployment/web", "--in-pod", "--dry-run=client", "--sts-endpoint", e.stsEndpoint, "--ca-bundle", e.caFile, "--kubeconfig", kubeconfig)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	var patch struct {
		Spec struct {
			EphemeralContainers []corev1.EphemeralContainer `json:"ephemeralContainers"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict([]byte(r.stdout), &patch); err != nil || len(patch.Spec.EphemeralContainers) != 1 {
		t.Fatalf("stdout is not the patch (%v):\n%s", err, r.stdout)
	}
	ec := patch.Spec.EphemeralContainers[0]
	if ec.TargetContainerName != "app" || !strings.HasPrefix(ec.Name, "wi-probe-") {
		t.Errorf("ephemeral container %+v", ec)
	}
	var pem bool
	for _, v := range ec.Env {
		pem = pem || v.Name == "KUBECTL_WI_PROBE_CA_BUNDLE_PEM" && strings.Contains(v.Value, "BEGIN CERTIFICATE")
	}
	if !pem {
		t.Error("--ca-bundle is not in the env as PEM")
	}
	if !strings.Contains(r.stderr, "dry run: nothing was written") {
		t.Errorf("stderr: %s", r.stderr)
	}
	cur, err := c.CoreV1().Pods(ns).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil || cur.ResourceVersion != pod.ResourceVersion || len(cur.Spec.EphemeralContainers) != 0 {
		t.Errorf("the pod changed: resourceVersion %s -> %s, %d ephemeral containers (%v)", pod.ResourceVersion, cur.ResourceVersion, len(cur.Spec.EphemeralContainers), err)
	}
	noProbePods(t, c, ns)
}

// ipRejectEgress makes the pod's own network namespace refuse what it sends to ip (and port,
// when not empty), as a NetworkPolicy or a sidecar's rules would: an iptables rule entered
// with nsenter through one of the pod's processes. Other pods, a probe pod among them, are
// not touched.
func ipRejectEgress(t *testing.T, pod *corev1.Pod, ip, port string) {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	uid := string(pod.UID)
	for _, f := range procs {
		cg, err := os.ReadFile(f)
		if err != nil || !bytes.Contains(cg, []byte("pod"+uid)) && !bytes.Contains(cg, []byte("pod"+strings.ReplaceAll(uid, "-", "_"))) {
			continue
		}
		rule := []string{"--net=" + filepath.Join(filepath.Dir(f), "ns", "net"), "iptables", "-I", "OUTPUT", "-d", ip}
		if port != "" {
			rule = append(rule, "-p", "tcp", "--dport", port)
		}
		rule = append(rule, "-j", "REJECT", "--reject-with", "icmp-host-unreachable")
		if out, err := exec.Command("nsenter", rule...).CombinedOutput(); err != nil {
			t.Fatalf("nsenter %v: %v\n%s", rule, err, out)
		}
		return
	}
	t.Fatalf("no process of pod %s/%s (uid %s) on this node", pod.Namespace, pod.Name, uid)
}

// The app's own pod cannot reach STS (its network namespace refuses the endpoint): the probe
// pod passes, the in-pod probe fails naming the endpoint and the egress to allow.
func TestVerifyInPodNetworkSTS(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	pod := e.ipDeployment(t, c, ns, "web", "app", nil)
	u, err := url.Parse(e.stsEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	ipRejectEgress(t, pod, u.Hostname(), u.Port())

	if plain := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...); plain.code != 0 {
		t.Fatalf("the probe pod: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", plain.code, plain.stdout, plain.stderr)
	}
	start := time.Now()
	r := e.wi(t, e.ipArgs(ns, "deployment/web")...)
	t.Logf("the in-pod run took %s", time.Since(start).Round(time.Millisecond))
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	ipRequire(t, r, map[string]string{"token.file": "PASS", "sts.assume_role": "FAIL", "sts.caller_identity": "SKIP"})
	if l := lineOf(r.stdout, "sts.assume_role"); !strings.Contains(l, "the pod cannot reach STS at "+e.stsEndpoint) {
		t.Errorf("sts.assume_role does not name the network path: %s", l)
	}
	if !strings.Contains(r.stdout, "allow egress to "+u.Host) {
		t.Errorf("no fix naming the egress:\n%s", r.stdout)
	}
}

// Under the EKS profile, the app's pod cannot reach the Pod Identity agent on 169.254.170.23:
// the probe pod passes, the in-pod probe fails naming the agent's address.
func TestVerifyInPodNetworkAgent(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	e.requirePodIdentity(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "pi-"+ns, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	serviceAccount(t, c, ns, "app", nil)
	e.associate(t, c, ns, "app", role)
	pod := e.ipDeployment(t, c, ns, "web", "app", nil)
	ipRejectEgress(t, pod, e.agentAddr, "")

	if plain := e.wi(t, e.verifyArgs(ns, "deployment/web", e.stsEndpoint, "-o", "text")...); plain.code != 0 {
		t.Fatalf("the probe pod: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", plain.code, plain.stdout, plain.stderr)
	}
	r := e.wi(t, e.ipArgs(ns, "deployment/web")...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	ipRequire(t, r, map[string]string{"podidentity.token_file": "PASS", "podidentity.agent": "FAIL"})
	if l := lineOf(r.stdout, "podidentity.agent"); !strings.Contains(l, "no route from this pod to http://"+e.agentAddr) {
		t.Errorf("podidentity.agent does not name the network path: %s", l)
	}
}

// Pod Security: in a namespace that enforces the restricted profile, the ephemeral probe of a
// compliant app is admitted. An app that runs as root gets a root probe, which the footprint
// says the profile refuses; once the namespace enforces it, admission refuses the probe, verify
// says so with the fix, and a probe pod proves the account instead (exit 3).
func TestVerifyInPodRestricted(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	const enforce = "pod-security.kubernetes.io/enforce"

	t.Run("a compliant app", func(t *testing.T) {
		ns := e.namespace(t, c, map[string]string{enforce: "restricted"})
		e.happyServiceAccount(t, c, ns)
		pod := e.ipDeployment(t, c, ns, "web", "app", nil)
		r := e.wi(t, e.ipArgs(ns, "deployment/web")...)
		if r.code != 0 {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		ipRequire(t, r, map[string]string{"inpod.start": "PASS", "sts.caller_identity": "PASS"})
		ipEphemeral(t, c, pod)
	})

	t.Run("an app that runs as root", func(t *testing.T) {
		ns := e.namespace(t, c, nil)
		e.happyServiceAccount(t, c, ns)
		pod := e.ipDeployment(t, c, ns, "web", "app", func(s *corev1.PodSpec) {
			s.SecurityContext = nil
			s.Containers[0].SecurityContext.RunAsUser = ptr.To[int64](0)
		})
		r := e.wi(t, e.ipArgs(ns, "deployment/web")...)
		if r.code != 0 {
			t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if l := lineOf(r.stdout, "inpod.footprint"); !strings.Contains(l, "running as user 0 as the app does") ||
			!strings.Contains(l, "the app runs as root (runAsUser 0), so the probe does too: Pod Security's restricted profile refuses a root container") {
			t.Errorf("the footprint does not say the probe runs as root: %s", l)
		}

		ns2, err := c.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ns2.Labels[enforce] = "restricted"
		if _, err := c.CoreV1().Namespaces().Update(context.Background(), ns2, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		r = e.wi(t, e.ipArgs(ns, "deployment/web")...)
		if r.code != 3 {
			t.Fatalf("exit %d, want 3\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		ipRequire(t, r, map[string]string{"inpod.refused": "WARN", "pod.start": "PASS", "sts.caller_identity": "PASS"})
		l := lineOf(r.stdout, "inpod.refused")
		if !strings.Contains(l, "Pod Security admission refused the ephemeral container") || !strings.Contains(l, `violates PodSecurity "restricted`) {
			t.Errorf("inpod.refused: %s", l)
		}
		if !strings.Contains(r.stdout, "the app runs as root, and the probe must run as the app's user to read what it reads") {
			t.Errorf("no fix for a root app:\n%s", r.stdout)
		}
		cur, err := c.CoreV1().Pods(ns).Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err != nil || len(cur.Spec.EphemeralContainers) != 1 {
			t.Errorf("the pod has %d ephemeral containers, want the first run's alone (%v)", len(cur.Spec.EphemeralContainers), err)
		}
		noProbePods(t, c, ns)
	})
}

// With no TARGET, --in-pod proves each deployment of the namespace's accounts from inside one
// of its pods, --parallel at a time, each line led by its workload.
func TestVerifyInPodFleet(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.happyServiceAccount(t, c, ns)
	web := e.ipDeployment(t, c, ns, "web", "app", nil)
	api := e.ipDeployment(t, c, ns, "api", "app", nil)

	r := e.wi(t, e.fleetArgs(e.stsEndpoint, "-n", ns, "--in-pod", "--parallel", "2", "-o", "text")...)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		ns + "/deployment/web  PASS inpod.start  ", ns + "/deployment/api  PASS inpod.start  ",
		ns + "/deployment/web  PASS app.sdk  ", ns + "/deployment/api  PASS sts.caller_identity  ",
		"\n2 of 2 workloads passed\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	ipEphemeral(t, c, web)
	ipEphemeral(t, c, api)
	noProbePods(t, c, ns)
}
