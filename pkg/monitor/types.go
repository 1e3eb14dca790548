package monitor

import (
	"context"
	"time"
)

// Identity types as the metrics and the status object name them.
const (
	IdentityIRSA        = "irsa"
	IdentityPodIdentity = "pod-identity"
)

// Account is one service account with an identity.
type Account struct {
	Namespace, Name string
	// Identity is IdentityIRSA or IdentityPodIdentity (which wins when both are set up).
	Identity string
}

// key is an account's namespace/name.
func (a Account) key() string { return a.Namespace + "/" + a.Name }

// Check is one failed check of a proof, as the probe or verify named it, with its fix.
type Check struct {
	Check   string `json:"check"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// Result is how one account's proof ended.
type Result struct {
	Account  Account
	Verified bool
	// FailedChecks are the checks that failed, in the order they were reported.
	FailedChecks []Check
	Duration     time.Duration
	// Err is what stopped the proof before a verdict (it is also a failed check); an
	// interruption of the monitor itself is not recorded.
	Err error
	// Interrupted is true when the monitor stopped before the proof ended: no result.
	Interrupted bool
	// ExplainErr is what kept explain's IAM checks of an IRSA account from running (the
	// monitor's AWS reads refused or unreachable): the monitor's failure, not the account's.
	ExplainErr error
}

// Prover proves accounts, at most parallel at once, and returns a result for each, in
// order. Every probe pod it creates is deleted before it returns, also when ctx ends.
type Prover interface {
	Prove(ctx context.Context, accounts []Account, parallel int) []Result
}
