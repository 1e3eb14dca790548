package probe

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// AddFlags binds the probe's flags to c, with c's values as defaults. The probe binary of the
// image and the hidden `kubectl wi probe` command take the same flags: verify passes them to
// either.
func (c *Config) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&c.ExpectedAudience, "expected-audience", c.ExpectedAudience, "Audience the IRSA token must carry")
	f.Int64Var(&c.ExpectedExpiration, "expected-expiration", c.ExpectedExpiration, "Seconds between the token's iat and exp (the projected expirationSeconds); 0 skips the check")
	f.StringVar(&c.ExpectedIssuer, "expected-issuer", c.ExpectedIssuer, "Issuer the token must carry (the cluster's); empty skips the check")
	f.StringVar(&c.ExpectedSubject, "expected-subject", c.ExpectedSubject, "Subject the token must carry: system:serviceaccount:NAMESPACE:NAME")
	f.StringVar(&c.ExpectedRoleARN, "expected-role-arn", c.ExpectedRoleARN, "Role the pod must get; empty compares with AWS_ROLE_ARN only")
	f.StringVar(&c.Region, "region", c.Region, "STS region when the pod's AWS_REGION and AWS_DEFAULT_REGION are unset (default us-east-1)")
	f.StringVar(&c.SessionName, "session-name", c.SessionName, "RoleSessionName of the AssumeRoleWithWebIdentity call")
	f.BoolVar(&c.InPod, "in-pod", c.InPod, "Run in the app's own pod (verify --in-pod): also report the app's processes and their AWS SDKs")
}

// DefaultConfig is the configuration before flags: the audience and session name verify uses.
func DefaultConfig() Config {
	return Config{ExpectedAudience: DefaultAudience, SessionName: DefaultSessionName}
}

// Validate refuses flag values the checks could never match, naming the flag.
func (c Config) Validate() error {
	if c.ExpectedExpiration < 0 {
		return fmt.Errorf("--expected-expiration must be 0 or more seconds, got %d", c.ExpectedExpiration)
	}
	if c.ExpectedSubject != "" {
		parts := strings.Split(c.ExpectedSubject, ":")
		if len(parts) != 4 || parts[0] != "system" || parts[1] != "serviceaccount" || parts[2] == "" || parts[3] == "" {
			return fmt.Errorf("--expected-subject must be system:serviceaccount:NAMESPACE:NAME, got %q", c.ExpectedSubject)
		}
	}
	if c.ExpectedRoleARN != "" && !strings.HasPrefix(c.ExpectedRoleARN, "arn:") {
		return fmt.Errorf("--expected-role-arn must be an IAM role ARN, got %q", c.ExpectedRoleARN)
	}
	if c.ExpectedAudience == "" {
		return fmt.Errorf("--expected-audience must not be empty")
	}
	return nil
}

// ProcessDeps is Deps of the running process: its env, files, clock and user, and, with
// --in-pod, the processes of the app's container, whose process namespace the ephemeral
// container shares.
func ProcessDeps() Deps {
	return Deps{
		Getenv:   os.Getenv,
		ReadFile: os.ReadFile,
		Now:      time.Now,
		Getuid:   os.Getuid,
		App:      SDKScanner{ProcDir: "/proc", Self: os.Getpid()},
	}
}
