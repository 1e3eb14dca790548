//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-wi/kubectl-wi/pkg/monitor"
	"github.com/kubectl-wi/kubectl-wi/pkg/monitorinstall"
)

// The monitor's test interval: short, so that the whole test stays within about three minutes.
const monitorInterval = 15 * time.Second

// monitorProbeSelector selects the monitor's own probe pods.
var monitorProbeSelector = monitor.ProbeSelector().String()

// TestMonitor installs the monitor from the test bed's registry, watching one namespace of
// three healthy IRSA accounts, with a real Prometheus scraping it, and takes it through what
// it is for: a trust policy broken and restored in the AWS stand-in (the series, the failed
// check, the Warning and Normal Events), the monitor killed in the middle of a proof (its
// probe pod swept after the restart), two replicas (each account proven once per interval),
// the webhook paused (webhook down), and uninstall (nothing left). The monitor has AWS reads
// of its own through IRSA, as the README tells users to give them: a role of the AWS stand-in
// trusting its service account and allowed exactly deploy/iam/monitor-policy.json's actions,
// so every proof runs explain's checks too.
func TestMonitor(t *testing.T) {
	e := loadEnv(t)
	if e.eksProfile() {
		t.Skip("the monitor's end-to-end test runs under the default profile: its accounts are IRSA ones, which the EKS profile's webhook gives Pod Identity alongside")
	}
	start := time.Now()
	defer func() { t.Logf("TestMonitor took %s", time.Since(start).Round(time.Second)) }()
	c := e.client(t)
	promtool := requireCommand(t, "promtool")
	prometheus := requireCommand(t, "prometheus")
	e.requirePluginImage(t)

	ns := e.namespace(t, c, nil)
	monNS := "wi-monitor-" + randSuffix()
	accounts := []string{"cart", "orders", "search"}
	roles := map[string]string{}
	for _, sa := range accounts {
		name := "monitor-" + sa + "-" + randSuffix()
		roles[sa] = name
		arn := e.addSTSRole(t, name, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":"+sa))
		serviceAccount(t, c, ns, sa, map[string]string{"eks.amazonaws.com/role-arn": arn})
	}
	pods := watchProbePods(t, c, ns)
	monitorRoleName := "wi-monitor-" + randSuffix()
	monitorPolicy := policyActions(t, filepath.Join("..", "..", "deploy", "iam", "monitor-policy.json"))
	monitorRole := e.addSTSRoleAllowing(t, monitorRoleName,
		e.trustPolicyFor("StringEquals", "system:serviceaccount:"+monNS+":"+monitorinstall.Name), monitorPolicy)
	reqs := e.stsLogMark(t)

	// The monitor's own AWS calls reach the stand-in as the probe pods' do, trusting its CA.
	install := []string{"monitor", "install", "-n", monNS, "--namespaces", ns, "--interval", monitorInterval.String(),
		"--sts-endpoint", e.stsEndpoint, "--ca-bundle", e.caFile,
		"--aws-role-arn", monitorRole, "--aws-endpoint-url", "sts=" + e.stsEndpoint, "--aws-endpoint-url", "iam=" + e.stsEndpoint, "--region", explainRegion}
	t.Cleanup(func() {
		if _, err := c.CoreV1().Namespaces().Get(context.Background(), monNS, metav1.GetOptions{}); err == nil {
			e.wi(t, "monitor", "uninstall", "-n", monNS)
		}
	})
	r := e.wi(t, install...)
	if r.code != 0 {
		t.Fatalf("monitor install: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.adaptToTestBed(t, c, monNS)
	prom := e.startPrometheus(t, c, prometheus, monNS)

	t.Run("three healthy accounts show 1", func(t *testing.T) {
		waitFor(t, 3*monitorInterval+30*time.Second, "kubectl_wi_identity_verified 1 for the three accounts", func(context.Context) (bool, error) {
			got := prom.query(t, fmt.Sprintf(`kubectl_wi_identity_verified{namespace=%q}`, ns))
			return len(got) == 3 && allValues(got, "1"), nil
		})
		if r := e.wi(t, "monitor", "status", "-n", monNS); r.code != 0 || !strings.Contains(r.stdout, "cart") {
			t.Errorf("monitor status: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("the monitor reads AWS with its own IRSA role", func(t *testing.T) {
		if got := prom.query(t, `kubectl_wi_aws_reads_enabled`); len(got) != 1 || !allValues(got, "1") {
			t.Errorf("kubectl_wi_aws_reads_enabled: %v, want 1", got)
		}
		status := e.wi(t, "monitor", "status", "-n", monNS, "-o", "json")
		var st struct {
			AWSReads string `json:"awsReads"`
		}
		if err := json.Unmarshal([]byte(status.stdout), &st); err != nil || st.AWSReads != monitor.AWSReadsEnabled {
			t.Errorf("monitor status -o json: awsReads %q (%v), want %q\n%s%s", st.AWSReads, err, monitor.AWSReadsEnabled, status.stdout, status.stderr)
		}
		// Its credentials came from the webhook (IRSA), with instance metadata off.
		monitorPods, err := c.CoreV1().Pods(monNS).List(context.Background(), metav1.ListOptions{LabelSelector: monitor.NameLabel + "=" + monitor.Name})
		if err != nil || len(monitorPods.Items) == 0 {
			t.Fatalf("the monitor's pods: %v", err)
		}
		for _, p := range monitorPods.Items {
			env := map[string]string{}
			for _, v := range p.Spec.Containers[0].Env {
				env[v.Name] = v.Value
			}
			if env["AWS_ROLE_ARN"] != monitorRole || env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "" || env["AWS_EC2_METADATA_DISABLED"] != "true" {
				t.Errorf("monitor pod %s: AWS_ROLE_ARN %q, AWS_WEB_IDENTITY_TOKEN_FILE %q, AWS_EC2_METADATA_DISABLED %q; want its role through the webhook, instance metadata off",
					p.Name, env["AWS_ROLE_ARN"], env["AWS_WEB_IDENTITY_TOKEN_FILE"], env["AWS_EC2_METADATA_DISABLED"])
			}
		}
		// The stand-in saw the monitor's service account assume its role, and that role's
		// sessions call only what the policy allows: a GetRole for each account at least.
		assumed := reqs.lines(t, `action="AssumeRoleWithWebIdentity"`, `role="`+monitorRole+`"`, `sub="system:serviceaccount:`+monNS+`:`+monitorinstall.Name+`"`, "outcome=OK")
		if len(assumed) == 0 {
			t.Errorf("the AWS stand-in saw no AssumeRoleWithWebIdentity of %s by the monitor's service account", monitorRole)
		}
		call := regexp.MustCompile(` service=(\S+) action="([^"]+)"`)
		getRole := 0
		for _, l := range reqs.lines(t, `principal="arn:aws:sts::`+e.stsAccount+`:assumed-role/`+monitorRoleName+`/`) {
			m := call.FindStringSubmatch(l)
			if m == nil || !slices.Contains(monitorPolicy, m[1]+":"+m[2]) || !strings.Contains(l, "outcome=OK") {
				t.Errorf("a call of the monitor's role outside its policy or refused: %s", l)
				continue
			}
			if m[2] == "GetRole" {
				getRole++
			}
		}
		if getRole < len(accounts) {
			t.Errorf("the monitor's role called iam:GetRole %d times, want one per account at least", getRole)
		}
		t.Logf("the monitor assumed %s %d times, called iam:GetRole %d times", monitorRoleName, len(assumed), getRole)
	})

	broken := accounts[0]
	var failedCheck string
	t.Run("a broken trust policy shows 0, the failed check and a Warning Event", func(t *testing.T) {
		original := e.setTrustPolicy(t, roles[broken], e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":someone-else"))
		t.Cleanup(func() { e.setTrustPolicy(t, roles[broken], original) })
		edited := time.Now()
		waitFor(t, 2*monitorInterval+15*time.Second, "kubectl_wi_identity_verified 0 and a failed check for "+broken, func(context.Context) (bool, error) {
			verified := prom.query(t, fmt.Sprintf(`kubectl_wi_identity_verified{namespace=%q,service_account=%q}`, ns, broken))
			failed := prom.query(t, fmt.Sprintf(`kubectl_wi_identity_check_failed{namespace=%q,service_account=%q} == 1`, ns, broken))
			if len(verified) == 1 && allValues(verified, "0") && len(failed) > 0 {
				failedCheck = failed[0].Metric["check"]
				return true, nil
			}
			return false, nil
		})
		t.Logf("broken: 0 in Prometheus %s after the edit, failed check %q", time.Since(edited).Round(time.Second), failedCheck)
		// With its own AWS reads the monitor runs explain's checks: the trust policy that
		// names another account fails iam.trust beside verify's sts.assume_role.
		var checks []string
		waitFor(t, monitorInterval, "iam.trust and sts.assume_role failed for "+broken, func(context.Context) (bool, error) {
			checks = nil
			for _, f := range prom.query(t, fmt.Sprintf(`kubectl_wi_identity_check_failed{namespace=%q,service_account=%q} == 1`, ns, broken)) {
				checks = append(checks, f.Metric["check"])
			}
			return slices.Contains(checks, "iam.trust") && slices.Contains(checks, "sts.assume_role"), nil
		})
		ev := waitForEvent(t, c, ns, broken, corev1.EventTypeWarning, "IdentityProofFailed")
		if !strings.Contains(ev.Message, failedCheck) {
			t.Errorf("the Warning Event does not name the failed check %q: %q", failedCheck, ev.Message)
		}
		if !strings.Contains(ev.Message, "iam.trust") {
			t.Errorf("the Warning Event does not name explain's iam.trust: %q", ev.Message)
		}
		if others := prom.query(t, fmt.Sprintf(`kubectl_wi_identity_verified{namespace=%q,service_account!=%q} == 1`, ns, broken)); len(others) != 2 {
			t.Errorf("the two other accounts: %v, want both verified", others)
		}
	})

	t.Run("the policy restored, the series returns to 1 and a Normal Event follows", func(t *testing.T) {
		waitFor(t, 3*monitorInterval+30*time.Second, "kubectl_wi_identity_verified 1 again for "+broken, func(context.Context) (bool, error) {
			verified := prom.query(t, fmt.Sprintf(`kubectl_wi_identity_verified{namespace=%q,service_account=%q}`, ns, broken))
			failed := prom.query(t, fmt.Sprintf(`kubectl_wi_identity_check_failed{namespace=%q,service_account=%q}`, ns, broken))
			return len(verified) == 1 && allValues(verified, "1") && len(failed) == 0, nil
		})
		waitForEvent(t, c, ns, broken, corev1.EventTypeNormal, "IdentityProofRecovered")
		warnings := eventsOf(t, c, ns, broken, "IdentityProofFailed")
		if len(warnings) != 1 || warnings[0].Count > 1 {
			t.Errorf("Warning Events on %s: %d (count %v), want one: never one per round when nothing changed", broken, len(warnings), warnings)
		}
	})

	t.Run("the monitor killed mid-run leaves no probe pod after its restart", func(t *testing.T) {
		// A probe pod still Pending, not one whose probe has run: the monitor deletes that one
		// itself within moments, maybe before the kill lands, and then nothing is left to sweep.
		var probe string
		waitFor(t, 2*monitorInterval+10*time.Second, "a Pending probe pod of the monitor", func(ctx context.Context) (bool, error) {
			list, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: monitorProbeSelector})
			if err != nil {
				return false, err
			}
			for _, p := range list.Items {
				if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodPending {
					probe = p.Name
					return true, nil
				}
			}
			return false, nil
		})
		monitorPods, err := c.CoreV1().Pods(monNS).List(context.Background(), metav1.ListOptions{LabelSelector: monitor.NameLabel + "=" + monitor.Name})
		if err != nil {
			t.Fatal(err)
		}
		// SIGKILL through the node's containerd: no SIGTERM reaches the monitor, so it cannot
		// delete its probe pod itself (a pod delete, even with grace 0, sends SIGTERM first).
		// The kubelet restarts the container in the same pod.
		ctr := requireCommand(t, "ctr")
		for _, p := range monitorPods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				_, id, ok := strings.Cut(cs.ContainerID, "containerd://")
				if !ok {
					t.Fatalf("monitor pod %s: container id %q is not containerd's", p.Name, cs.ContainerID)
				}
				out, err := exec.Command(ctr, "--address", filepath.Join(e.state, "run", "containerd", "containerd.sock"), "-n", "k8s.io",
					"task", "kill", "-s", "KILL", id).CombinedOutput()
				if err != nil {
					t.Fatalf("ctr task kill %s of monitor pod %s: %v\n%s", id, p.Name, err, out)
				}
			}
		}
		t.Logf("killed the monitor in %d pod(s) while %s ran", len(monitorPods.Items), probe)
		// The sweep deletes it, not the killed monitor nor the probe's own end: the restarted
		// container's log says so (pkg/monitor's sweep).
		swept := func(line string) bool {
			return strings.Contains(line, `"deleted a leftover probe pod"`) && strings.Contains(line, `pod="`+ns+"/"+probe+`"`)
		}
		var log string
		err = wait.PollUntilContextTimeout(context.Background(), time.Second, 90*time.Second, true, func(ctx context.Context) (bool, error) {
			for _, p := range monitorPods.Items {
				b, err := c.CoreV1().Pods(monNS).GetLogs(p.Name, &corev1.PodLogOptions{Container: monitorinstall.ContainerName}).DoRaw(ctx)
				if err != nil { // the container is restarting
					continue
				}
				log = string(b)
				if slices.ContainsFunc(strings.Split(log, "\n"), swept) {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("the restarted monitor's log does not say it deleted the leftover probe pod %s (%v):\n%s", probe, err, log)
		}
		if _, err := c.CoreV1().Pods(ns).Get(context.Background(), probe, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("probe pod %s after the sweep: %v, want it gone", probe, err)
		}
	})

	t.Run("two replicas prove each account once per interval", func(t *testing.T) {
		r := e.wi(t, append(install, "--replicas", "2")...)
		if r.code != 0 {
			t.Fatalf("monitor install --replicas 2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "deployment.apps/kubectl-wi-monitor configured") || strings.Count(r.stdout, " unchanged") < 5 {
			t.Errorf("the rerun with --replicas 2 changed more than the Deployment:\n%s", r.stdout)
		}
		waitFor(t, 60*time.Second, "two monitor replicas scraped, one leader", func(context.Context) (bool, error) {
			leader := prom.query(t, `kubectl_wi_monitor_leader`)
			return len(leader) == 2 && countValues(leader, "1") == 1, nil
		})
		mark := e.enAuditMark(t)
		from := time.Now()
		time.Sleep(3 * monitorInterval)
		created := probeCreates(mark.since(t, c, ns), ns)
		for name, user := range created {
			if user != "system:serviceaccount:"+monNS+":kubectl-wi-monitor" {
				t.Errorf("probe pod %s created by %s", name, user)
			}
		}
		perAccount := pods.createdSince(from)
		for _, sa := range accounts {
			times := perAccount[sa]
			// 3 intervals: at most one proof per interval, jitter (10%) and the round at the
			// window's edge allowing one more; never two of one account closer than half an
			// interval, which two replicas proving alike would give.
			if len(times) > 4 {
				t.Errorf("%s proven %d times in %s with two replicas: %v", sa, len(times), 3*monitorInterval, times)
			}
			for i := 1; i < len(times); i++ {
				if gap := times[i].Sub(times[i-1]); gap < monitorInterval/2 {
					t.Errorf("%s proven twice %s apart (%v)", sa, gap, times)
				}
			}
			if len(times) == 0 {
				t.Errorf("%s never proven in %s", sa, 3*monitorInterval)
			}
		}
		t.Logf("probe pods in %s: %d (audit log), per account %v", 3*monitorInterval, len(created), countTimes(perAccount))
	})

	t.Run("a scrape passes promtool check metrics", func(t *testing.T) {
		target := prom.targets(t)
		if len(target) == 0 {
			t.Fatal("Prometheus has no active target")
		}
		resp, err := http.Get(target[0])
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("the webhook paused gives webhook down", func(t *testing.T) {
		pause(t, e, "wi-webhook")
		paused := time.Now()
		waitFor(t, 2*time.Minute, "kubectl_wi_webhook_up 0", func(context.Context) (bool, error) {
			up := prom.query(t, `kubectl_wi_webhook_up`)
			return len(up) == 1 && allValues(up, "0"), nil
		})
		resume(t, e, "wi-webhook")
		t.Logf("webhook down seen %s after the pause", time.Since(paused).Round(time.Second))
	})

	t.Run("the monitor's log holds no secret", func(t *testing.T) {
		monitorPods, err := c.CoreV1().Pods(monNS).List(context.Background(), metav1.ListOptions{LabelSelector: monitor.NameLabel + "=" + monitor.Name})
		if err != nil {
			t.Fatal(err)
		}
		logs := 0
		for _, p := range monitorPods.Items {
			// The container killed earlier left its log as the previous one.
			for _, previous := range []bool{false, true} {
				b, err := c.CoreV1().Pods(monNS).GetLogs(p.Name, &corev1.PodLogOptions{Container: monitorinstall.ContainerName, Previous: previous}).DoRaw(context.Background())
				if err != nil {
					continue
				}
				logs++
				noSecrets(t, fmt.Sprintf("the log of monitor pod %s (previous %v)", p.Name, previous), string(b))
			}
		}
		if logs == 0 {
			t.Fatal("no log of the monitor to read")
		}
	})

	t.Run("uninstall leaves no object and no pod", func(t *testing.T) {
		r := e.wi(t, "monitor", "uninstall", "-n", monNS)
		if r.code != 0 {
			t.Fatalf("monitor uninstall: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		ctx := context.Background()
		if _, err := c.CoreV1().Namespaces().Get(ctx, monNS, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("namespace %s: %v, want it gone", monNS, err)
		}
		if probes, _ := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: monitorProbeSelector}); len(probes.Items) > 0 {
			t.Errorf("%d probe pods of the monitor left", len(probes.Items))
		}
		for _, get := range []func() error{
			func() error {
				_, err := c.RbacV1().ClusterRoles().Get(ctx, "kubectl-wi-monitor", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := c.RbacV1().ClusterRoleBindings().Get(ctx, "kubectl-wi-monitor", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := c.RbacV1().Roles(ns).Get(ctx, "kubectl-wi-monitor", metav1.GetOptions{})
				return err
			},
			func() error {
				_, err := c.RbacV1().Roles("kube-system").Get(ctx, "kubectl-wi-monitor-agent", metav1.GetOptions{})
				return err
			},
		} {
			if err := get(); !apierrors.IsNotFound(err) {
				t.Errorf("left behind: %v", err)
			}
		}
	})
}

func requireCommand(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: make deps (hack/deps.sh) installs Debian's prometheus package", name)
	}
	return p
}

// requirePluginImage fails unless the test bed's registry holds this kubectl-wi's plugin
// image (registry-up.sh pushes it; hack/plugin-image.sh after a rebuild).
func (e env) requirePluginImage(t *testing.T) {
	t.Helper()
	out, err := exec.Command(e.bin, "version", "-o", "jsonpath={.pluginImage}").Output()
	if err != nil {
		t.Fatal(err)
	}
	image := string(out)
	repo, tag, _ := strings.Cut(strings.TrimPrefix(image, strings.SplitN(image, "/", 2)[0]+"/"), ":")
	resp, err := http.Head("http://127.0.0.1:5000/v2/" + repo + "/manifests/" + tag)
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the test bed's registry has no %s (%v): run hack/plugin-image.sh", image, err)
	}
}

// adaptToTestBed lets the monitor's pods reach the apiserver: the test bed's apiserver listens
// on 127.0.0.1 only and no kube-proxy serves the kubernetes Service, so the test relays a port
// on the bridge gateway to it and points the pods' in-cluster config there, by a name the
// apiserver's certificate holds. Written with a field manager of its own, it is a field
// install does not own: a rerun of install leaves it.
func (e env) adaptToTestBed(t *testing.T, c kubernetes.Interface, monNS string) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	apiserver, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := url.Parse(e.stsEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	gateway := sts.Hostname()
	l, err := net.Listen("tcp", net.JoinHostPort(gateway, "0"))
	if err != nil {
		t.Fatal(err)
	}
	// At the end the relay's connections are closed, not waited for: the monitor's watches
	// through it never end on their own.
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	track := func(conn net.Conn, add bool) {
		mu.Lock()
		defer mu.Unlock()
		if add {
			open[conn] = true
		} else {
			delete(open, conn)
		}
	}
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for conn := range open {
			_ = conn.Close()
		}
	})
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				out, err := net.Dial("tcp", apiserver.Host)
				if err != nil {
					_ = in.Close()
					return
				}
				track(in, true)
				track(out, true)
				defer func() {
					_ = in.Close()
					_ = out.Close()
					track(in, false)
					track(out, false)
				}()
				go func() { _, _ = io.Copy(out, in); _ = out.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(in, out)
			}()
		}
	}()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"hostAliases":[{"ip":%q,"hostnames":["kubernetes.default.svc"]}],`+
		`"containers":[{"name":"monitor","env":[{"name":"KUBERNETES_SERVICE_HOST","value":"kubernetes.default.svc"},{"name":"KUBERNETES_SERVICE_PORT","value":%q}]}]}}}}`, gateway, port)
	if _, err := c.AppsV1().Deployments(monNS).Patch(context.Background(), "kubectl-wi-monitor", types.StrategicMergePatchType, []byte(patch),
		metav1.PatchOptions{FieldManager: "e2e-test-bed"}); err != nil {
		t.Fatal(err)
	}
}

// prom is a Prometheus server of the test's own.
type prom struct{ url string }

// startPrometheus runs Debian's prometheus on a free port of 127.0.0.1, scraping the monitor's
// pods in monNS every 2s at their pod IPs, which the host reaches over the node's bridge.
// Debian builds Prometheus without kubernetes_sd_configs, so the test is the discovery: it
// watches the monitor's pods and writes their addresses to a file_sd_configs file, which
// Prometheus reads again when it changes. Prometheus is stopped by its PID when the test ends.
func (e env) startPrometheus(t *testing.T, c kubernetes.Interface, bin, monNS string) prom {
	t.Helper()
	dir := t.TempDir()
	targets := filepath.Join(dir, "monitor-targets.json")
	if err := os.WriteFile(targets, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	discoverMonitorPods(t, c, monNS, targets)
	config := fmt.Sprintf(`global:
  scrape_interval: 2s
  evaluation_interval: 2s
