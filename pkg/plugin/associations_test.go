package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// withAssociationReads makes d read f's associations with credentials, or find none (creds
// false).
func withAssociationReads(d *deps, f *awstest.AWS, creds bool) {
	d.loadAWS = func(context.Context, awsconfig.Options) (aws.Config, error) {
		cfg := aws.Config{Region: "us-west-2"}
		if creds {
			cfg.Credentials = awscreds.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")
		}
		return cfg, nil
	}
	d.associationReader = func(aws.Config) podidentity.AssociationReader { return f }
}

// eksKubeconfig is a kubeconfig whose context names the EKS cluster by ARN, as aws eks
// update-kubeconfig writes it.
func eksKubeconfig() (clientcmdapi.Config, error) {
	return clientcmdapi.Config{CurrentContext: "c", Contexts: map[string]*clientcmdapi.Context{"c": {Cluster: awstest.ClusterARN}}}, nil
}

func TestStatusAssociations(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		creds       bool
		deny        []string
		kubeconfig  func() (clientcmdapi.Config, error)
		wantRead    bool
		wantRow     string // the table line of the associated account, "" for none
		wantErrOut  string
		wantFinding string
	}{
		{name: "read: the cluster from the kubeconfig", creds: true, kubeconfig: eksKubeconfig, wantRead: true,
			wantRow: "pi               PodIdentity   " + awstest.Role, wantFinding: "pod-identity-no-pods"},
		{name: "read: --eks-cluster", args: []string{"--eks-cluster", awstest.Cluster}, creds: true, wantRead: true,
			wantRow: "pi               PodIdentity   " + awstest.Role, wantFinding: "pod-identity-no-pods"},
		{name: "no EKS cluster known", creds: true,
			wantErrOut: "note: EKS Pod Identity associations were not read (no EKS cluster known (the kubeconfig's context names none): pass --eks-cluster NAME"},
		{name: "no credentials", kubeconfig: eksKubeconfig,
			wantErrOut: "note: EKS Pod Identity associations were not read (no AWS credentials at hand to read those of the EKS cluster prod"},
		{name: "denied", creds: true, kubeconfig: eksKubeconfig, deny: []string{awsread.ActionListPodIdentityAssociations},
			wantErrOut: "note: EKS Pod Identity associations were not read (your AWS credentials may not call eks:ListPodIdentityAssociations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := awstest.New()
			f.Deny = tt.deny
			f.Assocs["a-1"] = &awsread.Association{ID: "a-1", Namespace: "team", ServiceAccount: "pi", RoleARN: awstest.Role}
			client := fake.NewClientset(kt.Namespace("team"), kt.ServiceAccount("team", "pi", nil))
			run := func(args ...string) tpResult {
				return runSubcommand(t, func(cf *genericclioptions.ConfigFlags, s genericiooptions.IOStreams) *cobra.Command {
					d := fakeDeps(client)
					withAssociationReads(&d, f, tt.creds)
					if tt.kubeconfig != nil {
						d.kubeconfig = kubeconfigOf(tt.kubeconfig)
					}
					return newCmdStatus(newStatusOptions(cf, s, d))
				}, append([]string{"status", "-n", "team"}, args...)...)
			}
			res := run(tt.args...)
			if res.code != ExitOK {
				t.Fatalf("exit %d; stderr:\n%s", res.code, res.errOut)
			}
			if tt.wantRow != "" && !strings.Contains(res.out, tt.wantRow) {
				t.Errorf("the table lacks %q:\n%s", tt.wantRow, res.out)
			}
			if tt.wantRow == "" && strings.Contains(res.out, "pi ") {
				t.Errorf("the account is listed although its association was not read:\n%s", res.out)
			}
			if !strings.Contains(res.errOut, tt.wantErrOut) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErrOut, res.errOut)
			}
			if tt.wantRead && strings.Contains(res.errOut, "not read") {
				t.Errorf("read, yet stderr says not read:\n%s", res.errOut)
			}
			if strings.Contains(res.out+res.errOut, "secret") {
				t.Errorf("the output holds the secret key")
			}
			res = run(append(tt.args, "-o", "json")...)
			var doc struct {
				Findings []struct{ Check string } `json:"findings"`
				Read     struct {
					Read  bool
					Count int
				} `json:"podIdentityAssociations"`
			}
			if err := json.Unmarshal([]byte(res.out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Read.Read != tt.wantRead || (tt.wantRead && doc.Read.Count != 1) {
				t.Errorf("podIdentityAssociations %+v, want read %t", doc.Read, tt.wantRead)
			}
			found := false
			for _, f := range doc.Findings {
				found = found || f.Check == tt.wantFinding
			}
			if tt.wantFinding != "" && !found {
				t.Errorf("no %s finding: %+v", tt.wantFinding, doc.Findings)
			}
		})
	}
}

