// Command wi-agent runs the local EKS Pod Identity agent stand-in for end-to-end tests (see
// package github.com/kubectl-wi/kubectl-wi/hack/agent).
//
//	AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... wi-agent --cluster-name local \
//	  --endpoint https://10.244.0.1:8900 --region us-west-2 --ca-file ca.crt [--listen 169.254.170.23:80]
//
// The node's credentials come from the environment, as the real agent's SDK reads them, never
// from a flag. Once it listens it prints "listening on ADDR" to stderr, then one line per
// request. It stops on SIGTERM or SIGINT.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/kubectl-wi/kubectl-wi/hack/agent"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("wi-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", agent.IPv4Host+":80", "Address to listen on, host:port")
	cluster := fs.String("cluster-name", "", "Name of the EKS cluster the node belongs to")
	endpoint := fs.String("endpoint", "", "EKS Auth endpoint, https://HOST:PORT")
	region := fs.String("region", "", "Region EKS Auth requests are signed for")
	caFile := fs.String("ca-file", "", "PEM bundle trusted for EKS Auth's TLS; the system roots when unset")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	keyID, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if keyID == "" || secret == "" {
		return errors.New("the node's credentials are missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // EKS Auth is the test bed's own; never through a proxy from the environment
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("failed to read --ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca-file %s holds no PEM certificate", *caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	a, err := agent.New(agent.Config{
		ClusterName: *cluster, Endpoint: *endpoint, Region: *region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN"), Source: "environment"}, nil
		}),
		HTTPClient: &http.Client{Transport: tr},
		Log:        stderr,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stderr, "listening on %s\n", ln.Addr())
	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
