package plugin

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/kubectl-wi/kubectl-wi/pkg/inventory"
)

// statusMaxWorkloads is how many workloads a wide table cell lists before "+N more".
const statusMaxWorkloads = 3

func (o *StatusOptions) printTable(r *inventory.Report) error {
	var b bytes.Buffer
	if len(r.ServiceAccounts) == 0 {
		// kubectl get's words for an empty listing (pkg/cmd/get), and its exit 0: status is a
		// listing, not a gate.
		if o.AllNamespaces {
			fmt.Fprintln(o.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(o.ErrOut, "No resources found in %s namespace.\n", o.namespace)
		}
	} else {
		// kubectl's table layout (printers.GetNewTabWriter): min width 6, padding 3.
		tw := tabwriter.NewWriter(&b, 6, 4, 3, ' ', 0)
		var head []string
		if o.AllNamespaces {
			head = append(head, "NAMESPACE")
		}
		head = append(head, "SERVICEACCOUNT", "IDENTITY", "ROLE", "PODS", "INJECTED", "STALE", "SKIPPED")
		if o.Output == "wide" {
			head = append(head, "AUDIENCE", "EXPIRATION", "WORKLOADS")
		}
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		for _, sa := range r.ServiceAccounts {
			var row []string
			if o.AllNamespaces {
				row = append(row, sa.Namespace)
			}
			// INJECTED: pods with the identity the account gives now (IRSA's injection or Pod
			// Identity's credentials); STALE: pods a restart would change, for either.
			role := sa.RoleARN
			if role == "" {
				role = sa.PodIdentityRoleARN // an account of an association read from EKS
			}
			row = append(row, sa.Name, statusOrNone(sa.Identity), statusOrNone(role), strconv.Itoa(sa.Pods.Total),
				strconv.Itoa(sa.Pods.Injected+sa.Pods.PodIdentity), strconv.Itoa(sa.Pods.Stale+sa.Pods.PodIdentityStale), strconv.Itoa(sa.Pods.Skipped))
			if o.Output == "wide" {
				exp := "<none>"
				if sa.TokenExpiration != 0 {
					exp = strconv.FormatInt(sa.TokenExpiration, 10) + "s"
				}
				row = append(row, statusOrNone(sa.Audience), exp, statusWorkloadsCell(sa.Workloads))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Findings) > 0 || len(r.ServiceAccounts) > 0 {
		if len(r.ServiceAccounts) > 0 {
			b.WriteByte('\n')
		}
		writeStatusFindings(&b, r.Findings)
	}
	_, err := o.Out.Write(b.Bytes())
	return err
}

func statusWorkloadsCell(w []string) string {
	switch {
	case len(w) == 0:
		return "<none>"
	case len(w) > statusMaxWorkloads:
		return strings.Join(w[:statusMaxWorkloads], ",") + fmt.Sprintf(",+%d more", len(w)-statusMaxWorkloads)
	default:
		return strings.Join(w, ",")
	}
}

// writeStatusFindings prints the findings, most severe first, each followed by its fix.
func writeStatusFindings(w io.Writer, findings []inventory.Finding) {
	if len(findings) == 0 {
		fmt.Fprintln(w, "No findings.")
		return
	}
	fmt.Fprintf(w, "FINDINGS (%d)\n", len(findings))
	for _, f := range findings {
		where := "cluster"
		if f.Object != "" {
			where = f.Namespace + "/" + f.Object
		}
		if f.Pods > 1 {
			where += fmt.Sprintf(" (%d pods)", f.Pods)
		}
		fmt.Fprintf(w, "%-8s %s: %s\n", f.Severity, where, f.Message)
		fmt.Fprintf(w, "%-8s fix: %s\n", "", f.Fix)
	}
}

func statusOrNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