// A fleet run proves the accounts of the associations it read, whatever their pods carry, and
// each run knows its account's association; not read, it says so and proves what pods show.
func TestVerifyFleetAssociations(t *testing.T) {
	tests := []struct {
		name         string
		creds        bool
		wantAccounts string
		wantLookup   verify.AssociationLookup
		wantErrOut   string
	}{
		{name: "read", creds: true, wantAccounts: "[shop/irsa shop/pi]",
			wantLookup: verify.AssociationLookup{Read: true, Cluster: awstest.Cluster, ID: "a-1", RoleARN: awstest.Role}},
		{name: "not read", wantAccounts: "[shop/irsa]",
			wantLookup: verify.AssociationLookup{Cluster: awstest.Cluster, NotRead: "no AWS credentials at hand to read those of the EKS cluster prod: set AWS_PROFILE, log in (aws sso login) or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with eks:ListPodIdentityAssociations and eks:DescribePodIdentityAssociation"},
			wantErrOut: "note: EKS Pod Identity associations were not read (no AWS credentials at hand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := awstest.New()
			f.Assocs["a-1"] = &awsread.Association{ID: "a-1", Namespace: "shop", ServiceAccount: "pi", RoleARN: awstest.Role}
			client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "pi", nil),
				kt.ServiceAccount("shop", "irsa", map[string]string{"eks.amazonaws.com/role-arn": awstest.OtherRole}))
			o, _, errOut := vfOptions(client, false, "probe-pass.jsonl", func(d *deps) {
				withAssociationReads(d, f, tt.creds)
				d.kubeconfig = kubeconfigOf(eksKubeconfig)
			})
			o.namespace = "shop"
			if err := o.connect(); err != nil {
				t.Fatal(err)
			}
			accounts, _, err := o.fleetAccounts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(accounts); got != tt.wantAccounts {
				t.Errorf("accounts %s, want %s", got, tt.wantAccounts)
			}
			if got := o.engine.Association(context.Background(), "shop", "pi"); got != tt.wantLookup {
				t.Errorf("lookup %+v, want %+v", got, tt.wantLookup)
			}
			if !strings.Contains(errOut.String(), tt.wantErrOut) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErrOut, errOut)
			}
			if calls := f.Calls[awsread.ActionListPodIdentityAssociations]; tt.creds && calls != 1 {
				t.Errorf("%d ListPodIdentityAssociations calls, want 1 for the whole fleet", calls)
			}
		})
	}
}

// The associations are read without the instance metadata service: a run without credentials
// on a machine that has none must not wait a second for it on every status.
func TestReadAssociationsWithoutIMDS(t *testing.T) {
	var asked []awsconfig.Options
	d := deps{
		loadAWS: func(_ context.Context, o awsconfig.Options) (aws.Config, error) {
			asked = append(asked, o)
			return aws.Config{Region: "us-west-2"}, nil
		},
		associationReader: func(aws.Config) podidentity.AssociationReader { return awstest.New() },
	}
	got := readAssociations(context.Background(), d, awstest.Cluster, nil, "shop", "")
	if len(asked) != 1 || !asked[0].NoIMDS {
		t.Fatalf("AWS configuration loaded with %+v, want once with NoIMDS", asked)
	}
	if got.Read || !strings.Contains(got.NotRead, "no AWS credentials at hand") {
		t.Fatalf("without credentials: %+v", got)
	}
}
