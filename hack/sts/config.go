package sts

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// Config is what the stand-in knows about its single AWS account: the registered OpenID
// Connect providers and the IAM roles with their trust policies. It is read from YAML or
// JSON:
//
//	account: "111122223333"
//	providers:
//	- issuer: https://127.0.0.1:6443
//	  clientIDs: [sts.amazonaws.com]
//	  caFile: /path/ca.crt            # optional: CA bundle for the issuer's TLS
//	roles:
//	- name: app                       # arn:aws:iam::111122223333:role/app
//	  trustPolicy: {...}              # IAM JSON, as a YAML object or a JSON string
//	- name: team/app                  # a path is allowed: arn:aws:iam::111122223333:role/team/app
//	  maxSessionDuration: 7200        # seconds, default 3600
//	  trustPolicy: '{"Version": "2012-10-17", "Statement": [...]}'
type Config struct {
	// Account is the 12-digit AWS account id of every role and provider.
	Account string `json:"account"`
	// Partition is the ARN partition, "aws" when empty.
	Partition string `json:"partition,omitempty"`
	// Providers are the registered OpenID Connect providers.
	Providers []Provider `json:"providers"`
	// Roles are the IAM roles that can be assumed.
	Roles []Role `json:"roles"`
}

// Provider is a registered OpenID Connect identity provider.
type Provider struct {
	// Issuer is the provider URL, matched exactly (trailing slash aside) against a token's iss.
	Issuer string `json:"issuer"`
	// ClientIDs are the audiences the provider accepts: a token's aud must include one.
	ClientIDs []string `json:"clientIDs"`
	// CAFile is an optional PEM bundle trusted for the issuer's TLS instead of the system
	// roots. A relative path is relative to the configuration file.
	CAFile string `json:"caFile,omitempty"`
}

// Role is an IAM role.
type Role struct {
	// Name is the role name, optionally preceded by a path: "app" or "team/app".
	Name string `json:"name"`
	// MaxSessionDuration caps DurationSeconds, in seconds; 3600 when zero.
	MaxSessionDuration int32 `json:"maxSessionDuration,omitempty"`
	// TrustPolicy is the role's trust policy: an IAM policy document as an object, or as a
	// string holding its JSON.
	TrustPolicy json.RawMessage `json:"trustPolicy"`
}

const (
	defaultMaxSessionDuration = 3600
	minSessionDuration        = 900
	maxSessionDurationLimit   = 43200
)

var (
	accountRE  = regexp.MustCompile(`^[0-9]{12}$`)
	roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	pathPartRE = regexp.MustCompile(`^[\x21-\x7e]+$`)
)

// LoadConfig reads and checks a configuration file, YAML or JSON. A relative caFile is
// resolved against the file's directory.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("invalid config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	for i := range cfg.Providers {
		if ca := cfg.Providers[i].CAFile; ca != "" && !filepath.IsAbs(ca) {
			cfg.Providers[i].CAFile = filepath.Join(dir, ca)
		}
	}
	return cfg, nil
}

// ParseConfig parses a configuration in YAML or JSON and checks it.
func ParseConfig(data []byte) (*Config, error) {
	var cfg Config
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return nil, fmt.Errorf("failed to parse config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Validate checks the configuration: account id, provider URLs, role names and trust
// policies.
func (c *Config) Validate() error {
	var errs []error
	if !accountRE.MatchString(c.Account) {
		errs = append(errs, fmt.Errorf("account %q is not 12 digits", c.Account))
	}
	issuers := map[string]bool{}
	for i, p := range c.Providers {
		u, err := url.Parse(p.Issuer)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			errs = append(errs, fmt.Errorf("providers[%d]: issuer %q is not an http(s) URL", i, p.Issuer))
		case u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, fmt.Errorf("providers[%d]: issuer %q has a query or fragment", i, p.Issuer))
		}
		key := normalizeIssuer(p.Issuer)
		if issuers[key] {
			errs = append(errs, fmt.Errorf("providers[%d]: issuer %q is registered twice", i, p.Issuer))
		}
		issuers[key] = true
		if len(p.ClientIDs) == 0 {
			errs = append(errs, fmt.Errorf("providers[%d]: no clientIDs", i))
		}
	}
	names := map[string]bool{}
	for i, r := range c.Roles {
		if err := validateRoleName(r.Name); err != nil {
			errs = append(errs, fmt.Errorf("roles[%d]: %w", i, err))
		}
		if names[r.Name] {
			errs = append(errs, fmt.Errorf("roles[%d]: role %q is defined twice", i, r.Name))
		}
		names[r.Name] = true
		if r.MaxSessionDuration != 0 && (r.MaxSessionDuration < defaultMaxSessionDuration || r.MaxSessionDuration > maxSessionDurationLimit) {
			errs = append(errs, fmt.Errorf("roles[%d]: maxSessionDuration %d is outside 3600..43200", i, r.MaxSessionDuration))
		}
		if _, err := ParsePolicy(r.TrustPolicy); err != nil {
			errs = append(errs, fmt.Errorf("roles[%d] (%s): trust policy: %w", i, r.Name, err))
		}
	}
	return errors.Join(errs...)
}

func validateRoleName(name string) error {
	parts := strings.Split(name, "/")
	if !roleNameRE.MatchString(parts[len(parts)-1]) {
		return fmt.Errorf("role name %q is not a valid IAM role name", name)
	}
	for _, p := range parts[:len(parts)-1] {
		if !pathPartRE.MatchString(p) {
			return fmt.Errorf("role path in %q is not a valid IAM path", name)
		}
	}
	return nil
}

func (c *Config) partition() string {
	if c.Partition == "" {
		return "aws"
	}
	return c.Partition
}

// roleARN is the ARN of role name (path included).
func (c *Config) roleARN(name string) string {
	return "arn:" + c.partition() + ":iam::" + c.Account + ":role/" + name
}

// providerARN is the ARN of the OIDC provider for issuer.
func (c *Config) providerARN(issuer string) string {
	return "arn:" + c.partition() + ":iam::" + c.Account + ":oidc-provider/" + issuerHostPath(issuer)
}

// normalizeIssuer drops a trailing slash, so that "https://x/" and "https://x" are one
// provider.
func normalizeIssuer(iss string) string {
	return strings.TrimRight(iss, "/")
}

// issuerHostPath is the issuer without its scheme, the form IAM uses in provider ARNs and
// condition keys: "127.0.0.1:6443", "oidc.eks.us-east-1.amazonaws.com/id/ABC".
func issuerHostPath(iss string) string {
	iss = normalizeIssuer(iss)
	for _, scheme := range []string{"https://", "http://"} {
		if strings.HasPrefix(iss, scheme) {
			return iss[len(scheme):]
		}
	}
	return iss
}
