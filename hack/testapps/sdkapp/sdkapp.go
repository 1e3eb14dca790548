// Package sdkapp is the life of the test bed's Go apps (hack/testapps/go-*): each is built
// against a real AWS SDK for Go so its build info names that SDK, and each, when asked, calls
// its SDK's default credential chain once and logs what the SDK says, then idles like the
// pause binary until SIGTERM.
//
// The apps must never reach instance metadata: on the test bed the node's metadata address is
// not an EC2's, and an app that fell through its chain to it would stall on a timeout or, on a
// real EC2 host, get the node's role. So an app refuses its credential attempt unless
// AWS_EC2_METADATA_DISABLED=true, which every SDK of these apps honours by refusing the
// instance metadata provider without a request.
package sdkapp

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

const (
	// AttemptEnv set to "true" asks the app for one credential attempt at start, as the
	// -get-credentials flag does.
	AttemptEnv = "WI_APP_GET_CREDENTIALS"
	// MetadataDisabledEnv must be "true" for the attempt to run (see the package doc).
	MetadataDisabledEnv = "AWS_EC2_METADATA_DISABLED"
	// attemptTimeout bounds the attempt, so an unreachable agent or STS ends in the SDK's
	// own error in the log rather than a silent hang.
	attemptTimeout = 30 * time.Second
)

// Exit codes of Run.
const (
	ExitOK    = 0
	ExitUsage = 2 // a bad flag, or the attempt asked for without AWS_EC2_METADATA_DISABLED=true
)

// Credentials is what an SDK's default chain returned, without any secret part.
type Credentials struct {
	Source  string    // the provider the SDK names as their origin
	Expires time.Time // zero when the SDK does not say
}

// Retriever asks an SDK's default credential chain for credentials once; the SDK's own log
// lines go to sdkLog.
type Retriever func(ctx context.Context, sdkLog io.Writer) (Credentials, error)

// App is one test bed app.
type App struct {
	Name      string    // the app's name in its log lines, e.g. go-sdkv1-old
	SDKModule string    // the SDK's module path, whose version the build info gives
	Retrieve  Retriever // the SDK's default credential chain
}

// Main runs the app as the container's process and exits with Run's code.
func Main(a App) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := a.Run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	os.Exit(code)
}

// Run is the app's process: it logs the SDK it was built against, makes the credential
// attempt when asked (-get-credentials or AttemptEnv), and idles until ctx ends (main cancels
// it on SIGTERM or SIGINT). It returns the process's exit code.
func (a App) Run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) int {
	fs := flag.NewFlagSet(a.Name, flag.ContinueOnError)
	fs.SetOutput(out)
	attempt := fs.Bool("get-credentials", getenv(AttemptEnv) == "true",
		"Ask the SDK's default credential chain for credentials once at start (env "+AttemptEnv+"=true)")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	fmt.Fprintf(out, "%s: built against %s %s\n", a.Name, a.SDKModule, moduleVersion(a.SDKModule))
	if *attempt {
		if getenv(MetadataDisabledEnv) != "true" {
			fmt.Fprintf(out, "%s: refusing the credential attempt: %s=true is not set, and this app must never reach instance metadata\n",
				a.Name, MetadataDisabledEnv)
			return ExitUsage
		}
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		creds, err := a.Retrieve(actx, out)
		cancel()
		switch {
		case err != nil:
			// The SDK's error verbatim: what an app of this SDK logs.
			fmt.Fprintf(out, "%s: credentials: %v\n", a.Name, err)
		case creds.Expires.IsZero():
			fmt.Fprintf(out, "%s: credentials: from %s\n", a.Name, creds.Source)
		default:
			fmt.Fprintf(out, "%s: credentials: from %s, expiring %s\n", a.Name, creds.Source, creds.Expires.UTC().Format(time.RFC3339))
		}
	}
	fmt.Fprintf(out, "%s: idle until SIGTERM\n", a.Name)
	<-ctx.Done()
	return ExitOK
}

// moduleVersion is the version of module path in this binary's build info, what an SDK
// check reading the binary finds; "(not in build info)" in a test binary that lacks it.
func moduleVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "(not in build info)"
}
