// Package awsv1 asks aws-sdk-go (v1) for credentials the way an app of that SDK does: a
// session's default chain. Which v1 release it runs is the app module's choice: this module
// requires the oldest one an app uses, so each app's go.mod decides.
package awsv1

import (
	"context"
	"io"
	"log"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/session"

	"github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp"
)

// Module is aws-sdk-go's module path, as build info names it.
const Module = "github.com/aws/aws-sdk-go"

// Retrieve creates a session with the SDK's defaults and gets its credentials once. The
// session's logger writes as the SDK's default one does (a timestamp, the arguments as
// Println joins them), only to sdkLog instead of the process's stdout.
func Retrieve(ctx context.Context, sdkLog io.Writer) (sdkapp.Credentials, error) {
	logger := log.New(sdkLog, "", log.LstdFlags)
	sess, err := session.NewSession(&aws.Config{Logger: aws.LoggerFunc(func(args ...any) { logger.Println(args...) })})
	if err != nil {
		return sdkapp.Credentials{}, err
	}
	v, err := sess.Config.Credentials.GetWithContext(ctx)
	if err != nil {
		return sdkapp.Credentials{}, err
	}
	c := sdkapp.Credentials{Source: v.ProviderName}
	if exp, err := sess.Config.Credentials.ExpiresAt(); err == nil {
		c.Expires = exp
	}
	return c, nil
}
