package plugin

import (
	"net/url"
	"os"

	"github.com/spf13/cobra"

	"github.com/kubectl-wi/kubectl-wi/pkg/cabundle"
)

// stsFlags are --sts-endpoint and --ca-bundle of every command that runs the probe (verify,
// migrate, monitor run, and monitor install for the monitor it deploys): the STS endpoint the
// probe calls and the CAs it trusts beside the public roots, with their environment defaults
// (EnvSTSEndpoint, EnvCABundle).
type stsFlags struct {
	STSEndpoint string
	CABundle    string // a PEM file's path

	from        map[string]string // flag -> the env var its value came from
	caBundle    []byte            // CABundle's contents, read by complete
	caBundleErr error             // why CABundle could not be read, for validate to say
}

// complete fills the flags not given from env, and reads the CA bundle.
func (s *stsFlags) complete(cmd *cobra.Command, env environment) {
	s.from = map[string]string{}
	for _, d := range []struct {
		flag, env, value string
		dest             *string
	}{{"sts-endpoint", EnvSTSEndpoint, env.stsEndpoint, &s.STSEndpoint}, {"ca-bundle", EnvCABundle, env.caBundle, &s.CABundle}} {
		if d.value != "" && !cmd.Flags().Changed(d.flag) {
			*d.dest = d.value
			s.from[d.flag] = d.env
		}
	}
	s.caBundle, s.caBundleErr = nil, nil
	if s.CABundle != "" {
		s.caBundle, s.caBundleErr = os.ReadFile(s.CABundle)
	}
}

// validate refuses an endpoint that is not an http or https URL, and a CA bundle that could
// not be read or holds no CA certificate.
func (s *stsFlags) validate() error {
	if s.STSEndpoint != "" {
		u, err := url.Parse(s.STSEndpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return FlagErrorf("%s must be an http or https URL, got %q", s.source("sts-endpoint"), s.STSEndpoint)
		}
	}
	if s.CABundle == "" {
		return nil
	}
	if s.caBundleErr != nil {
		return InputErrorf("%s: cannot read %s: %w", s.source("ca-bundle"), s.CABundle, unwrapPath(s.caBundleErr))
	}
	if _, err := cabundle.Parse(s.caBundle); err != nil {
		return InputErrorf("%s: %s is not a PEM file of CA certificates: %w", s.source("ca-bundle"), s.CABundle, err)
	}
	return nil
}

// source names where a flag's value came from, for an error: the flag, or the env var that
// gave its default.
func (s *stsFlags) source(flag string) string {
	if env, ok := s.from[flag]; ok {
		return "$" + env + " (the default of --" + flag + ")"
	}
	return "--" + flag
}
