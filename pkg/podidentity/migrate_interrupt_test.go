package podidentity_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// Ctrl-C while migrate's association create, or its trust policy write, is on its way to AWS,
// which makes it anyway: the rollback undoes it. A write cancelled with the run used to answer
// with the context's error although AWS had made it, and the rollback did not know to undo
// it: the association, or the trust statement, stayed, and no line said so.
func TestMigrateInterruptedWhileWriting(t *testing.T) {
	for _, action := range []string{podidentity.ActionCreateAssociation, podidentity.ActionUpdateAssumeRolePolicy} {
		t.Run(action, func(t *testing.T) {
			b := newBed(t, map[string]string{"api": awstest.Role}, false)
			original := b.aws.Roles["app"]
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ctx = ctx
			b.api = awstest.Interrupting{AWS: b.aws, Action: action, Interrupt: cancel}

			_, out, err := b.run(t, podidentity.Config{WriteTrust: true})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v, want an interrupted run\n%s", err, out)
			}
			if b.aws.Associated(ns, "api") {
				t.Errorf("the association made while the run was interrupted stays:\n%s", out)
			}
			if got := b.aws.Roles["app"]; got != original {
				t.Errorf("trust policy\n%s\nwant it restored to\n%s\n%s", got, original, out)
			}
			if !strings.Contains(out, "restored to the one it had before this run") {
				t.Errorf("the output does not say the trust policy was restored:\n%s", out)
			}
			if action == podidentity.ActionCreateAssociation && !strings.Contains(out, "deleted: rolled back") {
				t.Errorf("the output does not say the association was rolled back:\n%s", out)
			}
		})
	}
}
