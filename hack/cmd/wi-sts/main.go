// Command wi-sts runs the local AWS stand-in (STS, IAM, EKS, EKS Auth) for end-to-end tests
// (see package github.com/kubectl-wi/kubectl-wi/hack/sts).
//
//	wi-sts --config sts.yaml [--listen 127.0.0.1:0] [--tls-cert FILE --tls-key FILE]
//	       [--state associations.json] [--request-log requests.jsonl]
//	wi-sts --config sts.yaml --check
//
// With --check it only reads and checks the configuration, exiting 0 when it would load: a
// test asks the running stand-in's own binary before it writes a field an older one refuses.
// Once it listens it prints "listening on ADDR" to stderr, then one line per request. It
// reads the config file again when it changes, and writes IAM's changes to it. It stops on
// SIGTERM or SIGINT.
package main

import (
	"context"
	"crypto/tls"
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

	"github.com/kubectl-wi/kubectl-wi/hack/sts"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("wi-sts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "Configuration file (YAML or JSON): account, OIDC providers, roles, users, clusters")
	listen := fs.String("listen", "127.0.0.1:0", "Address to listen on, host:port (port 0 picks a free one)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file; plain HTTP when unset")
	tlsKey := fs.String("tls-key", "", "TLS private key file, with --tls-cert")
	statePath := fs.String("state", "", "File the EKS Pod Identity associations are kept in; in memory only when unset")
	requestLogPath := fs.String("request-log", "", "File to append one JSON line per request to (no secrets)")
	check := fs.Bool("check", false, "Only check the configuration and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *configPath == "" {
		return errors.New("--config is required")
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}

	cfg, err := sts.LoadConfig(*configPath)
	if err != nil || *check {
		return err
	}
	opts := []sts.Option{sts.WithLog(stderr), sts.WithConfigFile(*configPath)}
	if *statePath != "" {
		opts = append(opts, sts.WithStateFile(*statePath))
	}
	if *requestLogPath != "" {
		f, err := os.OpenFile(*requestLogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("failed to open the request log: %w", err)
		}
		defer f.Close()
		opts = append(opts, sts.WithRequestLog(f))
	}
	handler, err := sts.New(cfg, opts...)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	var tlsConfig *tls.Config
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return fmt.Errorf("failed to load TLS key pair: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", *listen, err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
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
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("failed to shut down: %w", err)
	}
	return nil
}
