package plugin

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsconfig"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// fakeDeps are the deps of a command's unit test: client for the cluster, a kubeconfig that
// names no EKS cluster, no terminal, no custom resource clients, no AWS (withoutAWS), and an
// empty environment.
func fakeDeps(client kubernetes.Interface) deps {
	d := defaultDeps()
	d.newClient = func(*genericclioptions.ConfigFlags) (kubernetes.Interface, error) { return client, nil }
	d.newCustom = nil
	d.kubeconfig = kubeconfigOf(func() (clientcmdapi.Config, error) { return clientcmdapi.Config{}, nil })
	withoutAWS(&d)
	d.explainRefusal = nil
	d.isTerminal = func(io.Writer) bool { return false }
	d.env = environment{}
	return d
}

// errNoAWS is the AWS configuration of a unit test that fakes none.
var errNoAWS = errors.New("no AWS configuration in a unit test")

// withoutAWS makes d's AWS configuration fail at once, so no test loads the developer's
// (profiles, credentials, region) or reaches AWS; a test that needs AWS fakes loadAWS and the
// clients built on it.
func withoutAWS(d *deps) {
	d.loadAWS = func(context.Context, awsconfig.Options) (aws.Config, error) { return aws.Config{}, errNoAWS }
	d.podIdentityClient, d.associationReader, d.explainClients = nil, nil, nil
}

// kubeconfigOf is a deps.kubeconfig that reads raw, whatever the flags.
func kubeconfigOf(raw func() (clientcmdapi.Config, error)) func(*genericclioptions.ConfigFlags) func() (clientcmdapi.Config, error) {
	return func(*genericclioptions.ConfigFlags) func() (clientcmdapi.Config, error) { return raw }
}

// TestNewAWS: the EKS and IAM client is built on loadAWS's configuration with the flags'
// options; an unknown profile is bad input (exit 2), a configuration without a region a
// flag error, any other failure the run's.
func TestNewAWS(t *testing.T) {
	loadFailed := errors.New("failed to load the AWS configuration: boom")
	tests := []struct {
		name       string
		cfg        aws.Config
		err        error
		wantInput  bool
		wantFlag   bool
		wantErr    error
		wantClient bool
	}{
		{name: "built on the loaded configuration", cfg: aws.Config{Region: "eu-west-1"}, wantClient: true},
		{name: "unknown profile", err: &awsconfig.ProfileError{Err: errors.New("no profile")}, wantInput: true},
		{name: "no region", cfg: aws.Config{}, wantFlag: true},
		{name: "load fails", err: loadFailed, wantErr: loadFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := awsconfig.Options{Profile: "dev", Region: "eu-west-1"}
			f := awstest.New()
			var asked []awsconfig.Options
			var builtOn []aws.Config
			d := deps{
				loadAWS: func(_ context.Context, o awsconfig.Options) (aws.Config, error) {
					asked = append(asked, o)
					return tt.cfg, tt.err
				},
				podIdentityClient: func(cfg aws.Config) podidentity.AWS {
					builtOn = append(builtOn, cfg)
					return f
				},
			}
			got, err := d.newAWS(context.Background(), opts)
			if len(asked) != 1 || asked[0] != opts {
				t.Errorf("loadAWS asked %+v, want once %+v", asked, opts)
			}
			var in *InputError
			var fe *FlagError
			switch {
			case tt.wantInput && !errors.As(err, &in):
				t.Errorf("err %v, want an InputError", err)
			case tt.wantFlag && !errors.As(err, &fe):
				t.Errorf("err %v, want a FlagError", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("err %v, want %v", err, tt.wantErr)
			case tt.wantClient && (err != nil || got != podidentity.AWS(f) || len(builtOn) != 1 || builtOn[0].Region != tt.cfg.Region):
				t.Errorf("got %v, %v, built on %+v; want the client on the loaded configuration", got, err, builtOn)
			case !tt.wantClient && (got != nil || len(builtOn) != 0):
				t.Errorf("a client was built (%v) although loading failed", builtOn)
			}
		})
	}
}
