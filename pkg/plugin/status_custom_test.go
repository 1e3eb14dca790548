package plugin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/annotate"
)

func runStatusCR(t *testing.T, c *cluster, args ...string) tpResult {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	c.dyn.ClearActions()
	return runSubcommand(t, func(cf *genericclioptions.ConfigFlags, s genericiooptions.IOStreams) *cobra.Command {
		d := fakeDeps(c.client)
		d.newCustom = func(*genericclioptions.ConfigFlags) (*annotate.CustomClients, error) {
			return &annotate.CustomClients{Discovery: c.client.Discovery(), Dynamic: c.dyn}, nil
		}
		return newCmdStatus(newStatusOptions(cf, s, d))
	}, append([]string{"status"}, args...)...)
}

// TestStatusCustomResources: status lists the custom resources that carry a role, one LIST
// per installed kind; cluster-scoped ones with -A only.
func TestStatusCustomResources(t *testing.T) {
	px := storageCluster(t)
	withRole := storageCluster(t)
	withRole.SetName("px-west")
	_ = setCredentials(withRole, []any{map[string]any{"cloudProvider": "aws", "key": "eks.amazonaws.com/role-arn", "value": roleARN}})
	drc := deploymentRuntimeConfig(t)
	_ = setAnnotation(drc, "eks.amazonaws.com/role-arn", roleARN)
	c := newCluster(t, allCRDs, px, withRole, drc)

	res := runStatusCR(t, c, "-n", "portworx")
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.errOut)
	}
	want := "CUSTOM RESOURCES WITH A ROLE (their operators restart their own pods)\n" +
		"TARGET                                           PRODUCT    ROLE\n" +
		"storagecluster.core.libopenstorage.org/px-west   Portworx   " + roleARN + "\n"
	if res.out != want {
		t.Fatalf("stdout = %q\nwant     %q", res.out, want)
	}
	lists := 0
	for _, a := range c.dyn.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("status made a %s call", a.GetVerb())
		}
		if la, ok := a.(clienttesting.ListActionImpl); ok && la.GetNamespace() != "portworx" {
			t.Errorf("listed %s in namespace %q", la.GetResource().Resource, la.GetNamespace())
		}
		lists++
	}
	if lists != 1 {
		t.Errorf("%d LISTs of custom resources, want 1 (the DeploymentRuntimeConfigs are cluster-scoped)", lists)
	}

	res = runStatusCR(t, c, "-A", "-o", "json")
	var doc struct {
		CustomResources []customStatus `json:"customResources"`
		ServiceAccounts []any          `json:"serviceAccounts"`
	}
	if err := json.Unmarshal([]byte(res.out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, res.out)
	}
	wantDoc := []customStatus{
		{Kind: "deploymentruntimeconfig.pkg.crossplane.io", Name: "aws", Product: "Crossplane", RoleARN: roleARN},
		{Namespace: "portworx", Kind: "storagecluster.core.libopenstorage.org", Name: "px-west", Product: "Portworx", RoleARN: roleARN},
	}
	if len(doc.CustomResources) != 2 || doc.CustomResources[0] != wantDoc[0] || doc.CustomResources[1] != wantDoc[1] || doc.ServiceAccounts == nil {
		t.Fatalf("document = %s", res.out)
	}

	// Nothing installed: no section, no LIST.
	c = newCluster(t, nil)
	res = runStatusCR(t, c, "-A")
	if strings.Contains(res.out, "CUSTOM RESOURCES") || len(c.dyn.Actions()) != 0 {
		t.Fatalf("stdout = %q, calls %v", res.out, c.dyn.Actions())
	}
	res = runStatusCR(t, c, "-A", "-o", "json")
	if strings.Contains(res.out, "customResources") {
		t.Fatalf("an empty list is left out of the document: %s", res.out)
	}
}
