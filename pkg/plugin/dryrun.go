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
func addDryRunFlag(cmd *cobra.Command, p *string, what string, modes ...string) {
	f := cmd.Flags()
	f.StringVar(p, "dry-run", *p, fmt.Sprintf("Must be %s. %s; %s", orList(quoted(modes)), what, dryRunBareHelp))
	f.Lookup("dry-run").NoOptDefVal = dryRunBare
	completeValues(cmd, "dry-run", modes...)
}

// readDryRun reads --dry-run as kubectl's cmdutil.GetDryRunStrategy does: none, client or
// server as given; alone, it means client; a boolean (strconv.ParseBool's forms) means client
// (true) or none (false). The last two are deprecated in kubectl, and warning is its warning
// for them, "" for the others. A value of none of these forms is returned as it is, for
// checkDryRun to refuse.
func readDryRun(value string) (mode, warning string) {
	if value == dryRunBare {
		return "client", "Warning: --dry-run is deprecated and can be replaced with --dry-run=client."
	}
	switch value {
	case "none", "client", "server":
		return value, ""
	}
	b, err := strconv.ParseBool(value)
	switch {
	case err != nil:
		return value, ""
	case b:
		mode = "client"
	default:
		mode = "none"
	}
	return mode, fmt.Sprintf("Warning: --dry-run=%s is deprecated (boolean value) and can be replaced with --dry-run=%s.", value, mode)
}

// completeDryRunFlag reads *value as readDryRun does, sets it to the mode and prints the
// warning, if any, to warn: kubectl warns as it reads the flag.
func completeDryRunFlag(warn io.Writer, value *string) {
	mode, warning := readDryRun(*value)
	*value = mode
	if warning != "" && warn != nil {
		fmt.Fprintln(warn, warning)
	}
}

// checkDryRun refuses a --dry-run mode the command does not take.
func checkDryRun(mode string, modes ...string) error {
	if slices.Contains(modes, mode) {
		return nil
	}
	return FlagErrorf("--dry-run %q is not supported: must be %s", mode, orList(modes))
}

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
