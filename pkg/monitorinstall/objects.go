package monitorinstall

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// Config is what install writes: the monitor's place, its image and the flags of its
// `monitor run`.
type Config struct {
	// Namespace is where the monitor runs (DefaultNamespace).
	Namespace string
	// Image is the plugin image the Deployment runs.
	Image string
	// Replicas of the Deployment; leader election keeps one proving.
	Replicas int32
	// Interval, Parallel and Budget are `monitor run`'s schedule and bounds.
	Interval time.Duration
	Parallel int
	Budget   int
	// Namespaces are the namespaces watched; empty: the whole cluster. Namespaced mode writes
	// a Role and RoleBinding in each instead of a ClusterRole.
	Namespaces []string
	// ClusterName labels every series (cluster="<name>").
	ClusterName string
	// AWSRoleARN annotates the monitor's service account for IRSA: the role of explain's reads.
	AWSRoleARN string
	// AWSEndpointURLs are where the monitor's own AWS calls go, by service (AWSServices: its
	// role's STS exchange, IAM and EKS reads), as the SDK's AWS_ENDPOINT_URL_<SERVICE>: private
	// endpoints. With CABundle those calls trust its CAs only. Empty: the SDK's endpoints.
	AWSEndpointURLs map[string]string
	// EKSCluster is the EKS cluster whose Pod Identity associations the monitor reads with
	// its own AWS credentials; Region is the region of those reads and of the probe's STS
	// calls. Empty: `monitor run`'s defaults.
	EKSCluster, Region string
	// STSEndpoint and CABundle are verify's --sts-endpoint and --ca-bundle for the probe pods;
	// CABundle is the PEM itself, mounted from CAConfigMap.
	STSEndpoint string
	CABundle    []byte
	// StaleFor is how long stale pods last before KubectlWIStalePods fires.
	StaleFor time.Duration
}

// AWSServices are the services the monitor calls with its own credentials, by the names of
// their endpoint variables (AWS_ENDPOINT_URL_STS, ...): the keys of Config.AWSEndpointURLs.
var AWSServices = []string{"eks", "iam", "sts"}

// Validate refuses a Config before anything is written.
func (c Config) Validate() error {
	var errs []error
	if msgs := validation.IsDNS1123Label(c.Namespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("namespace %q: %s", c.Namespace, msgs[0]))
	}
	for _, ns := range c.Namespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--namespaces %q: %s", ns, msgs[0]))
		}
	}
	if c.Image == "" {
		errs = append(errs, errors.New("the image is empty"))
	}
	if c.Replicas < 1 {
		errs = append(errs, fmt.Errorf("--replicas %d: must be at least 1", c.Replicas))
	}
	if c.Interval < time.Second {
		errs = append(errs, fmt.Errorf("--interval %s: must be at least 1s", c.Interval))
	}
	if c.Parallel < 1 {
		errs = append(errs, fmt.Errorf("--parallel %d: must be at least 1", c.Parallel))
	}
	if c.Budget < 0 {
		errs = append(errs, fmt.Errorf("--budget %d: must be 0 (every account) or more", c.Budget))
	}
	if c.StaleFor < time.Minute {
		errs = append(errs, fmt.Errorf("--stale-for %s: must be at least 1m", c.StaleFor))
	}
	// A label value: Prometheus takes any string, but the monitor puts it on every series and
	// the alerts print it, so it stays short and plain.
	if c.ClusterName != "" {
		if msgs := validation.IsValidLabelValue(c.ClusterName); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--cluster-name %q: %s", c.ClusterName, msgs[0]))
		}
	}
	if c.AWSRoleARN != "" {
		if _, err := identity.ParseRoleARN(c.AWSRoleARN); err != nil {
			errs = append(errs, fmt.Errorf("--aws-role-arn: %w", err))
		}
	}
	for _, svc := range slices.Sorted(maps.Keys(c.AWSEndpointURLs)) {
		if !slices.Contains(AWSServices, svc) {
			errs = append(errs, fmt.Errorf("--aws-endpoint-url %s=: the monitor calls only %s", svc, strings.Join(AWSServices, ", ")))
		}
		if u, err := url.Parse(c.AWSEndpointURLs[svc]); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--aws-endpoint-url %s=%q: not an http(s) URL", svc, c.AWSEndpointURLs[svc]))
		}
	}
	return errors.Join(errs...)
}

// Objects are the Kubernetes objects install writes, in the order it writes them (namespace
// first, the Deployment after what it needs). The PrometheusRule is apart: see Rules.
func (c Config) Objects() []runtime.Object {
	objs := []runtime.Object{c.namespace(), c.serviceAccount()}
	if len(c.CABundle) > 0 {
		objs = append(objs, c.caConfigMap())
	}
	objs = append(objs, c.rbac()...)
	return append(objs, c.service(), c.deployment())
}

func (c Config) meta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels()}
}

func (c Config) namespace() *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: c.meta(c.Namespace, ""),
	}
}

func (c Config) serviceAccount() *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: c.meta(Name, c.Namespace),
	}
	if c.AWSRoleARN != "" {
		sa.Annotations = map[string]string{identity.AnnotationRoleARN: c.AWSRoleARN}
	}
	return sa
}

func (c Config) caConfigMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: c.meta(CAConfigMap, c.Namespace),
		Data:       map[string]string{caFile: string(c.CABundle)},
	}
}

