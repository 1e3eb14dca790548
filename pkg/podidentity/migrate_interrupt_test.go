package podidentity_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
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
			b.api = interruptedWrite{AWS: b.aws, action: action, interrupt: cancel}

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

// interruptedWrite is AWS that makes the write action, and then the run is interrupted before
// the answer comes back: a write whose context is done by then answers with the context's
// error, as the SDK does when its request is cancelled in flight.
type interruptedWrite struct {
	*awstest.AWS
	action    string
	interrupt context.CancelFunc
}

func (w interruptedWrite) CreatePodIdentityAssociation(ctx context.Context, cluster, namespace, serviceAccount string, s podidentity.Spec) (awsread.Association, error) {
	got, err := w.AWS.CreatePodIdentityAssociation(ctx, cluster, namespace, serviceAccount, s)
	if err = w.answer(ctx, podidentity.ActionCreateAssociation, err); err != nil {
		return awsread.Association{}, err
	}
	return got, nil
}

func (w interruptedWrite) UpdateAssumeRolePolicy(ctx context.Context, roleName, document string) error {
	return w.answer(ctx, podidentity.ActionUpdateAssumeRolePolicy, w.AWS.UpdateAssumeRolePolicy(ctx, roleName, document))
}

func (w interruptedWrite) answer(ctx context.Context, action string, err error) error {
	if err != nil || action != w.action {
		return err
	}
	w.interrupt()
	return ctx.Err()
}
