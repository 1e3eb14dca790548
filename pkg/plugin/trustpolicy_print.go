package plugin

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/shell"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
)

// printText prints the policy, then the commands that use it.
func (o *TrustPolicyOptions) printText(w io.Writer, plan *trustPolicyPlan) error {
	doc, err := plan.policy.JSON()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	who := "system:serviceaccount:" + o.namespace + ":" + o.name
	switch {
	case o.PodIdentity:
		fmt.Fprintf(&b, "# EKS Pod Identity trust policy\n")
	case o.NamespaceWide:
		fmt.Fprintf(&b, "# Trust policy for every service account of namespace %s (system:serviceaccount:%s:*)\n", o.namespace, o.namespace)
	default:
		fmt.Fprintf(&b, "# Trust policy for %s\n", who)
	}
	fmt.Fprintf(&b, "# Save it with: %s\n", o.jsonCommandLine())
	b.Write(doc)

	roleArgs := "--role-name " + shell.Quote(plan.roleName)
	roleARN := fmt.Sprintf("arn:%s:iam::%s:role%s%s", plan.partition, plan.account, plan.rolePath, plan.roleName)
	step := 0
	next := func(title string) {
		step++
		fmt.Fprintf(&b, "\n# %d. %s\n", step, title)
	}
	if !o.PodIdentity {
		next("Register the cluster's issuer as an IAM OIDC provider (once per cluster and account):")
		fmt.Fprintf(&b, "aws iam create-open-id-connect-provider --url %s --client-id-list %s\n", shell.Quote(plan.issuer), shell.Quote(plan.audience))
		hp, _ := trustpolicy.ProviderHostPath(plan.issuer)
		fmt.Fprintf(&b, "#    If it exists already, add the audience to it instead:\n")
		fmt.Fprintf(&b, "aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn %s --client-id %s\n",
			shell.Quote(trustpolicy.ProviderARN(plan.partition, plan.account, hp)), shell.Quote(plan.audience))
	}
	next("Create the role with this trust policy:")
	pathArg := ""
	if plan.rolePath != "/" {
		pathArg = " --path " + shell.Quote(plan.rolePath)
	}
	fmt.Fprintf(&b, "aws iam create-role %s%s --assume-role-policy-document file://trust-policy.json\n", roleArgs, pathArg)
	fmt.Fprintf(&b, "#    If it exists already, replace its trust policy instead:\n")
	fmt.Fprintf(&b, "aws iam update-assume-role-policy %s --policy-document file://trust-policy.json\n", roleArgs)

	sa := o.name
	if sa == "" {
		sa = tpPlaceholderSA
	}
	if o.PodIdentity {
		next("Associate the role with the service account (Pod Identity needs no annotation):")
		fmt.Fprintf(&b, "aws eks create-pod-identity-association --cluster-name %s --namespace %s --service-account %s --role-arn %s\n",
			tpPlaceholderClusterName, shell.Quote(o.namespace), shell.Quote(sa), shell.Quote(roleARN))
	} else {
		if o.NamespaceWide {
			next("Annotate each service account of the namespace that should use the role:")
		} else {
			next("Annotate the service account with the role:")
		}
		audArg := ""
		if plan.audience != identity.DefaultAudience {
			audArg = " --audience " + shell.Quote(plan.audience)
		}
		fmt.Fprintf(&b, "kubectl wi enable serviceaccount/%s -n %s --role-arn %s%s\n", sa, shell.Quote(o.namespace), shell.Quote(roleARN), audArg)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// jsonCommandLine is the command that writes this policy to trust-policy.json.
func (o *TrustPolicyOptions) jsonCommandLine() string {
	args := []string{"kubectl wi trust-policy"}
	if o.name != "" {
		args = append(args, "serviceaccount/"+o.name)
	}
	args = append(args, "-n", shell.Quote(o.namespace))
	if o.NamespaceWide {
		args = append(args, "--namespace-wide")
	}
	if o.PodIdentity {
		args = append(args, "--pod-identity")
	}
	for _, f := range []struct{ flag, value string }{
		{"--account-id", o.AccountID}, {"--partition", o.Partition}, {"--issuer", o.Issuer}, {"--audience", o.Audience},
	} {
		if f.value != "" {
			args = append(args, f.flag, shell.Quote(f.value))
		}
	}
	return strings.Join(append(args, "-o json > trust-policy.json"), " ")
}
