//go:build e2e

package e2e

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeCommands returns the commands of the README's first code block, the ones a newcomer
// runs first, without their trailing comments.
func readmeCommands(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	fences := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() && fences < 2 {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```"):
			fences++
		case fences == 1 && strings.HasPrefix(line, "kubectl wi "):
			cmd, _, _ := strings.Cut(line, "#")
			cmds = append(cmds, strings.Join(strings.Fields(cmd), " "))
		}
	}
	if len(cmds) < 5 {
		t.Fatalf("the README's first code block has %d kubectl wi commands: %q", len(cmds), cmds)
	}
	return cmds
}

// TestReadmeCommandsRunAsPrinted runs the README's first commands in a shell that sourced
// only the file make demo names ($WI_STATE/demo.env), on the demo's objects: none may exit 2
// (a flag or a cluster name missing) or 3 (no AWS credentials, the cluster unreachable), and
// no AWS SDK may write its own lines. The namespace is the test's own rather than demo, and -A
// is that namespace too: other tests' accounts run beside this one.
func TestReadmeCommandsRunAsPrinted(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	envFile := filepath.Join(e.state, "demo.env")
	if _, err := os.Stat(envFile); err != nil {
		t.Fatalf("make demo tells the user to source %s: %v", envFile, err)
	}
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	role := e.addSTSRole(t, "readme-"+randSuffix(), e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	serviceAccount(t, c, ns, "app", nil)
	rbacDeployment(t, c, ns, e.idleImage)

	roleRe := regexp.MustCompile(`arn:aws:iam::111122223333:role/demo-app`)
	for _, printed := range readmeCommands(t) {
		cmd := strings.ReplaceAll(printed, " -n demo", " -n "+ns)
		cmd = strings.ReplaceAll(cmd, " -A", " -n "+ns)
		cmd = roleRe.ReplaceAllString(cmd, role)
		t.Run(strings.Join(strings.Fields(printed)[:3], " "), func(t *testing.T) {
			sh := exec.Command("bash", "-c", ". "+envFile+" && "+cmd)
			// Only what a user's shell has: the test's own environment stays out.
			sh.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + os.Getenv("HOME"), "NO_COLOR=1"}
			var out, errOut strings.Builder
			sh.Stdout, sh.Stderr = &out, &errOut
			err := sh.Run()
			code := 0
			var ee *exec.ExitError
			switch {
			case errors.As(err, &ee):
				code = ee.ExitCode()
			case err != nil:
				t.Fatalf("%s: %v", cmd, err)
			}
			t.Logf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", cmd, code, out.String(), errOut.String())
			if code == 2 || code == 3 {
				t.Errorf("%s: exit %d, as printed in the README it must not need more input or credentials", cmd, code)
			}
			for _, l := range strings.Split(errOut.String()+out.String(), "\n") {
				if strings.HasPrefix(l, "SDK ") {
					t.Errorf("%s: the AWS SDK wrote its own line: %s", cmd, l)
				}
			}
		})
	}
}
