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
//	  allow: [iam:GetRole]            # optional: what its sessions may call beside STS
//	users:                            # static IAM user keys that sign IAM, EKS and EKS Auth calls
//	- arn: arn:aws:iam::111122223333:user/dev
//	  accessKeyId: AKIAEXAMPLEDEV00001
//	  secretAccessKey: ...
//	  deny: [iam:GetRole]             # optional: these actions answer AccessDenied
//	clusters:                         # EKS clusters, for DescribeCluster and Pod Identity
//	- name: local
//	  region: us-west-2
//	  issuer: https://127.0.0.1:6443
//	  associationsFile: /path/pod-identity-associations.json  # optional: the webhook's file
//	eksAuthFaults:                    # optional: EKS Auth fails for these pods
//	- namespace: demo
//	  serviceAccount: app             # optional: only this service account
//	  fault: throttle-once            # see the Fault* constants
type Config struct {
	// Account is the 12-digit AWS account id of every role and provider.
	Account string `json:"account"`
	// Partition is the ARN partition, "aws" when empty.
	Partition string `json:"partition,omitempty"`
	// Providers are the registered OpenID Connect providers.
	Providers []Provider `json:"providers"`
	// Roles are the IAM roles that can be assumed.
	Roles []Role `json:"roles"`
	// Users are IAM users with long-term access keys, the callers of IAM, EKS and EKS Auth.
	Users []User `json:"users,omitempty"`
	// Clusters are the EKS clusters of the account.
	Clusters []Cluster `json:"clusters,omitempty"`
	// EKSAuthFaults make EKS Auth fail for chosen pods (eksauth_faults.go).
	EKSAuthFaults []EKSAuthFault `json:"eksAuthFaults,omitempty"`
}

// User is an IAM user with one access key. Every action is allowed but those in Deny, so a
// test can take one permission away.
type User struct {
	// ARN is the user's ARN, arn:aws:iam::ACCOUNT:user/NAME (a path is allowed).
	ARN string `json:"arn"`
	// AccessKeyID and SecretAccessKey are the user's access key.
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	// Deny lists actions ("iam:GetRole", "eks:*") the user may not call.
	Deny []string `json:"deny,omitempty"`
}

