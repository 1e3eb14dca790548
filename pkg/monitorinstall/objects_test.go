package monitorinstall

import (
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// validConfig is a Config that passes Validate.
func validConfig() Config {
	return Config{
		Namespace: DefaultNamespace, Image: "ghcr.io/kubectl-wi/kubectl-wi-plugin:v1.2.3", Replicas: 1,
		Interval: 15 * time.Minute, Parallel: 2, StaleFor: 30 * time.Minute,
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string
	}{
		{name: "defaults", change: func(*Config) {}},
		{name: "namespaced with a cluster name and a role", change: func(c *Config) {
			c.Namespaces = []string{"shop", "billing"}
			c.ClusterName = "prod-eu"
			c.AWSRoleARN = "arn:aws:iam::111122223333:role/kubectl-wi-monitor"
		}},
		{name: "bad namespace", change: func(c *Config) { c.Namespace = "Kube_WI" }, wantErr: `namespace "Kube_WI"`},
		{name: "bad watched namespace", change: func(c *Config) { c.Namespaces = []string{"ok", "no/slash"} }, wantErr: `--namespaces "no/slash"`},
		{name: "no image", change: func(c *Config) { c.Image = "" }, wantErr: "the image is empty"},
		{name: "no replicas", change: func(c *Config) { c.Replicas = 0 }, wantErr: "--replicas 0"},
		{name: "interval too short", change: func(c *Config) { c.Interval = 500 * time.Millisecond }, wantErr: "--interval 500ms"},
		{name: "no parallelism", change: func(c *Config) { c.Parallel = 0 }, wantErr: "--parallel 0"},
		{name: "negative budget", change: func(c *Config) { c.Budget = -1 }, wantErr: "--budget -1"},
		{name: "stale-for too short", change: func(c *Config) { c.StaleFor = time.Second }, wantErr: "--stale-for 1s"},
		{name: "cluster name with a space", change: func(c *Config) { c.ClusterName = "prod eu" }, wantErr: `--cluster-name "prod eu"`},
		{name: "role ARN of a user", change: func(c *Config) { c.AWSRoleARN = "arn:aws:iam::111122223333:user/jane" }, wantErr: "--aws-role-arn"},
		{name: "endpoint without a scheme", change: func(c *Config) { c.AWSEndpointURLs = map[string]string{"sts": "sts.internal.example"} }, wantErr: `--aws-endpoint-url sts="sts.internal.example"`},
		{name: "endpoint of a service the monitor does not call", change: func(c *Config) { c.AWSEndpointURLs = map[string]string{"s3": "https://s3.internal.example"} }, wantErr: "the monitor calls only eks, iam, sts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.change(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestManifests(t *testing.T) {
	defaultKinds := []string{
		"Namespace//kubectl-wi-system", "ServiceAccount/kubectl-wi-system/kubectl-wi-monitor",
		"ClusterRole//kubectl-wi-monitor", "ClusterRoleBinding//kubectl-wi-monitor",
		"Role/kubectl-wi-system/kubectl-wi-monitor-self", "RoleBinding/kubectl-wi-system/kubectl-wi-monitor-self",
		"Role/kube-system/kubectl-wi-monitor-agent", "RoleBinding/kube-system/kubectl-wi-monitor-agent",
		"Service/kubectl-wi-system/kubectl-wi-monitor", "Deployment/kubectl-wi-system/kubectl-wi-monitor",
	}
	tests := []struct {
		name       string
		change     func(*Config)
		rules      bool
		wantKinds  []string // kind/namespace/name
		wantArgs   []string // among the container's args
		wantNoArgs []string
		wantEnv    map[string]string // name -> value ("" for a field ref)
		wantNoEnv  []string
		wantRoleSA string
	}{
		{
			name:       "cluster-wide",
			wantKinds:  defaultKinds,
			wantArgs:   []string{"monitor", "run", "--interval=15m0s", "--parallel=2", "--budget=0", "--metrics-addr=:8080"},
			wantNoArgs: []string{"--namespaces", "--cluster-name", "--ca-bundle", "--eks-cluster", "--region"},
			wantEnv:    map[string]string{"POD_NAMESPACE": "", "POD_NAME": "", "AWS_EC2_METADATA_DISABLED": "true"},
			wantNoEnv:  []string{"AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE"},
		},
		{
			name: "namespaced, with a role, a cluster name, a CA bundle and the rules",
			change: func(c *Config) {
				c.Namespace = "monitoring"
				c.Namespaces = []string{"shop", "billing", "shop"}
				c.ClusterName = "prod-eu"
				c.AWSRoleARN = "arn:aws:iam::111122223333:role/kubectl-wi-monitor"
				c.STSEndpoint = "https://10.244.0.1:8900"
				c.CABundle = []byte("PEM")
				c.Interval = 20 * time.Second
				c.EKSCluster, c.Region = "prod", "eu-west-1"
			},
			rules: true,
			wantKinds: []string{
				"Namespace//monitoring", "ServiceAccount/monitoring/kubectl-wi-monitor", "ConfigMap/monitoring/kubectl-wi-monitor-ca",
				"Role/billing/kubectl-wi-monitor", "RoleBinding/billing/kubectl-wi-monitor",
				"Role/shop/kubectl-wi-monitor", "RoleBinding/shop/kubectl-wi-monitor",
				"ClusterRole//kubectl-wi-monitor", "ClusterRoleBinding//kubectl-wi-monitor",
				"Role/monitoring/kubectl-wi-monitor-self", "RoleBinding/monitoring/kubectl-wi-monitor-self",
				"Role/kube-system/kubectl-wi-monitor-agent", "RoleBinding/kube-system/kubectl-wi-monitor-agent",
				"Service/monitoring/kubectl-wi-monitor", "Deployment/monitoring/kubectl-wi-monitor",
				"PrometheusRule/monitoring/kubectl-wi-monitor",
			},
			wantArgs: []string{"--interval=20s", "--namespaces=shop", "--namespaces=billing", "--cluster-name=prod-eu",
				"--sts-endpoint=https://10.244.0.1:8900", "--ca-bundle=/etc/kubectl-wi/ca/ca-bundle.pem",
				"--eks-cluster=prod", "--region=eu-west-1"},
			wantEnv:    map[string]string{"AWS_EC2_METADATA_DISABLED": "true"},
			wantNoEnv:  []string{"AWS_ENDPOINT_URL_STS", "AWS_CA_BUNDLE"},
			wantRoleSA: "arn:aws:iam::111122223333:role/kubectl-wi-monitor",
		},
		{
			name: "a role reached at a private endpoint, with its CA",
			change: func(c *Config) {
				c.AWSRoleARN = "arn:aws:iam::111122223333:role/kubectl-wi-monitor"
				c.AWSEndpointURLs = map[string]string{"sts": "https://sts.internal.example:8443", "iam": "https://iam.internal.example"}
				c.CABundle = []byte("PEM")
			},
			wantKinds: []string{
				"Namespace//kubectl-wi-system", "ServiceAccount/kubectl-wi-system/kubectl-wi-monitor", "ConfigMap/kubectl-wi-system/kubectl-wi-monitor-ca",
				"ClusterRole//kubectl-wi-monitor", "ClusterRoleBinding//kubectl-wi-monitor",
				"Role/kubectl-wi-system/kubectl-wi-monitor-self", "RoleBinding/kubectl-wi-system/kubectl-wi-monitor-self",
				"Role/kube-system/kubectl-wi-monitor-agent", "RoleBinding/kube-system/kubectl-wi-monitor-agent",
				"Service/kubectl-wi-system/kubectl-wi-monitor", "Deployment/kubectl-wi-system/kubectl-wi-monitor",
			},
			wantArgs: []string{"--ca-bundle=/etc/kubectl-wi/ca/ca-bundle.pem"},
			wantEnv: map[string]string{"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_STS": "https://sts.internal.example:8443",
				"AWS_ENDPOINT_URL_IAM": "https://iam.internal.example", "AWS_CA_BUNDLE": "/etc/kubectl-wi/ca/ca-bundle.pem"},
			wantNoEnv:  []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EKS"},
			wantRoleSA: "arn:aws:iam::111122223333:role/kubectl-wi-monitor",
		},
		{
			name:      "a private endpoint without a CA bundle: the public roots",
			change:    func(c *Config) { c.AWSEndpointURLs = map[string]string{"eks": "https://eks.internal.example"} },
			wantKinds: defaultKinds,
			wantEnv:   map[string]string{"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_EKS": "https://eks.internal.example"},
			wantNoEnv: []string{"AWS_CA_BUNDLE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			if tt.change != nil {
				tt.change(&c)
			}
			ms, err := c.Manifests(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, m := range ms {
				kinds = append(kinds, m.GetKind()+"/"+m.GetNamespace()+"/"+m.GetName())
				if m.GetLabels()[LabelName] != LabelValue {
					t.Errorf("%s has no %s=%s label", ObjectName(m), LabelName, LabelValue)
				}
				if _, ok := m.Object["status"]; ok {
					t.Errorf("%s carries a status", ObjectName(m))
				}
			}
			if !slices.Equal(kinds, tt.wantKinds) {
				t.Errorf("objects:\n got %q\nwant %q", kinds, tt.wantKinds)
			}
			var dep *appsv1.Deployment
			for _, o := range c.Objects() {
				if d, ok := o.(*appsv1.Deployment); ok {
					dep = d
				}
			}
			ctr := dep.Spec.Template.Spec.Containers[0]
			for _, a := range tt.wantArgs {
				if !slices.Contains(ctr.Args, a) {
					t.Errorf("args %q lack %q", ctr.Args, a)
				}
			}
			for _, a := range tt.wantNoArgs {
				if slices.ContainsFunc(ctr.Args, func(s string) bool { return strings.HasPrefix(s, a) }) {
					t.Errorf("args %q have %q", ctr.Args, a)
				}
			}
			env := map[string]string{}
			for _, e := range ctr.Env {
				env[e.Name] = e.Value
			}
			for k, v := range tt.wantEnv {
				if got, ok := env[k]; !ok || got != v {
					t.Errorf("env %s = %q (set: %v), want %q", k, got, ok, v)
				}
			}
			for _, k := range tt.wantNoEnv {
				if _, ok := env[k]; ok {
					t.Errorf("env has %s", k)
				}
			}
			if got := c.serviceAccount().Annotations["eks.amazonaws.com/role-arn"]; got != tt.wantRoleSA {
				t.Errorf("service account's role = %q, want %q", got, tt.wantRoleSA)
			}
			if sc := dep.Spec.Template.Spec.SecurityContext; sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
				t.Error("the monitor may run as root")
			}
		})
	}
}

// The monitor's RBAC grants nothing on secrets, and writes only what it creates and Events.
func TestRBACLeastPrivilege(t *testing.T) {
	c := validConfig()
	var rules []rbacv1.PolicyRule
	for _, o := range c.Objects() {
		switch r := o.(type) {
		case *rbacv1.ClusterRole:
			rules = append(rules, r.Rules...)
		case *rbacv1.Role:
			rules = append(rules, r.Rules...)
		}
	}
	writes := map[string]bool{"create": true, "update": true, "patch": true, "delete": true, "deletecollection": true}
	allowedWrites := map[string]bool{"pods": true, "configmaps": true, "events": true, "leases": true}
	for _, r := range rules {
		for _, res := range r.Resources {
			if res == "secrets" || res == "*" {
				t.Errorf("rule %v grants %s", r, res)
			}
			for _, v := range r.Verbs {
				if v == "*" || (writes[v] && !allowedWrites[res]) {
					t.Errorf("rule %v lets the monitor %s %s", r, v, res)
				}
			}
		}
	}
}
