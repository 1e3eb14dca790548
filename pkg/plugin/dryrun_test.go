package plugin

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
)

// TestReadDryRun: --dry-run is read as kubectl's cmdutil.GetDryRunStrategy reads it, with its
// warnings for the deprecated forms.
func TestReadDryRun(t *testing.T) {
	tests := []struct {
		value       string
		wantMode    dryRun
		wantWarning string
	}{
		{"none", "none", ""},
		{"client", "client", ""},
		{"server", "server", ""},
		{dryRunBare, "client", "Warning: --dry-run is deprecated and can be replaced with --dry-run=client."},
		{"true", "client", "Warning: --dry-run=true is deprecated (boolean value) and can be replaced with --dry-run=client."},
		{"1", "client", "Warning: --dry-run=1 is deprecated (boolean value) and can be replaced with --dry-run=client."},
		{"false", "none", "Warning: --dry-run=false is deprecated (boolean value) and can be replaced with --dry-run=none."},
		{"maybe", "maybe", ""},
		{"Client", "Client", ""},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			mode, warning := readDryRun(tt.value)
			if mode != tt.wantMode || warning != tt.wantWarning {
				t.Fatalf("got %q %q, want %q %q", mode, warning, tt.wantMode, tt.wantWarning)
			}
		})
	}
}

// TestDryRunFlagEverywhere: every command with --dry-run registers it alike: alone it means
// client, and the help says so and that kubectl deprecates that form.
func TestDryRunFlagEverywhere(t *testing.T) {
	root := NewCmdRoot(genericiooptions.NewTestIOStreamsDiscard())
	var with []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if f := c.Flags().Lookup("dry-run"); f != nil {
			with = append(with, c.Name())
			if f.NoOptDefVal != dryRunBare || !strings.HasSuffix(f.Usage, dryRunBareHelp) || f.DefValue != "none" {
				t.Errorf("%s --dry-run: bare value %q, default %q, usage %q", c.Name(), f.NoOptDefVal, f.DefValue, f.Usage)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if got := strings.Join(with, ","); got != "disable,enable,migrate,install,uninstall,verify" {
		t.Fatalf("commands with --dry-run: %s", got)
	}
}

// TestBareDryRun: --dry-run alone is a client dry run in every command, with the same one
// warning on stderr, and nothing written.
func TestBareDryRun(t *testing.T) {
	f := awstest.New()
	withAWS(t, f)
	withProver(t)
	f.Roles["app"] = awstest.TrustOf(awstest.IRSAStatement, awstest.PodIdentityStatement)
	const warning = "Warning: --dry-run is deprecated and can be replaced with --dry-run=client.\n"
	web := kt.Deployment("shop", "web", "app")
	annotated := func() *fake.Clientset {
		return fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", map[string]string{identity.AnnotationRoleARN: awstest.Role}),
			web, kt.Injected(web, "web-1", "", identity.Config{RoleARN: awstest.Role}))
	}
	tests := []struct {
		name    string
		args    []string
		wantOut string
	}{
		{name: "enable", args: []string{"enable", "app", "--role-arn", roleARN, "--overwrite"}, wantOut: "(dry run)"},
		{name: "disable", args: []string{"disable", "app"}, wantOut: "(dry run)"},
		{name: "enable --pod-identity", args: []string{"enable", "app", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster}, wantOut: "aws eks create-pod-identity-association"},
		{name: "migrate", args: []string{"migrate", "app", "--to", "pod-identity", "--eks-cluster", awstest.Cluster}, wantOut: "aws eks create-pod-identity-association"},
	}
	for _, tt := range tests {
		for _, form := range []string{"--dry-run", "--dry-run=true"} {
			t.Run(tt.name+" "+form, func(t *testing.T) {
				r := runWI(t, annotated(), append(tt.args, "-n", "shop", form)...)
				wantCode(t, r, ExitOK)
				want := warning
				if form != "--dry-run" {
					want = "Warning: --dry-run=true is deprecated (boolean value) and can be replaced with --dry-run=client.\n"
				}
				if strings.Count(r.errOut, "Warning: --dry-run") != 1 || !strings.Contains(r.errOut, want) {
					t.Fatalf("stderr lacks the one warning %q:\n%s", want, r.errOut)
				}
				if !strings.Contains(r.out+r.errOut, tt.wantOut) {
					t.Fatalf("output lacks %q:\n%s\n%s", tt.wantOut, r.out, r.errOut)
				}
				if r.calls().Writes() != 0 || f.Writes() != 0 {
					t.Fatalf("a dry run wrote: calls %v, AWS writes %d", r.calls(), f.Writes())
				}
			})
		}
	}
	t.Run("verify --in-pod", func(t *testing.T) {
		c := vfInPodCluster(t, nil)
		o, out, errOut := vfOptions(c, false, "probe-pass.jsonl")
		if err := vfRun(t, o, "deployment/web", "--in-pod", "--dry-run", "--image", "wi.local/kubectl-wi:dev"); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(errOut.String(), warning) || strings.Count(errOut.String(), "Warning: --dry-run") != 1 || !strings.Contains(out.String(), "ephemeralContainers") {
			t.Fatalf("stdout:\n%s\nstderr:\n%s", out, errOut)
		}
		for _, v := range verbs(c) {
			if !strings.HasPrefix(v, "get ") && !strings.HasPrefix(v, "list ") {
				t.Errorf("a dry run did %s", v)
			}
		}
	})
}
