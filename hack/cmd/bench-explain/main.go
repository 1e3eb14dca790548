// Command bench-explain measures `kubectl wi explain` on the local cluster (make
// bench-explain): N service accounts on R roles of the AWS stand-in, explained from IAM (wall
// time, the AWS calls explain counted and those the stand-in logged), then proven by the token
// exchange (wall time, STS calls). It prints figures and asserts none; it fails only when it
// cannot measure. It removes what it added on every exit path.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "bench-explain: %v\n", err)
		os.Exit(1)
	}
}

type config struct {
	accounts, roles int
	bin, namespace  string
}

func run() error {
	var c config
	flag.IntVar(&c.accounts, "accounts", 200, "service accounts to explain")
	flag.IntVar(&c.roles, "roles", 20, "distinct roles they use")
	flag.StringVar(&c.bin, "bin", "bin/kubectl-wi", "the kubectl-wi binary")
	flag.StringVar(&c.namespace, "namespace", "bench-explain", "namespace to seed (deleted at the end)")
	flag.Parse()
	need := map[string]string{}
	for _, k := range []string{"KUBECONFIG", "WI_STS_CONFIG", "WI_STS_ENDPOINT", "WI_CA_FILE", "WI_ISSUER", "WI_STS_ACCOUNT", "WI_AUDIT_LOG"} {
		if need[k] = os.Getenv(k); need[k] == "" {
			return fmt.Errorf("%s is not set: source $WI_STATE/env (hack/bench-explain.sh does)", k)
		}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", need["KUBECONFIG"])
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 200, 400
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	saved, err := os.ReadFile(need["WI_STS_CONFIG"])
	if err != nil {
		return err
	}
	defer func() {
		// The stand-in's configuration as it was; the namespace and its accounts gone.
		_ = writeAtomic(need["WI_STS_CONFIG"], saved)
		_ = client.CoreV1().Namespaces().Delete(context.Background(), c.namespace, metav1.DeleteOptions{})
	}()

	host := strings.TrimPrefix(need["WI_ISSUER"], "https://")
	provider := fmt.Sprintf("arn:aws:iam::%s:oidc-provider/%s", need["WI_STS_ACCOUNT"], host)
	var st map[string]any
	if err := yaml.Unmarshal(saved, &st); err != nil {
		return err
	}
	roles, _ := st["roles"].([]any)
	for r := range c.roles {
		roles = append(roles, map[string]any{"name": fmt.Sprintf("bench-explain-%d", r), "trustPolicy": map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
				"Condition": map[string]any{"StringEquals": map[string]any{host + ":aud": "sts.amazonaws.com"}, "StringLike": map[string]any{host + ":sub": "system:serviceaccount:" + c.namespace + ":*"}},
			}},
		}})
	}
	st["roles"] = roles
	users, _ := st["users"].([]any)
	key, secret := "AKIABENCHEXPLAIN0001", "bench-explain-secret-not-real"
	st["users"] = append(users, map[string]any{"arn": "arn:aws:iam::" + need["WI_STS_ACCOUNT"] + ":user/bench-explain", "accessKeyId": key, "secretAccessKey": secret})
	out, err := yaml.Marshal(st)
	if err != nil {
		return err
	}
	if err := writeAtomic(need["WI_STS_CONFIG"], out); err != nil {
		return err
	}

	fmt.Printf("seeding %d service accounts on %d roles in namespace %s\n", c.accounts, c.roles, c.namespace)
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	for i := range c.accounts {
		role := fmt.Sprintf("arn:aws:iam::%s:role/bench-explain-%d", need["WI_STS_ACCOUNT"], i%c.roles)
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("sa-%03d", i), Annotations: map[string]string{"eks.amazonaws.com/role-arn": role}}}
		if _, err := client.CoreV1().ServiceAccounts(c.namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	env := append(os.Environ(), "AWS_ENDPOINT_URL="+need["WI_STS_ENDPOINT"], "AWS_CA_BUNDLE="+need["WI_CA_FILE"], "AWS_REGION=us-west-2",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_SESSION_TOKEN=", "AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret)
	// The stand-in reads its configuration again when the file changes: wait for the user.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, _, err := explain(c, env, "sa-000"); err == nil {
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("the AWS stand-in did not take the bench's user and roles: %w", err)
		}
		time.Sleep(300 * time.Millisecond)
	}

	logPath := filepath.Join(filepath.Dir(need["WI_AUDIT_LOG"]), "wi-sts.log")
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"explain (IAM reads)", nil},
		{"explain --exchange (STS)", []string{"--exchange"}},
	} {
		mark := size(logPath)
		start := time.Now()
		result, lines, err := explain(c, env, "", mode.args...)
		wall := time.Since(start)
		if err != nil {
			return fmt.Errorf("%s: %w", mode.name, err)
		}
		logged := countRequests(logPath, mark, key)
		fmt.Printf("\n%s of %d service accounts: wall %.2f s, %d output lines, verdict %q\n", mode.name, c.accounts, wall.Seconds(), lines, result.Message)
		if calls, ok := result.Data["aws_calls"]; ok {
			fmt.Printf("  AWS calls counted by explain: %v (total %v, for %d distinct roles)\n", calls, result.Data["aws_calls_total"], c.roles)
		}
		if n, ok := result.Data["sts_calls"]; ok {
			fmt.Printf("  STS calls counted by explain: %v (AssumeRoleWithWebIdentity and GetCallerIdentity per account)\n", n)
		}
		fmt.Printf("  requests the AWS stand-in logged: %s\n", logged)
	}
	return nil
}

type event struct {
	Type    string         `json:"type"`
	Status  string         `json:"status"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data"`
}

// explain runs the binary on the namespace (or one account) with -o json and returns its
// verdict; a failed check is an error here, since every seeded account is healthy.
func explain(c config, env []string, target string, args ...string) (event, int, error) {
	argv := []string{"explain", "-n", c.namespace, "-o", "json"}
	if target != "" {
		argv = append(argv, target)
	}
	cmd := exec.Command(c.bin, append(argv, args...)...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var last event
	lines := 0
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	for sc.Scan() {
		lines++
		var ev event
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "result" {
			last = ev
		}
	}
	if runErr != nil {
		return last, lines, fmt.Errorf("%w: %s%s", runErr, strings.TrimSpace(stderr.String()), lastFailure(stdout.String()))
	}
	if last.Status != "pass" {
		return last, lines, errors.New("verdict " + last.Message)
	}
	return last, lines, nil
}

func lastFailure(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, `"status":"fail"`) {
			return "; " + l
		}
	}
	return ""
}

func size(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// countRequests sums the stand-in's log lines since off by service and action: the user's
// signed reads, and the unsigned STS exchanges.
func countRequests(path string, off int64, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unreadable (" + err.Error() + ")"
	}
	defer f.Close()
	if _, err := f.Seek(off, 0); err != nil {
		return err.Error()
	}
	counts := map[string]int{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		svc, action := field(l, "service="), strings.Trim(field(l, "action="), `"`)
		if svc == "" || !strings.Contains(l, key) && !strings.Contains(l, "bench-explain") {
			continue
		}
		k := svc + ":" + action
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	parts := make([]string, 0, len(order))
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func field(line, prefix string) string {
	i := strings.Index(line, " "+prefix)
	if i < 0 {
		return ""
	}
	rest := line[i+1+len(prefix):]
	if j := strings.IndexByte(rest, ' '); j >= 0 {
		return rest[:j]
	}
	return rest
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".bench-tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
