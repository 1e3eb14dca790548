package explain

import (
	"context"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-wi/kubectl-wi/pkg/apicall"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
)

// Refusal is verify's Deps.Explain: when the user has AWS credentials at hand (from the
// environment or the shared files: the instance metadata service is not asked), explain reads
// the refused account's role and provider, or with eksCluster its association's role and
// target role, and its IAM findings join verify's. The credentials are looked for at each
// refusal, so a run without any refusal never loads them.
func Refusal(client kubernetes.Interface, discovery apicall.DiscoveryFunc) func(context.Context, string, string, string) []check.Event {
	return func(ctx context.Context, ns, sa, eksCluster string) []check.Event {
		cfg, err := awsconfig.Load(ctx, awsconfig.Options{NoIMDS: true})
		if err != nil || !awsconfig.CredentialsAtHand(ctx, cfg) {
			return nil
		}
		return RefusalWith(client, discovery, awsread.NewSDK(cfg))(ctx, ns, sa, eksCluster)
	}
}

// RefusalWith is Refusal with reads the caller already holds (the monitor's own
// credentials): the same IAM findings, with no AWS configuration loaded.
func RefusalWith(client kubernetes.Interface, discovery apicall.DiscoveryFunc, reads awsread.Reader) func(context.Context, string, string, string) []check.Event {
	return func(ctx context.Context, ns, sa, eksCluster string) []check.Event {
		rec := &iamFindings{}
		_, err := Run(ctx, Config{Namespace: ns, Target: &checktarget.Target{Kind: checktarget.KindServiceAccount, Name: sa}, Cluster: eksCluster},
			Deps{Client: client, Discovery: discovery, AWS: reads}, rec)
		if err != nil {
			return []check.Event{{Type: check.TypeInfo, Check: CheckTrust, Message: "the refusal could not be explained from IAM: " + err.Error()}}
		}
		return rec.events
	}
}

// iamFindings keeps explain's IAM checks: what verify adds to an STS refusal.
type iamFindings struct{ events []check.Event }

func (f *iamFindings) Step(report.Step) {}
func (f *iamFindings) Raw(string)       {}
func (f *iamFindings) Event(ev check.Event) {
	if ev.Type == check.TypeCheck && strings.HasPrefix(ev.Check, "iam.") {
		f.events = append(f.events, ev)
	}
}
