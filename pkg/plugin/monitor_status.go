package plugin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/monitor"
	"github.com/kubectl-wi/kubectl-wi/pkg/monitorinstall"
)

// MonitorStatusOptions holds everything `kubectl wi monitor status` needs.
type MonitorStatusOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Output string

	namespace string
	now       func() time.Time
	deps      deps
}

func newMonitorStatusOptions(cf *genericclioptions.ConfigFlags, streams genericiooptions.IOStreams, d deps) *MonitorStatusOptions {
	return &MonitorStatusOptions{configFlags: cf, IOStreams: streams, now: d.now, deps: d}
}

func newCmdMonitorStatus(o *MonitorStatusOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the monitor's last results, with the age of each",
		Long: `Show the monitor's last proof of each identity account, read through the apiserver from
the status ConfigMap the monitor writes once per round (kubectl-wi-monitor-status): verified or
not, the checks that failed with their fixes, stale pods, and how long ago each was proven.

` + exitCodesNoChecksHelp,
		Example: `  # The last results, as a table
  kubectl wi monitor status

  # As JSON, each account with its age in seconds
  kubectl wi monitor status -o json`,
		Args: cobra.NoArgs,
		RunE: completeValidateRun(o, nil),
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "Output format. One of: json|yaml|jsonpath=TEMPLATE (default: a table)")
	completeValues(cmd, "output", "json", "yaml", "jsonpath=")
	return cmd
}

// Complete reads -n.
func (o *MonitorStatusOptions) Complete(cmd *cobra.Command, _ []string) error {
	o.namespace = monitorNamespace(cmd, o.configFlags)
	return nil
}

// Validate checks -o.
func (o *MonitorStatusOptions) Validate() error { return checkOutput(o.Output, "", "json", "yaml") }

// monitorStatusDocument is -o json|yaml: the status object with each result's age.
type monitorStatusDocument struct {
	monitor.Status
	AgeSeconds int64                    `json:"ageSeconds"`
	Accounts   []monitorAccountDocument `json:"accounts"`
}

type monitorAccountDocument struct {
	monitor.AccountStatus
	AgeSeconds int64 `json:"ageSeconds"`
}

// Run reads the status object and prints it.
func (o *MonitorStatusOptions) Run(ctx context.Context) error {
	d, err := monitorClients(o.configFlags, o.deps)
	if err != nil {
		return err
	}
	s, err := monitorinstall.ReadStatus(ctx, d, o.namespace)
	if none := new(*monitorinstall.ErrNoStatus); errors.As(err, none) {
		return &InputError{Err: err}
	}
	if err != nil {
		return err
	}
	now := o.now()
	age := func(t time.Time) int64 { return int64(now.Sub(t).Seconds()) }
	if o.Output != "" {
		doc := monitorStatusDocument{Status: *s, AgeSeconds: age(s.Updated), Accounts: []monitorAccountDocument{}}
		for _, a := range s.Accounts {
			doc.Accounts = append(doc.Accounts, monitorAccountDocument{AccountStatus: a, AgeSeconds: age(a.LastRun)})
		}
		return printDocument(o.Out, o.Output, doc)
	}
	return o.printTable(s, now)
}

func (o *MonitorStatusOptions) printTable(s *monitor.Status, now time.Time) error {
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return duration.HumanDuration(now.Sub(t))
	}
	upDown := func(ok bool, yes, no string) string {
		if ok {
			return yes
		}
		return no
	}
	fmt.Fprintf(o.Out, "Monitor: last round %s ago by %s; webhook %s; Pod Identity agent %s; AWS reads %s\n\n",
		ago(s.Updated), s.Leader, upDown(s.WebhookUp, "up", "DOWN"), upDown(s.AgentReady, "ready", "not ready"), s.AWSReads)
	if len(s.Accounts) == 0 {
		_, err := fmt.Fprintln(o.Out, "No identity accounts.")
		return err
	}
	tw := tabwriter.NewWriter(o.Out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAMESPACE\tSERVICE ACCOUNT\tIDENTITY\tVERIFIED\tFAILED CHECKS\tSTALE PODS\tAGE")
	var fixes []string
	for _, a := range s.Accounts {
		failed := make([]string, 0, len(a.FailedChecks))
		for _, f := range a.FailedChecks {
			failed = append(failed, f.Check)
			if f.Fix != "" {
				fixes = append(fixes, fmt.Sprintf("%s/%s %s: %s", a.Namespace, a.ServiceAccount, f.Check, f.Fix))
			}
		}
		checks := strings.Join(failed, ",")
		if checks == "" {
			checks = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Namespace, a.ServiceAccount, a.Identity,
			upDown(a.Verified, "yes", "NO"), checks, strconv.Itoa(a.StalePods), ago(a.LastRun))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(fixes) > 0 {
		fmt.Fprintln(o.Out, "\nFixes:")
		for _, f := range fixes {
			fmt.Fprintln(o.Out, "  "+f)
		}
	}
	return nil
}

// newCmdMonitorRules prints the alert rules file, for a Prometheus without the operator.
func newCmdMonitorRules(streams genericiooptions.IOStreams) *cobra.Command {
	c := monitorinstall.Config{Namespace: monitorinstall.DefaultNamespace, StaleFor: 30 * time.Minute}
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Print the monitor's alert rules as a Prometheus rules file",
		Long: `Print the monitor's alert rules as a Prometheus rules file (rule_files), the same rules
monitor install --prometheus-rules writes as a PrometheusRule.

` + exitCodesNoChecksHelp,
		Example: `  # The rules file, checked by promtool
  kubectl wi monitor rules > kubectl-wi.rules.yaml && promtool check rules kubectl-wi.rules.yaml`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := checkRulesFlags(c); err != nil {
				return err
			}
			out, err := c.RulesYAML()
			if err != nil {
				return err
			}
			_, err = streams.Out.Write(out)
			return err
		},
	}
	cmd.Flags().DurationVar(&c.StaleFor, "stale-for", c.StaleFor, "How long pods stay stale before KubectlWIStalePods fires")
	cmd.Flags().StringVar(&c.ClusterName, "cluster-name", "", `The monitor's --cluster-name, which KubectlWIMonitorDown selects on`)
	return cmd
}

// checkRulesFlags checks what the rules depend on with install's own checks.
func checkRulesFlags(c monitorinstall.Config) error {
	full := c
	full.Image, full.Replicas, full.Interval, full.Parallel = "x", 1, time.Minute, 1
	if err := full.Validate(); err != nil {
		return &FlagError{Err: err}
	}
	return nil
}
