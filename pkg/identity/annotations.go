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

// IdentityAnnotations are the service account annotations enable writes and disable removes.
var IdentityAnnotations = []string{AnnotationRoleARN, AnnotationAudience, AnnotationSTSRegional, AnnotationTokenExpiration}

// Config is the identity a service account asks for through its annotations.
type Config struct {
	RoleARN  string
	Audience string // empty: DefaultAudience
	// TokenExpiration in seconds; 0: the webhook's default.
	TokenExpiration int64
	STSRegional     bool
}

// FromAnnotations reads the identity annotations. A service account without a role ARN has no
// identity: ok is false. Unparseable optional values are ignored, as the webhook does.
func FromAnnotations(annotations map[string]string) (cfg Config, ok bool) {
	cfg.RoleARN = annotations[AnnotationRoleARN]
	if cfg.RoleARN == "" {
		return Config{}, false
	}
	cfg.Audience = annotations[AnnotationAudience]
	if v, err := strconv.ParseInt(annotations[AnnotationTokenExpiration], 10, 64); err == nil {
		cfg.TokenExpiration = v
	}
	cfg.STSRegional = annotations[AnnotationSTSRegional] == "true"
	return cfg, true
}

// Annotations renders cfg as the annotations enable writes: only the ones that differ from the
// webhook's defaults, so a default value leaves no annotation behind.
func (c Config) Annotations() map[string]string {
	a := map[string]string{AnnotationRoleARN: c.RoleARN}
	if c.Audience != "" && c.Audience != DefaultAudience {
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

// EffectiveAudience is the audience the webhook puts in the projected token.
func (c Config) EffectiveAudience() string {
	if c.Audience == "" {
		return DefaultAudience
	}
	return c.Audience
}

// EffectiveExpiration is the expirationSeconds the webhook puts on the projected token for a
// pod with the given annotations: the pod's annotation wins over the account's, values below
// 600 are raised to 600, and large values are kept.
func (c Config) EffectiveExpiration(podAnnotations map[string]string) int64 {
	exp := DefaultTokenExpiration
	if c.TokenExpiration != 0 {
		exp = c.TokenExpiration
	}
	if v, err := strconv.ParseInt(podAnnotations[AnnotationTokenExpiration], 10, 64); err == nil {
		exp = v
	}
	if exp < MinTokenExpiration {
		exp = MinTokenExpiration
	}
	return exp
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
