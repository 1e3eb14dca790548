package plugin

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// dryRunBare is what --dry-run with no value sets, as kubectl's cmdutil.AddDryRunFlag does.
const dryRunBare = "unchanged"

// dryRunBareHelp ends the help of every command's --dry-run: the forms kubectl still takes.
const dryRunBareHelp = "--dry-run alone means client, with kubectl's warning that it is deprecated (write --dry-run=client)"

// addDryRunFlag registers --dry-run as kubectl does, one of modes, the same in every command
// that has it: what says what the modes do there.
func addDryRunFlag(cmd *cobra.Command, p *string, what string, modes ...dryRun) {
	names := stringsOf(modes)
	*p = string(dryRunNone)
	f := cmd.Flags()
	f.StringVar(p, "dry-run", *p, fmt.Sprintf("Must be %s. %s; %s", orList(quoted(names)), what, dryRunBareHelp))
	f.Lookup("dry-run").NoOptDefVal = dryRunBare
	completeValues(cmd, "dry-run", names...)
}

// dryRun is a --dry-run strategy, kubectl's cmdutil.DryRunStrategy: read once from the flag
// by parseDryRun, in Complete, and compared as these constants from then on.
type dryRun string

// The strategies: the values --dry-run takes, which the engines take as strings.
const (
	dryRunNone   dryRun = "none"   // write
	dryRunClient dryRun = "client" // send nothing
	dryRunServer dryRun = "server" // send the writes as the server's dry runs: validated, not stored
)

// readDryRun reads --dry-run as kubectl's cmdutil.GetDryRunStrategy does: none, client or
// server as given; alone, it means client; a boolean (strconv.ParseBool's forms) means client
// (true) or none (false). The last two are deprecated in kubectl, and warning is its warning
// for them, "" for the others. A value of none of these forms is returned as it is, for
// checkDryRun to refuse.
func readDryRun(value string) (mode dryRun, warning string) {
	if value == dryRunBare {
		return dryRunClient, "Warning: --dry-run is deprecated and can be replaced with --dry-run=client."
	}
	switch mode := dryRun(value); mode {
	case dryRunNone, dryRunClient, dryRunServer:
		return mode, ""
	}
	b, err := strconv.ParseBool(value)
	switch {
	case err != nil:
		return dryRun(value), ""
	case b:
		mode = dryRunClient
	default:
		mode = dryRunNone
	}
	return mode, fmt.Sprintf("Warning: --dry-run=%s is deprecated (boolean value) and can be replaced with --dry-run=%s.", value, mode)
}

// parseDryRun reads value as readDryRun does and prints the warning, if any, to warn: kubectl
// warns as it reads the flag, in Complete.
func parseDryRun(warn io.Writer, value string) dryRun {
	mode, warning := readDryRun(value)
	if warning != "" && warn != nil {
		fmt.Fprintln(warn, warning)
	}
	return mode
}

// checkDryRun refuses a --dry-run strategy the command does not take.
func checkDryRun(mode dryRun, modes ...dryRun) error {
	if slices.Contains(modes, mode) {
		return nil
	}
	return FlagErrorf("--dry-run %q is not supported: must be %s", mode, orList(stringsOf(modes)))
}

// stringsOf is values as plain strings.
func stringsOf[S ~string](values []S) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// quoted is each of values in Go's double quotes.
func quoted(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strconv.Quote(v)
	}
	return out
}

// orList is "a, b or c".
func orList(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}