scrape_configs:
- job_name: kubectl-wi-monitor
  file_sd_configs:
  - files: [%s]
`, targets)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	logFile, err := os.Create(filepath.Join(e.state, "logs", "prometheus-"+monNS+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--storage.tsdb.retention.time=1h")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})
	p := prom{url: "http://" + addr}
	waitFor(t, 30*time.Second, "Prometheus ready on "+addr, func(context.Context) (bool, error) {
		resp, err := http.Get(p.url + "/-/ready")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	t.Logf("Prometheus on %s (PID %d), log %s", addr, cmd.Process.Pid, logFile.Name())
	return p
}

// discoverMonitorPods keeps file a file_sd_configs list of the running monitor pods in monNS:
// podIP:8080 each, labelled with the pod's name.
func discoverMonitorPods(t *testing.T, c kubernetes.Interface, monNS, file string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.CoreV1().Pods(monNS).Watch(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=kubectl-wi-monitor"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); w.Stop(); <-done })
	go func() {
		defer close(done)
		ips := map[string]string{}
		for ev := range w.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted || pod.Status.PodIP == "" || pod.DeletionTimestamp != nil {
				delete(ips, pod.Name)
			} else {
				ips[pod.Name] = pod.Status.PodIP
			}
			type group struct {
				Targets []string          `json:"targets"`
				Labels  map[string]string `json:"labels"`
			}
			groups := []group{}
			for name, ip := range ips {
				groups = append(groups, group{Targets: []string{net.JoinHostPort(ip, "8080")}, Labels: map[string]string{"pod": name}})
			}
			b, _ := json.Marshal(groups)
			_ = os.WriteFile(file+".tmp", b, 0o600)
			_ = os.Rename(file+".tmp", file)
		}
	}()
}

// sample is one series of an instant query.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) value() string { v, _ := s.Value[1].(string); return v }

// query runs an instant query through Prometheus' HTTP API.
func (p prom) query(t *testing.T, q string) []sample {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []sample `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "success" {
		t.Fatalf("query %s: %s", q, body.Error)
	}
	return body.Data.Result
}

