package identity

import (
	"fmt"
	"strconv"
)

// Service account and pod annotations and labels read by the pod identity webhook.
const (
	AnnotationPrefix = "eks.amazonaws.com/"

	AnnotationRoleARN                 = AnnotationPrefix + "role-arn"
	AnnotationAudience                = AnnotationPrefix + "audience"
	AnnotationSTSRegional             = AnnotationPrefix + "sts-regional-endpoints"
	AnnotationTokenExpiration         = AnnotationPrefix + "token-expiration"
	AnnotationSkipContainers          = AnnotationPrefix + "skip-containers"
	LabelSkipPodIdentityWebhook       = AnnotationPrefix + "skip-pod-identity-webhook"
	DefaultAudience                   = "sts.amazonaws.com"
	DefaultTokenExpiration      int64 = 86400
	// MinTokenExpiration is the webhook's floor: lower values are raised to it.
	MinTokenExpiration int64 = 600
	// MaxTokenExpiration is the largest value enable accepts. The webhook does not cap larger
	// values and the apiserver then issues tokens valid for days, so status flags them.
	MaxTokenExpiration int64 = 86400
)

// KnownAudiences are the token audiences IAM OIDC providers list in practice: AWS's default,
// and ROSA's. An audience a letter or two away from one is most likely a typo of it.
var KnownAudiences = []string{DefaultAudience, "openshift"}

// IdentityAnnotations are the service account annotations enable writes and disable removes.
var IdentityAnnotations = []string{AnnotationRoleARN, AnnotationAudience, AnnotationSTSRegional, AnnotationTokenExpiration}

// Config is the identity a service account asks for through its annotations. What it leaves
// unset, the webhook's own flags decide (--token-audience, --token-expiration,
// --sts-regional-endpoint), and this tool never judges a pod by those.
type Config struct {
	RoleARN  string
	Audience string // empty: not set (the webhook's default, sts.amazonaws.com), unless AudienceSet
	// AudienceSet is true when the audience annotation is present, even empty: the webhook then
	// gives the token exactly that audience.
	AudienceSet bool
	// TokenExpiration in seconds; 0: not set, the webhook's default.
	TokenExpiration int64
	STSRegional     bool
}

// FromAnnotations reads the identity annotations as the webhook does: nothing is trimmed, the
// regional STS setting is a Go bool ("true", "True", "1"), and values that do not parse are
// ignored. A service account without a role ARN has no identity: ok is false.
func FromAnnotations(annotations map[string]string) (cfg Config, ok bool) {
	cfg.RoleARN = annotations[AnnotationRoleARN]
	if cfg.RoleARN == "" {
		return Config{}, false
	}
	cfg.Audience, cfg.AudienceSet = annotations[AnnotationAudience]
	if v, err := strconv.ParseInt(annotations[AnnotationTokenExpiration], 10, 64); err == nil {
		cfg.TokenExpiration = v
	}
	cfg.STSRegional, _ = strconv.ParseBool(annotations[AnnotationSTSRegional])
	return cfg, true
}

// Annotations renders cfg as the annotations enable writes: only the ones that differ from the
// webhook's defaults, so a default value leaves no annotation behind.
func (c Config) Annotations() map[string]string {
	a := map[string]string{AnnotationRoleARN: c.RoleARN}
	if c.AudienceSet || c.Audience != "" && c.Audience != DefaultAudience {
		// A value read from an annotation is written back as it was, even empty.
		a[AnnotationAudience] = c.Audience
	}
	if c.TokenExpiration != 0 {
		a[AnnotationTokenExpiration] = strconv.FormatInt(c.TokenExpiration, 10)
	}
	if c.STSRegional {
		a[AnnotationSTSRegional] = "true"
	}
	return a
}

// EffectiveAudience is the audience the webhook puts in the projected token, assuming its
// --token-audience is the default when the account sets none.
func (c Config) EffectiveAudience() string {
	aud, _ := c.AskedAudience()
	return aud
}

// AskedAudience is the token audience the account's annotation decides, and whether it decides
// one at all (set false: the webhook's flag decides, DefaultAudience unless changed).
func (c Config) AskedAudience() (aud string, set bool) {
	if !c.AudienceSet && (c.Audience == "" || c.Audience == DefaultAudience) {
		// Annotations writes no annotation for the default either.
		return DefaultAudience, false
	}
	return c.Audience, true
}

// EffectiveExpiration is the expirationSeconds the webhook puts on the projected token for a
// pod with the given annotations, assuming its --token-expiration is the default when neither
// annotation sets one.
func (c Config) EffectiveExpiration(podAnnotations map[string]string) int64 {
	exp, _ := c.AskedExpiration(podAnnotations)
	return exp
}

// AskedExpiration is the token lifetime that the annotations decide for a pod with
// podAnnotations: the pod's annotation wins over the account's, values below 600 are raised to
// 600, large values are kept. set is false when neither sets one: the webhook's flag decides.
func (c Config) AskedExpiration(podAnnotations map[string]string) (seconds int64, set bool) {
	exp := DefaultTokenExpiration
	if c.TokenExpiration != 0 {
		exp, set = c.TokenExpiration, true
	}
	if v, err := strconv.ParseInt(podAnnotations[AnnotationTokenExpiration], 10, 64); err == nil {
		exp, set = v, true
	}
	return max(exp, MinTokenExpiration), set
}

// ValidateTokenExpiration refuses values enable will not write, saying what the webhook would
// do with them.
func ValidateTokenExpiration(seconds int64) error {
	switch {
	case seconds < MinTokenExpiration:
		return fmt.Errorf("token expiration %d is below %d seconds: the webhook would silently raise it to %d; use a value from %d to %d",
			seconds, MinTokenExpiration, MinTokenExpiration, MinTokenExpiration, MaxTokenExpiration)
	case seconds > MaxTokenExpiration:
		return fmt.Errorf("token expiration %d is above %d seconds: the webhook would keep it and the apiserver would issue tokens valid for %.1f days; use a value from %d to %d",
			seconds, MaxTokenExpiration, float64(seconds)/86400, MinTokenExpiration, MaxTokenExpiration)
	}
	return nil
}
