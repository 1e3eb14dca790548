package agent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// The real agent checks a token with golang-jwt/jwt v5.2.2 (its go.mod): ParseUnverified into
// RegisteredClaims, then Validator.Validate with no options (internal/validation/request.go).
// These words are that library's (errors.go, parser.go, validator.go, types.go of v5.2.2), so
// the agent's 400 answers read the same.
const (
	jwtMalformed     = "token is malformed"
	jwtUnverifiable  = "token is unverifiable"
	jwtExpired       = "token is expired"
	jwtNotValidYet   = "token is not valid yet"
	jwtInvalidClaim  = "invalid type for claim"
	tokenEmptyMsg    = "Service account token cannot be empty"
	tokenParseMsg    = "Service account token cannot be parsed: "
	tokenClaimsMsg   = "Service account token failed basic claim validations: "
	numericDateError = "could not parse NumericData: "
)

// jwtSigningMethods are the algorithms golang-jwt registers; another alg is "unavailable".
var jwtSigningMethods = map[string]bool{
	"HS256": true, "HS384": true, "HS512": true, "RS256": true, "RS384": true, "RS512": true,
	"ES256": true, "ES384": true, "ES512": true, "PS256": true, "PS384": true, "PS512": true,
	"EdDSA": true, "none": true,
}

// RegisteredClaims are the claims the real agent decodes; the type's name and JSON names are
// golang-jwt's, so a JSON type error reads as the library's does.
type RegisteredClaims struct {
	Issuer    string       `json:"iss,omitempty"`
	Subject   string       `json:"sub,omitempty"`
	Audience  claimStrings `json:"aud,omitempty"`
	ExpiresAt *numericDate `json:"exp,omitempty"`
	NotBefore *numericDate `json:"nbf,omitempty"`
	IssuedAt  *numericDate `json:"iat,omitempty"`
	ID        string       `json:"jti,omitempty"`
}

// numericDate is a JWT time, seconds since the epoch, whole seconds as golang-jwt keeps them.
type numericDate struct{ time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf(numericDateError+"%w", err)
	}
	f, err := n.Float64()
	if err != nil {
		return fmt.Errorf("could not convert json number value to float: %w", err)
	}
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9)).Truncate(time.Second)
	return nil
}

// claimStrings is "aud": a string or an array of strings.
type claimStrings []string

func (s *claimStrings) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		*s = claimStrings{v}
	case []any:
		out := make(claimStrings, 0, len(v))
		for _, e := range v {
			str, ok := e.(string)
			if !ok {
				return errors.New(jwtInvalidClaim)
			}
			out = append(out, str)
		}
		*s = out
	default:
		return errors.New(jwtInvalidClaim)
	}
	return nil
}

// checkToken makes the real agent's checks before it calls EKS Auth and returns its 400
// message, or "" when the token passes. The message never quotes the token.
func checkToken(token string, now time.Time) string {
	if token == "" {
		return tokenEmptyMsg
	}
	claims, err := parseUnverified(token)
	if err != nil {
		return tokenParseMsg + err.Error()
	}
	var errs []string
	if claims.ExpiresAt != nil && !now.Before(claims.ExpiresAt.Time) {
		errs = append(errs, jwtExpired)
	}
	if claims.NotBefore != nil && now.Before(claims.NotBefore.Time) {
		errs = append(errs, jwtNotValidYet)
	}
	if len(errs) > 0 {
		return tokenClaimsMsg + strings.Join(errs, ", ")
	}
	return ""
}

// parseUnverified splits and decodes a JWT as golang-jwt's Parser.ParseUnverified does, with
// its error words; the signature is not checked (EKS Auth checks it).
func parseUnverified(token string) (*RegisteredClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New(jwtMalformed + ": token contains an invalid number of segments")
	}
	header, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%s: could not base64 decode header: %w", jwtMalformed, err)
	}
	var h map[string]any
	if err := json.Unmarshal(header, &h); err != nil {
		return nil, fmt.Errorf("%s: could not JSON decode header: %w", jwtMalformed, err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%s: could not base64 decode claim: %w", jwtMalformed, err)
	}
	var c RegisteredClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%s: could not JSON decode claim: %w", jwtMalformed, err)
	}
	alg, ok := h["alg"].(string)
	switch {
	case !ok:
		return nil, errors.New(jwtUnverifiable + ": signing method (alg) is unspecified")
	case !jwtSigningMethods[alg]:
		return nil, errors.New(jwtUnverifiable + ": signing method (alg) is unavailable")
	}
	return &c, nil
}
