package webhook

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Names and limits the real webhook uses, which the plugin and its tests look for.
const (
	// VolumeName is the name of the web identity token volume and of its mounts.
	VolumeName = "aws-iam-token"
	// TokenPath is the file name of the token inside the volume.
	TokenPath = "token"
	// MinExpiration is the lowest expirationSeconds the webhook writes: lower values, from a
	// flag or an annotation, are raised to it. There is no upper bound.
	MinExpiration int64 = 600
	// DefaultExpiration is the real webhook's --token-expiration default. In container
	// credentials mode a token of exactly this lifetime gets a random one from
	// MinJitteredExpiration to DefaultExpiration instead, so that tokens do not all expire at once.
	DefaultExpiration int64 = 86400
	// MinJitteredExpiration is the low end of that jitter.
	MinJitteredExpiration int64 = 79200
	// PodIdentityLabel is the label a pod gets in container credentials mode. Unlike the
	// annotations it is not under the configurable prefix.
	PodIdentityLabel = "eks.amazonaws.com/pod-identity"
)

// Annotation and label names, relative to Config.AnnotationPrefix.
const (
	annRoleARN           = "role-arn"
	annAudience          = "audience"
	annTokenExpiration   = "token-expiration"
	annRegionalEndpoints = "sts-regional-endpoints"
	annSkipContainers    = "skip-containers"
	labelSkip            = "skip-pod-identity-webhook"
)

// Env names the webhook injects.
const (
	envRoleARN           = "AWS_ROLE_ARN"
	envTokenFile         = "AWS_WEB_IDENTITY_TOKEN_FILE"
	envRegion            = "AWS_REGION"
	envDefaultRegion     = "AWS_DEFAULT_REGION"
	envRegionalEndpoints = "AWS_STS_REGIONAL_ENDPOINTS"
	envCredentialsURI    = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envAuthTokenFile     = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
)

// Config is what the webhook injects; the flags of wi-webhook fill it, named as the real
// webhook's flags are.
type Config struct {
	// AnnotationPrefix prefixes every annotation and label the webhook reads
	// (--annotation-prefix).
	AnnotationPrefix string
	// DefaultAudience is the token audience when the service account has no audience
	// annotation (--token-audience).
	DefaultAudience string
	// DefaultRegion, when not empty, is injected as AWS_DEFAULT_REGION and AWS_REGION into
	// containers that set neither (--aws-default-region).
	DefaultRegion string
	// MountPath is the directory the web identity token volume is mounted at
	// (--token-mount-path).
	MountPath string
	// DefaultExpiration is the token's expirationSeconds when neither the pod nor the service
	// account sets one (--token-expiration); raised to MinExpiration.
	DefaultExpiration int64
	// RegionalSTS injects AWS_STS_REGIONAL_ENDPOINTS=regional into every mutated container
	// unless the service account's annotation says otherwise (--sts-regional-endpoint). EKS runs
	// the webhook with it on.
	RegionalSTS bool
	// Credentials is the container credentials (EKS Pod Identity) mode, used for the service
	// accounts listed in the associations file.
	Credentials CredentialsConfig
}

// CredentialsConfig is the container credentials mode's part of the configuration, filled by
// the --container-credentials-* flags.
type CredentialsConfig struct {
	Audience   string // token audience: pods.eks.amazonaws.com
	MountPath  string // where the token volume is mounted
	VolumeName string // the token volume's name: eks-pod-identity-token
	TokenPath  string // the token's file name in the volume
	FullURI    string // AWS_CONTAINER_CREDENTIALS_FULL_URI: the agent's address
}

// DefaultConfig returns the real webhook's defaults: no default region, regional STS off.
func DefaultConfig() Config {
	return Config{
		AnnotationPrefix:  "eks.amazonaws.com",
		DefaultAudience:   "sts.amazonaws.com",
		MountPath:         "/var/run/secrets/eks.amazonaws.com/serviceaccount",
		DefaultExpiration: DefaultExpiration,
		Credentials: CredentialsConfig{
			Audience:   "pods.eks.amazonaws.com",
			MountPath:  "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount",
			VolumeName: "eks-pod-identity-token",
			TokenPath:  "eks-pod-identity-token",
			FullURI:    "http://169.254.170.23/v1/credentials",
		},
	}
}

// SkipLabel is the pod label that opts a pod out of the webhook. Only the registration's
// objectSelector honours it: the handler does not look at it.
func (c Config) SkipLabel() string { return c.key(labelSkip) }

func (c Config) key(name string) string { return c.AnnotationPrefix + "/" + name }

// Entry is what the webhook's cache keeps of one service account: its annotations parsed once,
// when the account is added to the cache, with the flags filling what they leave out.
type Entry struct {
	// RoleARN is the role-arn annotation as written: not trimmed and not validated (the real
	// webhook only logs a malformed one). Empty: the account asks for no web identity.
	RoleARN string
	// Audience is the audience annotation when present (even empty), else the flag's.
	Audience string
	// RegionalSTS is the sts-regional-endpoints annotation read as a Go bool when it parses,
	// else the flag's.
	RegionalSTS bool
	// Expiration is the token-expiration annotation when it parses as an integer (raised to
	// MinExpiration), else the flag's.
	Expiration int64
}

// EntryFor parses sa's annotations the way the real webhook's cache does.
func (c Config) EntryFor(sa *corev1.ServiceAccount) Entry {
	e := Entry{
		RoleARN:     sa.Annotations[c.key(annRoleARN)],
		Audience:    c.DefaultAudience,
		RegionalSTS: c.RegionalSTS,
		Expiration:  c.DefaultExpiration,
	}
	if a, ok := sa.Annotations[c.key(annAudience)]; ok {
		e.Audience = a
	}
	if v, ok := sa.Annotations[c.key(annRegionalEndpoints)]; ok {
		if b, err := strconv.ParseBool(v); err == nil {
			e.RegionalSTS = b
		}
	}
	if v, ok := sa.Annotations[c.key(annTokenExpiration)]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			e.Expiration = max(n, MinExpiration)
		}
	}
	return e
}
