package podidentity_test

import (
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// TestMigrateText holds migrate's text output, stdout and stderr apart, byte for byte, in
// golden files: the words the e2e tests and users read stay as they are.
func TestMigrateText(t *testing.T) {
	tests := []struct {
		name     string
		accounts map[string]string
		podTrust bool
		setup    func(b *bed)
		cfg      podidentity.Config
		// first, when set, is a run before the one whose output is held.
		first *podidentity.Config
	}{
		{name: "namespace", accounts: map[string]string{"api": awstest.Role, "worker": awstest.Role}, podTrust: true},
		{name: "rerun", accounts: map[string]string{"api": awstest.Role}, podTrust: true, first: &podidentity.Config{}},
		{name: "remove-irsa", accounts: map[string]string{"api": awstest.Role}, podTrust: true, cfg: podidentity.Config{RemoveIRSA: true}},
		{name: "trust-missing", accounts: map[string]string{"api": awstest.Role}},
		{name: "write-trust", accounts: map[string]string{"api": awstest.Role}, cfg: podidentity.Config{WriteTrust: true}},
		{
			name: "verify-fails", accounts: map[string]string{"api": awstest.Role, "worker": awstest.Role}, podTrust: true,
			setup: func(b *bed) { b.refuse["worker"] = true }, cfg: podidentity.Config{RemoveIRSA: true},
		},
		{
			name: "trust-rolled-back", accounts: map[string]string{"api": awstest.Role},
			setup: func(b *bed) { b.refuse["api"] = true }, cfg: podidentity.Config{WriteTrust: true},
		},
		{name: "one-bad-account", accounts: map[string]string{"api": awstest.Role, "worker": awstest.OtherRole}, podTrust: true, setup: otherRoleRefuses},
		{name: "one-bad-account-dry-run", accounts: map[string]string{"api": awstest.Role, "worker": awstest.OtherRole}, podTrust: true, setup: otherRoleRefuses, cfg: podidentity.Config{DryRun: "client"}},
		{
			name: "static-keys", accounts: map[string]string{"api": awstest.Role}, podTrust: true,
			setup: func(b *bed) { b.keys["api"] = true },
		},
		{name: "server-dry-run", accounts: map[string]string{"api": awstest.Role}, podTrust: true, cfg: podidentity.Config{DryRun: "server", RemoveIRSA: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBed(t, tt.accounts, tt.podTrust)
			if tt.setup != nil {
				tt.setup(b)
			}
			if tt.first != nil {
				if _, out, err := b.run(t, *tt.first); err != nil {
					t.Fatalf("first run: %v\n%s", err, out)
				}
			}
			_, stdout, stderr, _ := b.runStreams(t, tt.cfg)
			golden.RequireEqual(t, []byte("--- stdout\n"+stdout+"--- stderr\n"+stderr))
		})
	}
}

// otherRoleRefuses makes the role other trust the account's web identity alone.
func otherRoleRefuses(b *bed) { b.aws.Roles["other"] = awstest.TrustOf(awstest.IRSAStatement) }
