// Package awsv2 asks aws-sdk-go-v2 for credentials the way an app of that SDK does: the
// default config's credential chain (config and credentials modules).
package awsv2

import (
	"context"
	"io"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"

	"github.com/kubectl-wi/kubectl-wi/hack/testapps/sdkapp"
)

// Module is aws-sdk-go-v2's core module path, as build info names it; its config and
// credentials modules carry their own versions beside it.
const Module = "github.com/aws/aws-sdk-go-v2"

// Retrieve loads the SDK's default config and retrieves its credentials once. The SDK's
// logger writes to sdkLog, as its default one writes to stderr.
func Retrieve(ctx context.Context, sdkLog io.Writer) (sdkapp.Credentials, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithLogger(logging.NewStandardLogger(sdkLog)))
	if err != nil {
		return sdkapp.Credentials{}, err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return sdkapp.Credentials{}, err
	}
	c := sdkapp.Credentials{Source: creds.Source}
	if creds.CanExpire {
		c.Expires = creds.Expires
	}
	return c, nil
}
