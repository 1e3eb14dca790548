// Command kubectl-wi is the kubectl plugin `kubectl wi`: one-command setup and proof of AWS
// workload identity for Kubernetes pods.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-wi/kubectl-wi/pkg/plugin"
)

func main() {
	stopProfile := startProfile()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	code := plugin.Main(ctx, streams, os.Args[1:])
	stop()
	stopProfile()
	os.Exit(code)
}