// targets are the scrape URLs of the active targets that are up.
func (p prom) targets(t *testing.T) []string {
	t.Helper()
	resp, err := http.Get(p.url + "/api/v1/targets?state=active")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			ActiveTargets []struct {
				ScrapeURL string `json:"scrapeUrl"`
				Health    string `json:"health"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tg := range body.Data.ActiveTargets {
		if tg.Health == "up" {
			out = append(out, tg.ScrapeURL)
		}
	}
	return out
}

func allValues(s []sample, v string) bool { return countValues(s, v) == len(s) }

func countValues(s []sample, v string) int {
	n := 0
	for _, x := range s {
		if x.value() == v {
			n++
		}
	}
	return n
}

// setTrustPolicy replaces a role's trust policy in the AWS stand-in and returns the old one.
func (e env) setTrustPolicy(t *testing.T, role string, policy map[string]any) map[string]any {
	t.Helper()
	var old map[string]any
	e.editSTSConfig(t, func(cfg map[string]any) {
		roles, _ := cfg["roles"].([]any)
		for _, r := range roles {
			m, _ := r.(map[string]any)
			if m["name"] == role {
				old, _ = m["trustPolicy"].(map[string]any)
				m["trustPolicy"] = policy
			}
		}
	})
	if old == nil {
		t.Fatalf("no role %s in the AWS stand-in", role)
	}
	return old
}

func waitForEvent(t *testing.T, c kubernetes.Interface, ns, sa, eventType, reason string) corev1.Event {
	t.Helper()
	var ev corev1.Event
	waitFor(t, 30*time.Second, "a "+eventType+" "+reason+" Event on serviceaccount/"+sa, func(context.Context) (bool, error) {
		for _, e := range eventsOf(t, c, ns, sa, reason) {
			if e.Type == eventType {
				ev = e
				return true, nil
			}
		}
		return false, nil
	})
	return ev
}

// probePods records, from a watch, when each probe pod of the monitor in a namespace was
// created and for which account.
type probePods struct {
	mu      sync.Mutex
	created map[string]time.Time // pod name -> creation
	account map[string]string    // pod name -> service account
}

func watchProbePods(t *testing.T, c kubernetes.Interface, ns string) *probePods {
	t.Helper()
	p := &probePods{created: map[string]time.Time{}, account: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		// A watch ends (the apiserver's timeout, a dropped connection): watch again.
		for ctx.Err() == nil {
			w, err := c.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: monitorProbeSelector})
			if err != nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			for ev := range w.ResultChan() {
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok || ev.Type == watch.Deleted {
					continue
				}
				p.mu.Lock()
				if _, seen := p.created[pod.Name]; !seen {
					p.created[pod.Name] = pod.CreationTimestamp.Time
					p.account[pod.Name] = pod.Spec.ServiceAccountName
				}
				p.mu.Unlock()
			}
			w.Stop()
		}
	}()
	return p
}

// createdSince are the creation times of the probe pods seen since from, per account, sorted.
func (p *probePods) createdSince(from time.Time) map[string][]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string][]time.Time{}
	for name, at := range p.created {
		if !at.Before(from) {
			out[p.account[name]] = append(out[p.account[name]], at)
		}
	}
	for _, times := range out {
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	}
	return out
}

func countTimes(m map[string][]time.Time) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}

// probeCreates are the probe pods created in ns in the audit events (not dry runs), by name,
// with the user who created each.
func probeCreates(events []enEvent, ns string) map[string]string {
	out := map[string]string{}
	for _, ev := range events {
		if ev.Stage != "ResponseComplete" || ev.Verb != "create" || ev.ObjectRef == nil || ev.ObjectRef.Resource != "pods" ||
			ev.ObjectRef.Subresource != "" || ev.ObjectRef.Namespace != ns || !strings.HasPrefix(ev.ObjectRef.Name, "wi-probe-") ||
			strings.Contains(ev.RequestURI, "dryRun") {
			continue
		}
		out[ev.ObjectRef.Name] = ev.User.Username
	}
	return out
}
