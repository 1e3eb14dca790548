package awstest

import (
	"context"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// Interrupting is AWS that makes the write Action, then calls Interrupt (the user's Ctrl-C)
// before the answer comes back: a write whose context is done by then answers with the
// context's error, as the SDK does when its request is cancelled in flight, although AWS made
// it. Its other calls are AWS's.
type Interrupting struct {
	*AWS
	Action    string
	Interrupt context.CancelFunc
}

// CreatePodIdentityAssociation implements podidentity.AWS.
func (w Interrupting) CreatePodIdentityAssociation(ctx context.Context, cluster, namespace, serviceAccount string, s podidentity.Spec) (awsread.Association, error) {
	got, err := w.AWS.CreatePodIdentityAssociation(ctx, cluster, namespace, serviceAccount, s)
	if err = w.answer(ctx, podidentity.ActionCreateAssociation, err); err != nil {
		return awsread.Association{}, err
	}
	return got, nil
}

// UpdateAssumeRolePolicy implements podidentity.AWS.
func (w Interrupting) UpdateAssumeRolePolicy(ctx context.Context, roleName, document string) error {
	return w.answer(ctx, podidentity.ActionUpdateAssumeRolePolicy, w.AWS.UpdateAssumeRolePolicy(ctx, roleName, document))
}

func (w Interrupting) answer(ctx context.Context, action string, err error) error {
	if err != nil || action != w.Action {
		return err
	}
	w.Interrupt()
	return ctx.Err()
}
