//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// startMigrate runs kubectl-wi in a 120x40 terminal as the AWS stand-in's test user, as piWI
// runs it, then prints its exit code and waits.
func (tm tmux) startMigrate(e env, args []string) {
	var words []string
	for _, kv := range append(e.awsVars(nil), "AWS_ACCESS_KEY_ID="+e.aws["AWS_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY="+e.aws["AWS_SECRET_ACCESS_KEY"], "KUBECONFIG="+e.kubeconfig) {
		words = append(words, "'"+kv+"'")
	}
	words = append(words, "'"+e.bin+"'")
	for _, a := range args {
		words = append(words, "'"+a+"'")
	}
	shell := fmt.Sprintf("env %s; echo EXIT=$?; sleep 600", strings.Join(words, " "))
	tm.run("new-session", "-d", "-s", "verify", "-x", "120", "-y", "40", "-e", "NO_COLOR=1", shell)
}

// screenHas fails the test for each of want the screen lacks, compared word by word: the UI
// wraps to the terminal's width.
func screenHas(t *testing.T, what, screen string, want ...string) {
	t.Helper()
	words := strings.Join(strings.Fields(screen), " ")
	for _, w := range want {
		if !strings.Contains(words, strings.Join(strings.Fields(w), " ")) {
			t.Errorf("%s lacks %q:\n%s", what, w, screen)
		}
	}
}

// TestMigrateTUI: migrate -o tui in a terminal (tmux). A namespace of a good and a bad account
// (whose role does not trust Pod Identity): the live view has a row per account and the
// pre-flight's problem above them, and the run leaves a report with each account's outcome
// and steps and the verdict, exit 1 as in text. Under the EKS profile the good account is
// migrated; under the default one, whose webhook cannot inject Pod Identity, it fails at the
// admission step and is rolled back. Then q while an account is proven (its STS hangs) or waits
// for the webhook cancels the run as Ctrl-C does in text: the association is deleted again,
// nothing restarted, exit 130.
func TestMigrateTUI(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	secret := e.aws["AWS_SECRET_ACCESS_KEY"]

	t.Run("run", func(t *testing.T) {
		ns, _, bad, _, _ := e.goodAndBadAccounts(t, c, "mtui")
		tm := newTmux(t)
		tm.startMigrate(e, e.migrateArgs(ns, "--image", e.probeImage, "-o", "tui"))
		row := ns + "/good  "
		live := tm.waitFor("the live view", 90*time.Second, func(s string) bool {
			return strings.Contains(s, "q or Ctrl-C cancels and rolls back what is not proven") && strings.Contains(s, row) || strings.Contains(s, "EXIT=")
		})
		screenHas(t, "the live view", live, "kubectl wi migrate -n "+ns+" --to pod-identity", "✗ migrate.pre-flight  pre-flight FAILED for serviceaccount/bad", ns+"/bad  ✗ migrate.pre-flight")
		tm.waitFor("migrate to exit", 4*time.Minute, func(s string) bool { return strings.Contains(s, "EXIT=") })
		// The lines the terminal wrapped joined again: a long command is one line.
		screen := tm.run("capture-pane", "-p", "-J", "-S", "-", "-t", "verify")
		want := []string{
			"i migrate.cluster  pre-flight: EKS cluster " + e.eksCluster,
			// The words the UI wraps, a role's name among them, can break at a hyphen: the
			// policy's detail is printed as it is.
			"✗ migrate.pre-flight  pre-flight FAILED for serviceaccount/bad: the role",
			`"Federated": "arn:aws:iam::111122223333:oidc-provider/`,
			"aws iam update-assume-role-policy --role-name " + bad + " --policy-document",
			"✗ " + ns + "/bad  skipped, left untouched: the role",
			ns + "/good\n    ✓ migrate.association  podidentityassociation ",
			ns + "/bad\n    ✗ migrate.pre-flight  serviceaccount/bad: skipped, left untouched",
			"✗ FAIL  ",
			"service account(s) on EKS Pod Identity",
			"EXIT=1",
		}
		if e.eksProfile() {
			want = append(want, "✓ "+ns+"/good  migrated to EKS Pod Identity", "✓ migrate.verify  serviceaccount/good: verified on EKS Pod Identity",
				"✓ migrate.restart  deployment.apps/w-good restarted")
		} else {
			want = append(want, "✗ "+ns+"/good  failed at the admission step", "✗ migrate.admission  serviceaccount/good: the admission step FAILED",
				"i migrate.roll-back  podidentityassociation ")
		}
		screenHas(t, "the report", screen, want...)
		if strings.Contains(screen, "\x1b[") || strings.Contains(screen, secret) {
			t.Errorf("escape codes with NO_COLOR, or the secret key, on the screen:\n%s", screen)
		}
		noProbePods(t, c, ns)
	})

	t.Run("q cancels", func(t *testing.T) {
		ns, good, bad, _, _ := e.goodAndBadAccounts(t, c, "mtuq")
		endpoint, _ := hangingSTS(t, e)
		args := append(e.migrateArgs(ns, "--image", e.probeImage, "-o", "tui"), "serviceaccount/good", "--sts-endpoint", endpoint, "--verify-timeout", "3m")
		tm := newTmux(t)
		tm.startMigrate(e, args)
		live := tm.waitFor("the association created, the run waiting for the webhook or proving", 90*time.Second, func(s string) bool {
			waiting := strings.Contains(s, "waiting for the webhook") || strings.Contains(s, "proving 1 service account(s)")
			return waiting && strings.Contains(s, ns+"/good  ") && e.associations(t, ns)["good"] != "" || strings.Contains(s, "EXIT=")
		})
		if strings.Contains(live, "EXIT=") {
			t.Fatalf("migrate ended before q:\n%s", live)
		}
		tm.run("send-keys", "-t", "verify", "q")
		screen := tm.waitFor("migrate to exit", 90*time.Second, func(s string) bool { return strings.Contains(s, "EXIT=") })
		screenHas(t, "the report", screen, "✗ "+ns+"/good  did not finish: the run was interrupted", "i migrate.roll-back  podidentityassociation ", "✗ interrupted", "EXIT=130")
		ws := writeList(e.migrateWrites(t, ns, good, bad))
		if !slices.Equal(ws, []string{"CreatePodIdentityAssociation good", "DeletePodIdentityAssociation"}) || len(e.associations(t, ns)) != 0 {
			t.Errorf("writes %v, associations %v: want the association created and deleted again", ws, e.associations(t, ns))
		}
		if restartedAt(t, c, ns, "w-good") != "" {
			t.Errorf("w-good was restarted")
		}
		noProbePods(t, c, ns)
	})
}
