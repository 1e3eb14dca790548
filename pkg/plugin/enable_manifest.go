package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-wi/kubectl-wi/pkg/mk8s"
)

// manifestFlags are the enable flags that say something about service accounts or the
// cluster, which an mk8s manifest edit has no use for.
var manifestFlags = []string{"role-arn", "audience", "token-expiration", "sts-regional-endpoints", "create", "overwrite", "reset",
	"restart", "wait", "timeout", "selector", "all-namespaces", "targets"}

// manifestFile is the --manifest file as Complete read it.
type manifestFile struct {
	data []byte
	mode os.FileMode
	err  error // why it could not be read, for Validate to say
}

// complete notes the flags given with --manifest and reads the file; it is edited without a
// cluster, so nothing is read from the kubeconfig.
func (m *manifestMode) complete(cmd *cobra.Command, args []string) {
	m.args = args
	m.dryRun = parseDryRun(m.ErrOut, m.DryRun)
	for _, name := range manifestFlags {
		if cmd.Flags().Changed(name) {
			m.conflicts = append(m.conflicts, "--"+name)
		}
	}
	info, err := os.Stat(m.Manifest)
	if err == nil {
		m.file.mode = info.Mode().Perm()
		m.file.data, err = os.ReadFile(m.Manifest)
	}
	m.file.err = err
}

func (m *manifestMode) validate() error {
	o := m.EnableOptions
	if len(o.args) > 0 {
		return FlagErrorf("--manifest edits a file and takes no TARGET, got %q", o.args)
	}
	if len(m.conflicts) > 0 {
		return FlagErrorf("%s cannot be combined with --manifest: the awsWorkloadIdentity add-on of a Control Plane cluster takes no role; once the cluster runs it, give service accounts their roles with kubectl wi enable TARGET --role-arn ARN",
			strings.Join(m.conflicts, ", "))
	}
	if err := checkDryRun(o.dryRun, dryRunNone, dryRunClient, dryRunServer); err != nil {
		return err
	}
	if o.dryRun == dryRunServer {
		return FlagErrorf("--dry-run=server needs a server, and --manifest edits a file: use --dry-run=client to print the edited manifest")
	}
	switch o.Output {
	case "", "yaml":
	default:
		return OutputError(o.Output, "yaml (with --manifest: the edited manifest on stdout, the file left as it is)")
	}
	if m.file.err != nil {
		return InputErrorf("cannot read --manifest %s: %v", o.Manifest, errors.Unwrap(m.file.err))
	}
	return nil
}

// run turns on spec.addOns.awsWorkloadIdentity in the manifest and writes it back, or prints it
// for -o yaml and --dry-run=client.
func (m *manifestMode) run(context.Context) error {
	o := m.EnableOptions
	res, err := mk8s.EnableAWSWorkloadIdentity(m.file.data)
	if err != nil {
		return InputErrorf("--manifest %s: %w", o.Manifest, err)
	}
	toStdout := o.Output == "yaml" || o.dryRun == dryRunClient
	summary := o.Out
	if toStdout {
		summary = o.ErrOut
		if _, err := o.Out.Write(res.Out); err != nil {
			return err
		}
	} else if len(res.Changed) > 0 {
		if err := os.WriteFile(o.Manifest, res.Out, m.file.mode); err != nil {
			return fmt.Errorf("failed to write --manifest %s: %w", o.Manifest, err)
		}
	}

	suffix := ""
	switch {
	case o.dryRun == dryRunClient:
		suffix = " (dry run)"
	case toStdout:
		suffix = " (on stdout; " + o.Manifest + " not written)"
	}
	for _, name := range res.Changed {
		fmt.Fprintf(summary, "mk8s/%s configured (spec.addOns.%s)%s\n", name, mk8s.AddOn, suffix)
	}
	for _, name := range res.Unchanged {
		fmt.Fprintf(summary, "mk8s/%s unchanged: spec.addOns.%s is on already\n", name, mk8s.AddOn)
	}
	switch {
	case len(res.Changed) == 0:
		fmt.Fprintf(summary, "Nothing to write. If the cluster does not run the add-on yet: cpln apply --file %s\n", o.Manifest)
		return nil
	case o.dryRun == dryRunClient:
		fmt.Fprintf(summary, "Next: run again without --dry-run to write %s, then apply it: cpln apply --file %s\n", o.Manifest, o.Manifest)
	case toStdout:
		fmt.Fprintln(summary, "Next: save the manifest and apply it: cpln apply --file FILE")
	default:
		fmt.Fprintf(summary, "Next: apply it with the Control Plane CLI: cpln apply --file %s\n", o.Manifest)
	}
	fmt.Fprintln(summary, "Then, once the cluster runs the add-on, give service accounts their roles: kubectl wi enable SERVICEACCOUNT -n NAMESPACE --role-arn ARN")
	return nil
}