// Cluster is an EKS cluster.
type Cluster struct {
	// Name is the cluster name.
	Name string `json:"name"`
	// Region is the region the cluster lives in; it is found only through that region.
	Region string `json:"region"`
	// Issuer is the cluster's service account issuer (identity.oidc.issuer).
	Issuer string `json:"issuer"`
	// CAFile is an optional PEM bundle trusted for the issuer's TLS; when empty, that of the
	// provider with the same issuer, if any. A relative path is relative to the configuration
	// file.
	CAFile string `json:"caFile,omitempty"`
	// AssociationsFile, when set, is where the cluster's Pod Identity associations are written
	// on every change, in the pod identity webhook's format, as EKS pushes them to its webhook.
	AssociationsFile string `json:"associationsFile,omitempty"`
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
	// Thumbprints are the provider's server certificate thumbprints, as IAM lists them; IAM
	// allows none.
	Thumbprints []string `json:"thumbprints,omitempty"`
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
	// Allow lists the actions ("iam:GetRole", "eks:List*") its sessions may call beside STS:
	// the actions of the role's permission policy, on every resource.
	Allow []string `json:"allow,omitempty"`
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
	for i := range cfg.Clusters {
		if ca := cfg.Clusters[i].CAFile; ca != "" && !filepath.IsAbs(ca) {
			cfg.Clusters[i].CAFile = filepath.Join(dir, ca)
		}
		if f := cfg.Clusters[i].AssociationsFile; f != "" && !filepath.IsAbs(f) {
			cfg.Clusters[i].AssociationsFile = filepath.Join(dir, f)
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
		// IAM role names are unique in an account whatever their paths
		if short := roleShortName(r.Name); names[short] {
			errs = append(errs, fmt.Errorf("roles[%d]: role name %q is defined twice", i, short))
		} else {
			names[short] = true
		}
		if r.MaxSessionDuration != 0 && (r.MaxSessionDuration < defaultMaxSessionDuration || r.MaxSessionDuration > maxSessionDurationLimit) {
			errs = append(errs, fmt.Errorf("roles[%d]: maxSessionDuration %d is outside 3600..43200", i, r.MaxSessionDuration))
		}
		if _, err := ParsePolicy(r.TrustPolicy); err != nil {
			errs = append(errs, fmt.Errorf("roles[%d] (%s): trust policy: %w", i, r.Name, err))
		}
		for _, a := range r.Allow {
			if !actionRE.MatchString(a) {
				errs = append(errs, fmt.Errorf("roles[%d] (%s): allow: %q is not an action (service:Action)", i, r.Name, a))
			}
		}
	}
	errs = append(errs, c.validateUsers()...)
	errs = append(errs, c.validateClusters()...)
	errs = append(errs, c.validateFaults()...)
	return errors.Join(errs...)
}

var (
	accessKeyIDRE = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	actionRE      = regexp.MustCompile(`^[a-z0-9-]+:[A-Za-z0-9*?]+$`)
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	clusterNameRE = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$`)
)

func (c *Config) validateUsers() []error {
	var errs []error
	keys := map[string]bool{}
	for i, u := range c.Users {
		prefix := "arn:" + c.partition() + ":iam::" + c.Account + ":user/"
		if name, ok := strings.CutPrefix(u.ARN, prefix); !ok || validateRoleName(name) != nil {
			errs = append(errs, fmt.Errorf("users[%d]: arn %q is not a user ARN of the account (%sNAME)", i, u.ARN, prefix))
		}
		if !accessKeyIDRE.MatchString(u.AccessKeyID) {
			errs = append(errs, fmt.Errorf("users[%d]: accessKeyId is not 16 to 128 upper-case letters and digits", i))
		}
		if keys[u.AccessKeyID] {
			errs = append(errs, fmt.Errorf("users[%d]: accessKeyId %s is used twice", i, u.AccessKeyID))
		}
		keys[u.AccessKeyID] = true
		if len(u.SecretAccessKey) < 16 {
			errs = append(errs, fmt.Errorf("users[%d]: secretAccessKey is shorter than 16 characters", i)) // never quoted
		}
		for _, a := range u.Deny {
			if !actionRE.MatchString(a) {
				errs = append(errs, fmt.Errorf("users[%d]: deny: %q is not an action (service:Action)", i, a))
			}
		}
	}
	return errs
}

func (c *Config) validateClusters() []error {
	var errs []error
	names := map[string]bool{}
	for i, cl := range c.Clusters {
		if !clusterNameRE.MatchString(cl.Name) {
			errs = append(errs, fmt.Errorf("clusters[%d]: name %q is not a valid EKS cluster name", i, cl.Name))
		}
		if !regionRE.MatchString(cl.Region) {
			errs = append(errs, fmt.Errorf("clusters[%d]: region %q is not a region name", i, cl.Region))
		}
		if key := cl.Region + "/" + cl.Name; names[key] {
			errs = append(errs, fmt.Errorf("clusters[%d]: cluster %s is defined twice in %s", i, cl.Name, cl.Region))
		} else {
			names[key] = true
		}
		if u, err := url.Parse(cl.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			errs = append(errs, fmt.Errorf("clusters[%d]: issuer %q is not an http(s) URL", i, cl.Issuer))
		}
	}
	return errs
}

// roleShortName is a role's name without its path: "team/app" is "app".
func roleShortName(name string) string {
	return name[strings.LastIndex(name, "/")+1:]
}

// rolePath is a role's IAM path: "/" or "/team/".
func rolePath(name string) string {
	i := strings.LastIndex(name, "/")
	if i < 0 {
		return "/"
	}
	return "/" + name[:i+1]
}

// clusterARN is the ARN of an EKS cluster.
func (c *Config) clusterARN(cl Cluster) string {
	return "arn:" + c.partition() + ":eks:" + cl.Region + ":" + c.Account + ":cluster/" + cl.Name
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