func (c Config) service() *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: c.meta(Name, c.Namespace),
		Spec: corev1.ServiceSpec{
			Selector: labels(),
			Ports: []corev1.ServicePort{{
				Name: MetricsPortName, Port: MetricsPort, TargetPort: intstr.FromString(MetricsPortName), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

// Args are the monitor container's arguments: `monitor run` and its flags.
func (c Config) Args() []string {
	args := []string{"monitor", "run",
		"--interval=" + c.Interval.String(),
		"--parallel=" + strconv.Itoa(c.Parallel),
		"--budget=" + strconv.Itoa(c.Budget),
		"--metrics-addr=:" + strconv.Itoa(MetricsPort),
		"--status-configmap=" + StatusConfigMap,
	}
	for _, ns := range c.Namespaces {
		args = append(args, "--namespaces="+ns)
	}
	if c.ClusterName != "" {
		args = append(args, "--cluster-name="+c.ClusterName)
	}
	if c.EKSCluster != "" {
		args = append(args, "--eks-cluster="+c.EKSCluster)
	}
	if c.Region != "" {
		args = append(args, "--region="+c.Region)
	}
	if c.STSEndpoint != "" {
		args = append(args, "--sts-endpoint="+c.STSEndpoint)
	}
	if len(c.CABundle) > 0 {
		args = append(args, "--ca-bundle="+caMountDir+"/"+caFile)
	}
	return args
}

func (c Config) deployment() *appsv1.Deployment {
	env := []corev1.EnvVar{
		{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		// The monitor never borrows the node's role through instance metadata: without a role
		// of its own (or when the webhook missed its pod) it reads nothing from AWS and says so.
		{Name: "AWS_EC2_METADATA_DISABLED", Value: "true"},
	}
	// Per service, not the SDK's global AWS_ENDPOINT_URL: the Go SDK resolves that one after
	// the credentials, so its web identity exchange (IRSA) would still go to AWS's STS.
	for _, svc := range slices.Sorted(maps.Keys(c.AWSEndpointURLs)) {
		env = append(env, corev1.EnvVar{Name: "AWS_ENDPOINT_URL_" + strings.ToUpper(svc), Value: c.AWSEndpointURLs[svc]})
	}
	if len(c.AWSEndpointURLs) > 0 && len(c.CABundle) > 0 {
		env = append(env, corev1.EnvVar{Name: "AWS_CA_BUNDLE", Value: caMountDir + "/" + caFile})
	}
	container := corev1.Container{
		Name:            ContainerName,
		Image:           c.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Args:            c.Args(),
		Env:             env,
		Ports:           []corev1.ContainerPort{{Name: MetricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP}},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString(MetricsPortName)}},
			PeriodSeconds: 10,
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString(MetricsPortName)}},
			PeriodSeconds:    20,
			FailureThreshold: 3,
		},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
		},
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
	pod := corev1.PodSpec{
		ServiceAccountName: Name,
		// On SIGTERM the monitor deletes its probe pods (verify's cleanup, bounded at 15s)
		// before it exits.
		TerminationGracePeriodSeconds: ptr.To[int64](30),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      ptr.To(monitorUser),
			RunAsGroup:     ptr.To(monitorUser),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{container},
	}
	if len(c.CABundle) > 0 {
		pod.Volumes = []corev1.Volume{{Name: "ca", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: CAConfigMap}},
		}}}
		pod.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "ca", MountPath: caMountDir, ReadOnly: true}}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: c.meta(Name, c.Namespace),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(c.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: labels(),
					// The scrape convention of Prometheus' example Kubernetes configuration.
					Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": strconv.Itoa(MetricsPort)},
				},
				Spec: pod,
			},
		},
	}
}

// WatchedNamespaces are the namespaces namespaced mode binds, sorted and without repeats.
func (c Config) WatchedNamespaces() []string {
	ns := slices.Clone(c.Namespaces)
	slices.Sort(ns)
	return slices.Compact(ns)
}

// rbac are the roles and bindings: cluster-wide, or per watched namespace (--namespaces).
func (c Config) rbac() []runtime.Object {
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Name, Namespace: c.Namespace}}
	var objs []runtime.Object
	role := func(name, ns string, rules []rbacv1.PolicyRule) {
		objs = append(objs,
			&rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: c.meta(name, ns), Rules: rules},
			&rbacv1.RoleBinding{
				TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}, ObjectMeta: c.meta(name, ns),
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, Subjects: subject,
			})
	}
	clusterRole := func(name string, rules []rbacv1.PolicyRule) {
		objs = append(objs,
			&rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}, ObjectMeta: c.meta(name, ""), Rules: rules},
			&rbacv1.ClusterRoleBinding{
				TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"}, ObjectMeta: c.meta(name, ""),
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}, Subjects: subject,
			})
	}
	if len(c.Namespaces) == 0 {
		clusterRole(Name, append(append(watchedRules(), namespaceReads), clusterReads...))
	} else {
		for _, ns := range c.WatchedNamespaces() {
			role(Name, ns, watchedRules())
		}
		clusterRole(Name, clusterReads)
	}
	role(Name+"-self", c.Namespace, selfRules())
	role(Name+"-agent", podidentity.AgentNamespace, agentRules)
	return objs
}
