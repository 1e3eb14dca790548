// Package exitcode holds the process exit codes of kubectl-wi, the same for every command and
// for the probe binary, so a CI gate reads them one way (README.md, "Exit codes").
package exitcode

// The codes: a CI gate tells a failed check (1) from bad input (2) and from an environment
// that failed before anything could be judged (3).
const (
	OK          = 0   // success: every check passed
	CheckFailed = 1   // a verification check failed
	Usage       = 2   // usage or bad input, refused before any write
	Environment = 3   // the environment failed: cluster unreachable, forbidden, timeout
	Interrupted = 130 // interrupted by SIGINT or SIGTERM
)
