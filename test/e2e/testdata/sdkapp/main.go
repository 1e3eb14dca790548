// Command sdkapp is the app of the in-pod end-to-end tests: a Go program that links the AWS
// SDK for Go v2's default credential chain, as an app of a user does, loads its configuration
// once and then waits to be stopped. The in-pod probe finds the SDK in its build info.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if _, err := config.LoadDefaultConfig(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	<-ctx.Done()
}
