// Command wi-webhook is a stand-in for the amazon-eks-pod-identity-webhook, for the project's
// end-to-end tests: a mutating admission webhook that injects AWS web identity into pods the way
// the real one does (see package hack/webhook).
//
// Usage:
//
//	wi-webhook --tls-cert server.crt --tls-key server.key --kubeconfig admin.kubeconfig \
//	    [--listen 127.0.0.1:9443] [--aws-default-region us-west-2] [--sts-regional-endpoint] \
//	    [--token-audience A] [--token-expiration S] [--cache-lag 1s] \
//	    [--watch-container-credentials-config associations.json] \
//	    [--register --ca-file ca.crt [--unregister-on-exit]]
//
// The flags that change what every pod gets carry the real webhook's names and defaults.
// --cache-lag is the stand-in's own: it delays every change to a service account before the
// cache sees it, to reproduce on one machine the window in which EKS's webhook admits a pod from
// an account it has not caught up with.
//
// It prints "listening on ADDR" to stderr once it serves; with --register, only once the
// MutatingWebhookConfiguration is in place and the apiserver has been seen calling the webhook
// (bounded by --register-wait), so a harness can wait for that one line. It logs one line per
// admission to stderr and stops on SIGTERM or SIGINT.
//
// --print-registration writes the MutatingWebhookConfiguration as YAML to stdout and exits,
// for `kubectl apply -f -`.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/hack/webhook"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.As(err, new(usageError)):
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

type usageError struct{ error }

type options struct {
	listen, tlsCert, tlsKey, kubeconfig string
	cfg                                 webhook.Config

	cacheLag, grace, resync time.Duration
	associationsFile        string

	register, unregisterOnExit, printRegistration bool
	caFile, name, url, readinessNamespace         string
	registerWait                                  time.Duration
}

func parse(args []string, stderr io.Writer) (*options, error) {
	o := &options{cfg: webhook.DefaultConfig()}
	fs := flag.NewFlagSet("wi-webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:9443", "Address to serve HTTPS on (port 0 picks a free one)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "Serving certificate, PEM (required)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "Key of the serving certificate, PEM (required)")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Kubeconfig to read service accounts with (default: $KUBECONFIG, ~/.kube/config or in-cluster)")
	fs.StringVar(&o.cfg.AnnotationPrefix, "annotation-prefix", o.cfg.AnnotationPrefix, "Prefix of the annotations and labels the webhook reads")
	fs.StringVar(&o.cfg.DefaultAudience, "token-audience", o.cfg.DefaultAudience, "Token audience when the service account has no audience annotation")
	fs.StringVar(&o.cfg.DefaultRegion, "aws-default-region", "", "When set, inject AWS_DEFAULT_REGION and AWS_REGION with this value into containers that set neither")
	fs.StringVar(&o.cfg.MountPath, "token-mount-path", o.cfg.MountPath, "Directory the token volume is mounted at")
	fs.Int64Var(&o.cfg.DefaultExpiration, "token-expiration", o.cfg.DefaultExpiration, "Token expirationSeconds when neither the pod nor the service account sets one (raised to 600)")
	fs.BoolVar(&o.cfg.RegionalSTS, "sts-regional-endpoint", false, "Inject AWS_STS_REGIONAL_ENDPOINTS=regional into every mutated container unless the account's annotation says otherwise")
	fs.StringVar(&o.associationsFile, "watch-container-credentials-config", "", "File of Pod Identity associations ({\"identities\":[{\"namespace\":...,\"serviceAccount\":...}]}), watched for changes")
	fs.StringVar(&o.cfg.Credentials.Audience, "container-credentials-audience", o.cfg.Credentials.Audience, "Token audience in container credentials mode")
	fs.StringVar(&o.cfg.Credentials.MountPath, "container-credentials-token-mount-path", o.cfg.Credentials.MountPath, "Directory the container credentials token volume is mounted at")
	fs.StringVar(&o.cfg.Credentials.VolumeName, "container-credentials-token-volume-name", o.cfg.Credentials.VolumeName, "Name of the container credentials token volume")
	fs.StringVar(&o.cfg.Credentials.TokenPath, "container-credentials-token-path", o.cfg.Credentials.TokenPath, "File name of the container credentials token")
	fs.StringVar(&o.cfg.Credentials.FullURI, "container-credentials-full-uri", o.cfg.Credentials.FullURI, "AWS_CONTAINER_CREDENTIALS_FULL_URI injected in container credentials mode")
	fs.DurationVar(&o.grace, "service-account-lookup-grace-period", 0, "How long a pod whose account the cache does not hold may wait for it to be fetched (0: not at all)")
	fs.DurationVar(&o.resync, "resync-period", 60*time.Second, "Resync period of the service account informer")
	fs.DurationVar(&o.cacheLag, "cache-lag", 0, "Stand-in only: delay every service account change by this much before the cache sees it")
	fs.BoolVar(&o.register, "register", false, "Once serving, create or update the MutatingWebhookConfiguration")
	fs.BoolVar(&o.unregisterOnExit, "unregister-on-exit", false, "On SIGTERM or SIGINT, delete the MutatingWebhookConfiguration before stopping")
	fs.BoolVar(&o.printRegistration, "print-registration", false, "Print the MutatingWebhookConfiguration as YAML to stdout and exit")
	fs.StringVar(&o.caFile, "ca-file", "", "CA bundle for the configuration's caBundle, PEM (default: --tls-cert, right for a self-signed certificate)")
	fs.StringVar(&o.name, "registration-name", "pod-identity-webhook", "Name of the MutatingWebhookConfiguration")
	fs.StringVar(&o.url, "webhook-url", "", "URL the apiserver calls (default: https://LISTEN-ADDRESS/mutate)")
	fs.DurationVar(&o.registerWait, "register-wait", 30*time.Second, "With --register, how long to wait for the apiserver to call the webhook (0: do not wait)")
	fs.StringVar(&o.readinessNamespace, "readiness-namespace", "default", "Namespace of the dry-run pod that checks the apiserver calls the webhook")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	if o.caFile == "" {
		o.caFile = o.tlsCert
	}
	switch {
	case o.printRegistration && o.caFile == "":
		return nil, usageError{errors.New("--print-registration needs --ca-file or --tls-cert")}
	case o.printRegistration:
	case o.tlsCert == "" || o.tlsKey == "":
		return nil, usageError{errors.New("--tls-cert and --tls-key are required")}
	}
	if o.cfg.DefaultExpiration <= 0 {
		return nil, usageError{fmt.Errorf("--token-expiration must be positive, got %d", o.cfg.DefaultExpiration)}
	}
	o.cfg.DefaultExpiration = max(o.cfg.DefaultExpiration, webhook.MinExpiration)
	if o.cfg.AnnotationPrefix == "" || o.cfg.MountPath == "" || o.cfg.DefaultAudience == "" {
		return nil, usageError{errors.New("--annotation-prefix, --token-audience and --token-mount-path must not be empty")}
	}
	return o, nil
}

