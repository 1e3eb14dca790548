package plugin

import (
	"context"
	"fmt"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// This file holds enable's three modes, which Complete chooses between: the IRSA annotations,
// --pod-identity's associations, --manifest's edit of an mk8s manifest (enable_manifest.go).

// enableMode is one of enable's three ways to give a role: Validate and Run are its.
type enableMode interface {
	validate() error
	run(ctx context.Context) error
}

// annotationMode writes the IRSA annotations on the accounts (and the custom resources).
type annotationMode struct{ *EnableOptions }

// podIdentityMode writes each account's EKS Pod Identity association (--pod-identity): spec is
// what the association gives, its roles as Complete parsed them.
type podIdentityMode struct {
	*EnableOptions
	spec podidentity.ParsedSpec
}

// manifestMode turns on workload identity in a Control Plane mk8s manifest (--manifest), with
// no cluster (enable_manifest.go).
type manifestMode struct {
	*EnableOptions
	file      manifestFile
	conflicts []string // flags given with --manifest that do not apply to it
}

// parseRoleFlag parses a role ARN flag's value; "" is no role, for Validate to refuse where
// one is needed.
func parseRoleFlag(flag, value string) (identity.RoleARN, error) {
	if value == "" {
		return identity.RoleARN{}, nil
	}
	role, err := identity.ParseRoleARN(value)
	if err != nil {
		return role, &FlagError{Err: fmt.Errorf("invalid --%s: %w", flag, err)}
	}
	return role, nil
}

// validateTargets checks what every mode but --manifest needs: TARGET's form, a role, and
// --create with names.
func (o *EnableOptions) validateTargets() error {
	if err := o.targetRegistry().CheckArgs(o.args); err != nil {
		return &FlagError{Err: err} // before the flags: the form of TARGET is the first mistake
	}
	if o.RoleARN == "" {
		return FlagErrorf("--role-arn is required: the IAM role the pods assume, e.g. --role-arn arn:aws:iam::123456789012:role/NAME")
	}
	if o.Create && o.Selector != "" {
		return FlagErrorf("--create creates the service accounts TARGET names, and -l selects existing ones: name the accounts to create")
	}
	return nil
}

func (m annotationMode) validate() error {
	if err := m.validateTargets(); err != nil {
		return err
	}
	if m.roleErr != nil {
		return m.roleErr
	}
	if err := checkAudience(m.Audience, m.audienceSet); err != nil {
		return err
	}
	if m.expirationSet {
		if err := identity.ValidateTokenExpiration(m.TokenExpiration); err != nil {
			return &FlagError{Err: fmt.Errorf("invalid --token-expiration: %w", err)}
		}
	}
	if err := m.identityOptions.validate(); err != nil {
		return err
	}
	for _, ref := range m.customRefs {
		if m.Create {
			return FlagErrorf("--create creates service accounts, and %s is a custom resource", ref)
		}
		if err := ref.Kind.Custom.CheckConfig(*m.want); err != nil {
			return &FlagError{Err: fmt.Errorf("%s: %w", ref, err)}
		}
	}
	return nil
}

func (m annotationMode) run(ctx context.Context) error { return m.identityOptions.run(ctx) }

func (m *podIdentityMode) validate() error {
	if err := m.validateTargets(); err != nil {
		return err
	}
	return m.validatePodIdentity(m.roleErr)
}

func (m *podIdentityMode) run(ctx context.Context) error { return m.runPodIdentity(ctx, &m.spec) }
