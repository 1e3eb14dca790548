package plugin

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/explain"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/tui"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

func (o *ExplainOptions) config() explain.Config {
	return explain.Config{Namespace: o.namespace, Target: o.target, Selector: o.Selector, Cluster: o.Cluster, Issuer: o.Issuer, Exchange: o.Exchange}
}

// Run explains, rendering as asked. Failed checks give a *ChecksFailedError.
func (o *ExplainOptions) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	client, err := o.deps.newClient(o.configFlags)
	if err != nil {
		return err
	}
	discovery := o.deps.discovery(client)
	awsCfg, err := o.deps.loadAWS(ctx, awsconfig.Options{Profile: o.Profile, Region: o.Region})
	if err != nil {
		var pe *awsconfig.ProfileError
		if errors.As(err, &pe) {
			return &InputError{Err: err}
		}
		return err
	}
	if awsCfg.Region == "" && o.Issuer != "" {
		awsCfg.Region = identity.EKSIssuerRegion(o.Issuer)
	}
	if o.Cluster != "" && awsCfg.Region == "" {
		return FlagErrorf("the EKS cluster %s (from %s) needs a region: pass --region or set AWS_REGION", o.Cluster, o.clusterFrom)
	}
	reads, sts := o.deps.explainClients(awsCfg)
	deps := explain.Deps{Client: client, Discovery: discovery, AWS: reads, STS: sts, Now: o.deps.now}
	if o.Exchange && !awsconfig.CredentialsAtHand(ctx, awsCfg) {
		deps.AWS = nil // the exchange needs none; a refusal is then not explained from IAM
		fmt.Fprintln(o.ErrOut, "note: no AWS credentials at hand: a refused exchange is not explained from IAM (give AWS credentials to have it explained)")
	}
	var (
		out    explain.Outcome
		runErr error
	)
	work := func(ctx context.Context, rep report.Reporter) error {
		out, runErr = explain.Run(ctx, o.config(), deps, rep)
		return runErr
	}
	opts := tui.Options{Title: o.title(), Steps: explainSteps(o.Exchange), Cancelling: "cancelling…"}
	if err := renderRun(ctx, o.IOStreams, o.Output, o.deps.now, opts, work); err != nil && runErr == nil {
		return err
	}
	switch {
	case runErr != nil:
		return o.wordError(runErr)
	case out.Failed > 0:
		return &ChecksFailedError{Failed: out.Failed}
	case o.target == nil && out.Accounts == 0:
		judged := "with an " + identity.AnnotationRoleARN + " annotation or an EKS Pod Identity association"
		if out.AssociationsNotRead != "" {
			judged += "; Pod Identity associations " + out.AssociationsNotRead
		}
		return emptySelection(o.ErrOut, o.AllowEmpty, "explain", "service accounts", selectionWhere(o.namespace, o.Selector), judged)
	}
	return nil
}

// wordError turns a missing target into exit 2, as verify does; the rest stays (exit 3).
func (o *ExplainOptions) wordError(err error) error {
	var call *apicall.Error
	if errors.As(err, &call) && call.Verb == "get" && apierrors.IsNotFound(err) && o.target != nil {
		return InputErrorf("%s %q not found in namespace %q", o.target.Kind, o.target.Name, o.namespace)
	}
	return err
}

func (o *ExplainOptions) title() string {
	t := "kubectl wi explain"
	if o.target != nil {
		t += " " + o.target.String()
	}
	if o.namespace == "" {
		t += " -A"
	} else {
		t += " -n " + o.namespace
	}
	if o.Exchange {
		t += " --exchange"
	}
	return t
}

func explainSteps(exchange bool) []tui.StepTitle {
	accounts := "Each service account: role, OIDC provider, trust policy"
	if exchange {
		accounts = "Each service account: token, STS exchange, caller"
	}
	return []tui.StepTitle{
		{ID: explain.StepCluster, Title: "The cluster: issuer, EKS"},
		{ID: explain.StepFind, Title: "Service accounts with an identity"},
		{ID: explain.StepAccounts, Title: accounts},
	}
}