func (o *options) registration(addr string) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	ca, err := os.ReadFile(o.caFile)
	if err != nil {
		return nil, fmt.Errorf("failed to read the CA bundle: %w", err)
	}
	url := o.url
	if url == "" {
		url = "https://" + addr + "/mutate"
	}
	return webhook.RegistrationFor(o.cfg, o.name, url, ca), nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.printRegistration {
		reg, err := o.registration(o.listen)
		if err != nil {
			return err
		}
		out, err := yaml.Marshal(reg)
		if err != nil {
			return fmt.Errorf("failed to encode the registration: %w", err)
		}
		_, err = stdout.Write(out)
		return err
	}

	cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return fmt.Errorf("failed to load the serving certificate: %w", err)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	restConfig, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return fmt.Errorf("failed to load kubeconfig: %w", err)
	}
	// One service account read per admission: client-go's default 5 QPS would queue bulk pod
	// creation (benchmarks create thousands) behind the webhook.
	restConfig.QPS, restConfig.Burst = 200, 400
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return fmt.Errorf("failed to build a client: %w", err)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("failed to listen: %w", err)
	}
	addr := ln.Addr().String()
	cache := webhook.NewCache(o.cfg, o.cacheLag)
	if err := cache.Run(ctx, client, o.resync); err != nil {
		return err
	}
	handler := webhook.NewHandler(cache, o.cfg, stderr)
	handler.Grace = o.grace
	handler.Fetch = func(ctx context.Context, ns, name string) (*corev1.ServiceAccount, error) {
		sa, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			cache.Add(sa)
		}
		return sa, err
	}
	if o.associationsFile != "" {
		handler.Associations = &webhook.Associations{}
		logf := func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
		if err := handler.Associations.Watch(ctx, o.associationsFile, 500*time.Millisecond, logf); err != nil {
			return err
		}
	}
	// The server outlives ctx: on a signal the configuration is deleted first, so the apiserver
	// stops calling before the server stops answering.
	serveCtx, stopServing := context.WithCancel(context.Background())
	defer stopServing()
	errc := make(chan error, 1)
	go func() { errc <- webhook.Serve(serveCtx, ln, handler.Mux(), cert, stderr) }()

	if o.register {
		if err := o.registerAndWait(ctx, client, addr, handler, stderr); err != nil {
			stopServing()
			<-errc
			return err
		}
	}
	fmt.Fprintf(stderr, "listening on %s\n", addr)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	var unregErr error
	if o.unregisterOnExit {
		delCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		unregErr = webhook.Unregister(delCtx, client, o.name)
		cancel()
		if unregErr == nil {
			fmt.Fprintf(stderr, "deleted mutatingwebhookconfiguration %s\n", o.name)
		}
	}
	stopServing()
	return errors.Join(unregErr, <-errc)
}

func (o *options) registerAndWait(ctx context.Context, client kubernetes.Interface, addr string, handler *webhook.Handler, stderr io.Writer) error {
	reg, err := o.registration(addr)
	if err != nil {
		return err
	}
	if err := webhook.Register(ctx, client, reg); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "registered mutatingwebhookconfiguration %s for %s\n", reg.Name, *reg.Webhooks[0].ClientConfig.URL)
	if o.registerWait <= 0 {
		return nil
	}
	waitCtx, cancel := context.WithTimeout(ctx, o.registerWait)
	defer cancel()
	if err := webhook.WaitUntilCalled(waitCtx, client, o.readinessNamespace, 250*time.Millisecond, func() bool { return handler.Admissions() > 0 }); err != nil {
		if ctx.Err() != nil {
			return nil // interrupted: the caller shuts down
		}
		fmt.Fprintf(stderr, "warning: %v\n", err)
		return nil
	}
	fmt.Fprintf(stderr, "the apiserver calls the webhook\n")
	return nil
}
