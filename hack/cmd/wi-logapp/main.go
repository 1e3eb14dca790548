// Command wi-logapp is the test bed's log app: on start it prints AWS SDK credential-failure
// lines, as the SDKs print them, some carrying fake secret-looking values (package
// github.com/kubectl-wi/kubectl-wi/hack/logapp), then idles until SIGTERM or SIGINT.
//
//	wi-logapp [-classes CLASS,...]
//
// -classes (or WI_LOGAPP_CLASSES) picks which classes it prints, so a test can give each
// container one class; the default is every class. After the lines it prints one line of its
// own, "wi-logapp: printed N lines of CLASSES; idle until SIGTERM".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kubectl-wi/kubectl-wi/hack/logapp"
)

// classesEnv is the environment variable -classes defaults to.
const classesEnv = "WI_LOGAPP_CLASSES"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wi-logapp:", err)
		os.Exit(2)
	}
}

// run prints the lines of the classes asked for, then waits for ctx to end.
func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("wi-logapp", flag.ContinueOnError)
	fs.SetOutput(out)
	classes := fs.String("classes", getenv(classesEnv), "Comma-separated classes of lines to print, or all (env "+classesEnv+"; default all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lines, err := logapp.Select(*classes)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(out, l.Text)
	}
	picked := strings.TrimSpace(*classes)
	if picked == "" {
		picked = "all"
	}
	fmt.Fprintf(out, "wi-logapp: printed %d lines of %s; idle until SIGTERM\n", len(lines), picked)
	<-ctx.Done()
	return nil
}
