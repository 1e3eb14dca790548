package explain

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
)

// The STS actions of --exchange.
const (
	ActionAssumeRoleWithWebIdentity = "sts:AssumeRoleWithWebIdentity"
	ActionGetCallerIdentity         = "sts:GetCallerIdentity"
)

// SessionName is the role session name of an exchange, so CloudTrail tells it from a pod's.
const SessionName = "kubectl-wi-explain"

// Exchanged is what an exchange proved. The session's credentials are not in it: they never
// leave the STS implementation.
type Exchanged struct {
	AssumedRoleARN string // the session STS issued: arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION
	CallerARN      string // GetCallerIdentity with the session's credentials
	CallerErr      error  // GetCallerIdentity's failure; the exchange itself succeeded
}

// STS exchanges a service account token for a role session and checks who the session is.
type STS interface {
	// Exchange calls AssumeRoleWithWebIdentity with token, then GetCallerIdentity with the
	// session's credentials, and forgets them. The error is AssumeRoleWithWebIdentity's.
	Exchange(ctx context.Context, roleARN, token string) (Exchanged, error)
}

// SDKSTS is STS through the AWS SDK: the user's configuration for the endpoint, region and
// CA bundle, and no credentials of the user's (AssumeRoleWithWebIdentity is not signed).
type SDKSTS struct {
	client *sts.Client
}

// NewSTS builds the client; without a region it uses STS in awsconfig.GlobalRegion.
func NewSTS(cfg aws.Config) *SDKSTS {
	c := cfg.Copy()
	if c.Region == "" {
		c.Region = awsconfig.GlobalRegion
	}
	c.Credentials = aws.AnonymousCredentials{}
	return &SDKSTS{client: sts.NewFromConfig(c)}
}

// Exchange implements STS.
func (s *SDKSTS) Exchange(ctx context.Context, roleARN, token string) (Exchanged, error) {
	out, err := s.client.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String(SessionName), WebIdentityToken: aws.String(token),
		DurationSeconds: aws.Int32(900), // the shortest STS issues: nothing uses them
	})
	if err != nil {
		return Exchanged{}, awsconfig.Wrap(err, ActionAssumeRoleWithWebIdentity, roleARN)
	}
	var got Exchanged
	if out.AssumedRoleUser != nil {
		got.AssumedRoleARN = aws.ToString(out.AssumedRoleUser.Arn)
	}
	if out.Credentials == nil {
		got.CallerErr = errors.New("STS returned no credentials")
		return got, nil
	}
	creds := credentials.NewStaticCredentialsProvider(aws.ToString(out.Credentials.AccessKeyId),
		aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
	who, err := s.client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) { o.Credentials = creds })
	if err != nil {
		got.CallerErr = awsconfig.Wrap(err, ActionGetCallerIdentity, "")
		return got, nil
	}
	got.CallerARN = aws.ToString(who.Arn)
	return got, nil
}
