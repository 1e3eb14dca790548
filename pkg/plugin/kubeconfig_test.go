package plugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

func TestEKSClusterOfKubeconfig(t *testing.T) {
	arnCfg := clientcmdapi.Config{CurrentContext: "c", Contexts: map[string]*clientcmdapi.Context{"c": {Cluster: "arn:aws:eks:eu-west-1:111122223333:cluster/prod", AuthInfo: "u"}}}
	if n, r := eksClusterOf(arnCfg); n != "prod" || r != "eu-west-1" {
		t.Fatalf("ARN: %q %q", n, r)
	}
	execCfg := clientcmdapi.Config{CurrentContext: "c",
		Contexts:  map[string]*clientcmdapi.Context{"c": {Cluster: "mine", AuthInfo: "u"}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{"u": {Exec: &clientcmdapi.ExecConfig{Command: "aws", Args: []string{"--region", "us-east-2", "eks", "get-token", "--cluster-name", "dev"}}}}}
	if n, r := eksClusterOf(execCfg); n != "dev" || r != "us-east-2" {
		t.Fatalf("exec: %q %q", n, r)
	}
	if n, _ := eksClusterOf(clientcmdapi.Config{CurrentContext: "c", Contexts: map[string]*clientcmdapi.Context{"c": {Cluster: "kind"}}}); n != "" {
		t.Fatalf("not EKS: %q", n)
	}
}

// TestSelectedContext: the EKS cluster's default follows kubectl's --context, --cluster and
// --user, as the client the command talks to does.
func TestSelectedContext(t *testing.T) {
	raw := clientcmdapi.Config{
		CurrentContext: "eks",
		Contexts: map[string]*clientcmdapi.Context{
			"eks":   {Cluster: "arn:aws:eks:eu-west-1:111122223333:cluster/prod", AuthInfo: "cert"},
			"local": {Cluster: "kind", AuthInfo: "cert"},
			"dev":   {Cluster: "dev-cluster", AuthInfo: "aws"},
		},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{
			"cert": {},
			"aws":  {Exec: &clientcmdapi.ExecConfig{Command: "aws", Args: []string{"eks", "get-token", "--cluster-name", "dev", "--region", "us-east-2"}}},
		},
	}
	tests := []struct {
		name                   string
		context, cluster, user string
		wantName, wantRegion   string
	}{
		{name: "the current context", wantName: "prod", wantRegion: "eu-west-1"},
		{name: "--context of a cluster that is not EKS", context: "local"},
		{name: "--context of an aws eks get-token user", context: "dev", wantName: "dev", wantRegion: "us-east-2"},
		{name: "--cluster replaces the context's cluster", cluster: "kind"},
		{name: "--cluster names an EKS cluster by ARN", context: "local", cluster: "arn:aws:eks:ap-south-1:111122223333:cluster/other", wantName: "other", wantRegion: "ap-south-1"},
		{name: "--user of an aws eks get-token command", context: "local", user: "aws", wantName: "dev", wantRegion: "us-east-2"},
		{name: "a --context that does not exist", context: "nowhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := genericclioptions.NewConfigFlags(false)
			cf.Context, cf.ClusterName, cf.AuthInfoName = ptr.To(tt.context), ptr.To(tt.cluster), ptr.To(tt.user)
			name, region := eksClusterOf(selectedContext(raw, cf))
			if name != tt.wantName || region != tt.wantRegion {
				t.Fatalf("got %q %q, want %q %q", name, region, tt.wantName, tt.wantRegion)
			}
			if raw.CurrentContext != "eks" || raw.Contexts["eks"].Cluster != "arn:aws:eks:eu-west-1:111122223333:cluster/prod" {
				t.Fatal("the kubeconfig read was changed")
			}
		})
	}
}

// writeKubeconfig writes a kubeconfig whose current context is a cluster that is not EKS
// (kubectl-wi-local), with a second cluster entry named by an EKS ARN.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters:
- name: kubectl-wi-local
  cluster: {server: "https://127.0.0.1:1"}
- name: `+awstest.ClusterARN+`
  cluster: {server: "https://127.0.0.1:2"}
contexts:
- name: local
  context: {cluster: kubectl-wi-local, user: u}
- name: eks
  context: {cluster: "`+awstest.ClusterARN+`", user: u}
current-context: local
users:
- name: u
  user: {token: x}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestClusterFlagIsKubectls: --cluster is kubectl's in every command: a name the kubeconfig
