package applog

import (
	"regexp"
	"strings"
	"testing"
)

// Example values from AWS's documentation: the secret values of each case must be gone from
// the result, and what a reader needs (ARNs, paths, codes, request IDs) must stay.
const (
	exampleKeyID   = "AKIAIOSFODNN7EXAMPLE"
	exampleTempID  = "ASIAIOSFODNN7EXAMPLE"
	exampleSecret  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	exampleSession = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexample1"
	exampleJWT     = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImV4YW1wbGUifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6c2hvcDp3ZWIifQ.c2lnbmF0dXJlLWV4YW1wbGU"
	exampleSigV4   = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
)

func TestRedact(t *testing.T) {
	for _, tt := range []struct {
		name    string
		line    string
		secrets []string
		keep    []string
	}{
		{name: "logfmt keys",
			line:    "aws_access_key_id=" + exampleKeyID + " aws_secret_access_key=" + exampleSecret + " aws_session_token=" + exampleSession,
			secrets: []string{exampleKeyID, exampleSecret, exampleSession},
			keep:    []string{"aws_secret_access_key=", "AKIA"}},
		{name: "the agent's answer as JSON",
			line:    `{"AccessKeyId":"` + exampleTempID + `","SecretAccessKey":"` + exampleSecret + `","Token":"` + exampleSession + `","AccountId":"111122223333","Expiration":"2024-01-01T00:00:00Z"}`,
			secrets: []string{exampleTempID, exampleSecret, exampleSession},
			keep:    []string{`"AccountId":"111122223333"`, `"Expiration":"2024-01-01T00:00:00Z"`}},
		{name: "a python repr",
			line:    `{'AccessKeyId': '` + exampleTempID + `', 'SecretAccessKey': '` + exampleSecret + `', 'SessionToken': '` + exampleSession + `'}`,
			secrets: []string{exampleTempID, exampleSecret, exampleSession}},
		{name: "the pod identity token as a header",
			line:    "GET /v1/credentials Authorization: " + exampleJWT + " status=403",
			secrets: []string{exampleJWT, "eyJ"}},
		{name: "a SigV4 header",
			line:    `"Authorization": "AWS4-HMAC-SHA256 Credential=` + exampleKeyID + `/20240101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date, Signature=` + exampleSigV4 + `"`,
			secrets: []string{exampleKeyID, exampleSigV4}},
		{name: "a presigned URL",
			line:    "GET https://bucket.s3.amazonaws.com/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + exampleTempID + "%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2F%2FwEaCXVzLWVhc3QtMSJHMEUCIQ&X-Amz-Signature=" + exampleSigV4,
			secrets: []string{exampleTempID, "IQoJb3JpZ2luX2VjEJr", "wEaCXVzLWVhc3QtMSJHMEUCIQ", exampleSigV4},
			keep:    []string{"https://bucket.s3.amazonaws.com/key", "X-Amz-Algorithm=AWS4-HMAC-SHA256"}},
		{name: "a yaml key", line: "aws_session_token: " + exampleSession, secrets: []string{exampleSession}},
		{name: "a header of the session token", line: "X-Amz-Security-Token: " + exampleSession, secrets: []string{exampleSession}},
		{name: "a secret key in prose", line: "uploading with key " + exampleSecret + " to s3", secrets: []string{exampleSecret}, keep: []string{"uploading with key", "to s3"}},
		{name: "a bare jwt", line: "token " + exampleJWT + " rejected", secrets: []string{exampleJWT}, keep: []string{"rejected"}},
		{name: "a password", line: `db connect password="hunter2 and more" host=db`, secrets: []string{"hunter2"}, keep: []string{"host=db"}},
		{name: "an error stays readable",
			line: `AccessDenied: User: arn:aws:sts::123456789012:assumed-role/eksctl-prod-nodegroup-ng-1-NodeInstanceRole-1A2B3C4D5E6F/i-068a7d585ad916589 is not authorized to perform: s3:GetObject, request id: ef27c9bd-e129-44ca-bbbe-839cdcc3e840`,
			keep: []string{"assumed-role/eksctl-prod-nodegroup-ng-1-NodeInstanceRole-1A2B3C4D5E6F/i-068a7d585ad916589", "ef27c9bd-e129-44ca-bbbe-839cdcc3e840", "s3:GetObject"}},
		{name: "where the token is stays readable",
			line: "AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token WebIdentityErr: failed fetching WebIdentity token: caused by: unable to read file",
			keep: []string{"AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/eks.amazonaws.com/serviceaccount/token", "failed fetching WebIdentity token: caused by"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.line)
			for _, s := range tt.secrets {
				if strings.Contains(got, s) {
					t.Errorf("Redact() keeps %q: %s", s, got)
				}
			}
			for _, k := range tt.keep {
				if !strings.Contains(got, k) {
					t.Errorf("Redact() lost %q: %s", k, got)
				}
			}
			if again := Redact(got); again != got {
				t.Errorf("Redact() is not idempotent:\n%s\n%s", got, again)
			}
		})
	}
}

var leftoverKeyID = regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{16}\b`)

// No input makes Redact keep an access key ID or a JWT, or change what it already redacted.
func FuzzRedact(f *testing.F) {
	f.Add("aws_access_key_id=" + exampleKeyID + " aws_secret_access_key=" + exampleSecret)
	f.Add(`{"Token":"` + exampleSession + `","AccessKeyId":"` + exampleTempID + `"}`)
	f.Add("Authorization: " + exampleJWT)
	f.Add(`'SessionToken': '` + exampleSession + `'`)
	f.Add("NoCredentialProviders: no valid providers in chain")
	f.Fuzz(func(t *testing.T, line string) {
		got := Redact(line)
		if m := leftoverKeyID.FindString(got); m != "" {
			t.Errorf("Redact(%q) keeps the key ID %s", line, m)
		}
		if jwt.MatchString(got) {
			t.Errorf("Redact(%q) keeps a JWT: %s", line, got)
		}
		if again := Redact(got); again != got {
			t.Errorf("Redact is not idempotent on %q:\n%q\n%q", line, got, again)
		}
	})
}

var jwt = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.`)