// lacks is refused as kubectl refuses it, with a pointer to --eks-cluster in the commands
// that take an EKS cluster's name; a kubeconfig cluster named by ARN gives the EKS cluster.
func TestClusterFlagIsKubectls(t *testing.T) {
	f := piAWS()
	withAWS(t, f)
	kubeconfig := writeKubeconfig(t)
	const notThere = `cluster "prod" does not exist in the kubeconfig: --cluster names a kubeconfig cluster, as in kubectl`
	const hint = "to name the EKS cluster, pass --eks-cluster prod"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
		wantHint bool
	}{
		{name: "status", args: []string{"status", "--cluster", "prod"}, wantCode: ExitUsage, want: notThere, wantHint: true},
		{name: "verify", args: []string{"verify", "app", "--cluster", "prod"}, wantCode: ExitUsage, want: notThere, wantHint: true},
		{name: "explain", args: []string{"explain", "app", "--cluster", "prod"}, wantCode: ExitUsage, want: notThere, wantHint: true},
		{name: "enable --pod-identity", args: []string{"enable", "app", "--pod-identity", "--role-arn", piRole, "--cluster", "prod"}, wantCode: ExitUsage, want: notThere, wantHint: true},
		{name: "disable --pod-identity", args: []string{"disable", "app", "--pod-identity", "--cluster", "prod"}, wantCode: ExitUsage, want: notThere, wantHint: true},
		{name: "migrate", args: []string{"migrate", "--to", "pod-identity", "--cluster", "prod"}, wantCode: ExitUsage, want: notThere, wantHint: true},
		{name: "a kubeconfig cluster", args: []string{"status", "--cluster", "kubectl-wi-local"}, wantCode: ExitOK},
		{name: "the EKS cluster's name is --eks-cluster", args: []string{"enable", "app", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster, "--dry-run=client"},
			wantCode: ExitOK, want: "aws eks create-pod-identity-association --cluster-name prod"},
		{name: "--eks-cluster's default follows --cluster", args: []string{"enable", "app", "--pod-identity", "--role-arn", piRole, "--cluster", awstest.ClusterARN, "--dry-run=client"},
			wantCode: ExitOK, want: "aws eks create-pod-identity-association --cluster-name prod"},
		{name: "--eks-cluster's default follows --context", args: []string{"enable", "app", "--pod-identity", "--role-arn", piRole, "--context", "eks", "--dry-run=client"},
			wantCode: ExitOK, want: "aws eks create-pod-identity-association --cluster-name prod"},
		{name: "the current context is not EKS", args: []string{"enable", "app", "--pod-identity", "--role-arn", piRole},
			wantCode: ExitUsage, want: "the kubeconfig's context names no EKS cluster: pass --eks-cluster NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil))
			r := runWI(t, client, append(tt.args, "-n", "shop", "--kubeconfig", kubeconfig)...)
			if r.code != tt.wantCode || !strings.Contains(r.out+r.errOut, tt.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s\n%s", r.code, tt.wantCode, tt.want, r.out, r.errOut)
			}
			if got := strings.Contains(r.errOut, hint); got != tt.wantHint {
				t.Fatalf("the --eks-cluster hint given: %v, want %v:\n%s", got, tt.wantHint, r.errOut)
			}
			if f.Writes() != 0 {
				t.Fatalf("%d AWS writes", f.Writes())
			}
		})
	}
}

// TestEKSClusterFlag: every command that takes an EKS cluster's name takes it as --eks-cluster,
// saying where its default comes from, and none shadows kubectl's --cluster.
func TestEKSClusterFlag(t *testing.T) {
	root := NewCmdRoot(genericiooptions.NewTestIOStreamsDiscard())
	var withEKS []string
	for _, c := range root.Commands() {
		if c.Flags().Lookup("cluster") != nil {
			t.Errorf("%s has its own --cluster, hiding kubectl's", c.Name())
		}
		if f := c.Flags().Lookup("eks-cluster"); f != nil {
			withEKS = append(withEKS, c.Name())
			if !strings.Contains(f.Usage, "default: the EKS cluster of the kubeconfig's context") {
				t.Errorf("%s --eks-cluster does not say where its default comes from: %q", c.Name(), f.Usage)
			}
		}
	}
	if got := strings.Join(withEKS, ","); got != "disable,enable,explain,migrate,status,verify" {
		t.Fatalf("commands with --eks-cluster: %s", got)
	}
}

// TestClusterCompletion: --cluster completes the kubeconfig's clusters, as kubectl does, and
// --eks-cluster the EKS clusters its contexts name.
func TestClusterCompletion(t *testing.T) {
	t.Setenv("KUBECONFIG", writeKubeconfig(t))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"status", "--cluster", ""}, awstest.ClusterARN + "|kubectl-wi-local|:4"},
		{[]string{"explain", "--eks-cluster", ""}, "prod|:4"},
		{[]string{"enable", "--eks-cluster", ""}, "prod|:4"},
		{[]string{"migrate", "--eks-cluster", ""}, "prod|:4"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			streams, _, out, _ := genericiooptions.NewTestIOStreams()
			if code := run(context.Background(), streams, append([]string{"__complete"}, tt.args...), defaultDeps()); code != 0 {
				t.Fatalf("exit %d", code)
			}
			if got := strings.Join(strings.Split(strings.TrimSpace(out.String()), "\n"), "|"); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEKSClusterAndRegion: the flags win; the kubeconfig's cluster ARN fills the cluster, and
// the region unless the environment names one (then the SDK takes it).
func TestEKSClusterAndRegion(t *testing.T) {
	tests := []struct {
		name                    string
		flagCluster, flagRegion string
		regionSet               bool
		wantCluster, wantRegion string
		wantFrom                string
	}{
		{name: "from the kubeconfig", wantCluster: "prod", wantRegion: "us-west-2", wantFrom: "the kubeconfig"},
		{name: "--region wins over the ARN", flagRegion: "eu-west-1", wantCluster: "prod", wantRegion: "eu-west-1", wantFrom: "the kubeconfig"},
		{name: "AWS_REGION wins over the ARN", regionSet: true, wantCluster: "prod", wantFrom: "the kubeconfig"},
		{name: "--eks-cluster", flagCluster: "dev", wantCluster: "dev", wantFrom: "--eks-cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := deps{kubeconfig: kubeconfigOf(eksKubeconfig), env: environment{regionSet: tt.regionSet}}
			cluster, region, from := eksClusterAndRegion(d, genericclioptions.NewConfigFlags(false), tt.flagCluster, tt.flagRegion)
			if cluster != tt.wantCluster || region != tt.wantRegion || from != tt.wantFrom {
				t.Errorf("got %q, %q, %q; want %q, %q, %q", cluster, region, from, tt.wantCluster, tt.wantRegion, tt.wantFrom)
			}
		})
	}
}
