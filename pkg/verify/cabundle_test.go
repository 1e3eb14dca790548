package verify

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
)

const testBundle = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

func configMapGone(t *testing.T, cl *cluster) {
	t.Helper()
	if _, err := cl.client.CoreV1().ConfigMaps("shop").Get(context.Background(), testPod, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ConfigMap %s is still there (err %v)", testPod, err)
	}
}

// verbs lists the create, patch and delete actions on pods and configmaps, in order.
func verbs(cl *cluster) []string {
	var out []string
	for _, a := range cl.client.Actions() {
		r := a.GetResource().Resource
		if (r == "pods" || r == "configmaps") && slices.Contains([]string{"create", "patch", "delete"}, a.GetVerb()) {
			out = append(out, a.GetVerb()+" "+r)
		}
	}
	return out
}

// --ca-bundle: a ConfigMap made before the pod, mounted in it and named by AWS_CA_BUNDLE,
// owned by the pod, and deleted after it.
func TestRunCABundle(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	var stored *corev1.ConfigMap
	cl.client.PrependReactor("create", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		stored = a.(k8stesting.CreateAction).GetObject().(*corev1.ConfigMap).DeepCopy()
		return false, nil, nil
	})
	var owners []metav1.OwnerReference
	cl.client.PrependReactor("delete", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		cm, err := cl.client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("configmaps"), "shop", testPod)
		if err == nil {
			owners = cm.(*corev1.ConfigMap).OwnerReferences
		}
		return false, nil, nil
	})
	logs, _ := logsFrom(t, "probe-pass.jsonl")
	cfg := testConfig()
	cfg.CABundle = []byte(testBundle)
	rec := &recorder{}

	out, err := Run(context.Background(), cfg, testDeps(cl, logs), rec)
	if err != nil || out.Status != check.StatusPass || out.DeleteErr != nil {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if stored == nil || stored.Data["ca.crt"] != testBundle || stored.Labels[LabelName] != LabelValue {
		t.Fatalf("ConfigMap created: %+v", stored)
	}
	want := []string{"create configmaps", "create pods", "patch configmaps", "delete pods", "delete configmaps"}
	if got := verbs(cl); !slices.Equal(got, want) {
		t.Errorf("actions %v, want %v", got, want)
	}
	if len(owners) != 1 || owners[0].Kind != "Pod" || owners[0].Name != testPod || owners[0].UID != "uid-1" {
		t.Errorf("the ConfigMap's owners %+v, want the probe pod", owners)
	}
	c := cl.created.Spec.Containers[0]
	var env string
	for _, e := range c.Env {
		if e.Name == probe.EnvCABundle {
			env = e.Value
		}
	}
	if env != CABundlePath {
		t.Errorf("%s = %q, want %s", probe.EnvCABundle, env, CABundlePath)
	}
	mounted := false
	for _, v := range cl.created.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == testPod {
			for _, m := range c.VolumeMounts {
				mounted = mounted || (m.Name == v.Name && m.MountPath+"/ca.crt" == CABundlePath && m.ReadOnly)
			}
		}
	}
	if !mounted {
		t.Errorf("the ConfigMap is not mounted read-only at %s: %+v %+v", CABundlePath, cl.created.Spec.Volumes, c.VolumeMounts)
	}
	if ev := rec.find(t, CheckPodCreate); !strings.Contains(ev.Message, "with --ca-bundle in the ConfigMap shop/"+testPod) {
		t.Errorf("pod.create does not name the ConfigMap: %s", ev.Message)
	}
	podGone(t, cl)
	configMapGone(t, cl)
}

// A kept pod keeps its ConfigMap, which it owns.
func TestRunCABundleKeep(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	logs, _ := logsFrom(t, "probe-pass.jsonl")
	cfg := testConfig()
	cfg.CABundle, cfg.Keep = []byte(testBundle), true

	if out, err := Run(context.Background(), cfg, testDeps(cl, logs), &recorder{}); err != nil || !out.Kept {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	cm, err := cl.client.CoreV1().ConfigMaps("shop").Get(context.Background(), testPod, metav1.GetOptions{})
	if err != nil || len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].UID != "uid-1" {
		t.Errorf("the kept pod's ConfigMap: %+v, %v", cm, err)
	}
}

// A pod that cannot be created leaves no ConfigMap; a ConfigMap that cannot be created stops
// the run before the pod.
func TestRunCABundleFailures(t *testing.T) {
	t.Run("pod create fails", func(t *testing.T) {
		cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
		cl.client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), testPod, errors.New("no"))
		})
		cfg := testConfig()
		cfg.CABundle = []byte(testBundle)
		if _, err := Run(context.Background(), cfg, testDeps(cl, nil), &recorder{}); !apierrors.IsForbidden(err) {
			t.Fatalf("error %v", err)
		}
		configMapGone(t, cl)
	})
	t.Run("configmap create fails", func(t *testing.T) {
		cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
		cl.client.PrependReactor("create", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(corev1.Resource("configmaps"), testPod, errors.New("no"))
		})
		// Who may not create ConfigMaps often may not delete pods either: no pod was asked
		// for, so none is deleted and no failure to delete one is reported.
		cl.client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), testPod, errors.New("no"))
		})
		cfg := testConfig()
		cfg.CABundle = []byte(testBundle)
		out, err := Run(context.Background(), cfg, testDeps(cl, nil), &recorder{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "failed to create the ConfigMap shop/"+testPod+" for --ca-bundle") {
			t.Fatalf("error %v", err)
		}
		if got := verbs(cl); slices.Contains(got, "create pods") || slices.Contains(got, "delete pods") {
			t.Errorf("a pod was created or deleted: %v", got)
		}
		if out.DeleteErr != nil {
			t.Errorf("a failure to delete what was never created: %v", out.DeleteErr)
		}
	})
}

// The probe takes the identity env of the workload's container (--container, else kubectl's
// default container, else the first): proxies and AWS_ variables, every spelling, but no
// credentials, no paths of the container's own files, nothing else of its env.
func TestRunCarriesTheContainersIdentityEnv(t *testing.T) {
	identityEnv := []corev1.EnvVar{
		{Name: "HTTPS_PROXY", Value: "http://proxy.corp:3128"},
		{Name: "no_proxy", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "proxy"}, Key: "no_proxy"}}},
		{Name: "AWS_REGION", Value: "eu-west-1"},
		{Name: "AWS_ROLE_ARN", Value: "arn:aws:iam::111122223333:role/own"},
	}
	notCopied := []corev1.EnvVar{
		{Name: "AWS_SECRET_ACCESS_KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "keys"}, Key: "secret"}}},
		{Name: "AWS_CA_BUNDLE", Value: "/etc/corp/ca.pem"},
		{Name: "AWS_WEB_IDENTITY_TOKEN_FILE", Value: "/var/run/secrets/openshift/serviceaccount/token"},
	}
	app := corev1.Container{Name: "app", Env: append(append([]corev1.EnvVar{{Name: "DATABASE_URL", Value: "postgres://db"}}, identityEnv...), notCopied...)}
	sidecar := corev1.Container{Name: "sidecar", Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}}}
	for _, tc := range []struct {
		name, container, defaultContainer string
		want                              []corev1.EnvVar
	}{
		{name: "--container", container: "app", want: identityEnv},
		{name: "default-container annotation", defaultContainer: "app", want: identityEnv},
		{name: "first container", want: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{ServiceAccountName: "checkout", Containers: []corev1.Container{sidecar, app}}}
			if tc.defaultContainer != "" {
				tmpl.Annotations = map[string]string{DefaultContainerAnnotation: tc.defaultContainer}
			}
			cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
				Spec:       appsv1.DeploymentSpec{Template: tmpl},
			})
			logs, _ := logsFrom(t, "probe-pass.jsonl")
			cfg := testConfig()
			cfg.Target = checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}
			cfg.Container = tc.container
			rec := &recorder{}
			if _, err := Run(context.Background(), cfg, testDeps(cl, logs), rec); err != nil {
				t.Fatal(err)
			}
			var got []corev1.EnvVar
			for _, e := range cl.created.Spec.Containers[0].Env {
				// What the webhook stand-in of these tests injects comes after the copied env.
				// --sts-endpoint's variable comes first.
				if e.Name == "AWS_WEB_IDENTITY_TOKEN_FILE" || e.Name == EnvSTSEndpoint || (e.Name == "AWS_ROLE_ARN" && e.Value == testRole) {
					continue
				}
				got = append(got, e)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("probe env %+v, want %+v", got, tc.want)
			}
			ev := rec.find(t, CheckPodCreate)
			if tc.want == nil {
				if strings.Contains(ev.Message, "env of container") {
					t.Errorf("pod.create names env it did not copy: %s", ev.Message)
				}
				return
			}
			for _, s := range []string{"with the env of container app that steers the AWS SDK: HTTPS_PROXY, no_proxy, AWS_REGION, AWS_ROLE_ARN",
				"not copied: AWS_SECRET_ACCESS_KEY, AWS_CA_BUNDLE, AWS_WEB_IDENTITY_TOKEN_FILE",
				"so the probe proves its role arn:aws:iam::111122223333:role/own"} {
				if !strings.Contains(ev.Message, s) {
					t.Errorf("pod.create %q lacks %q", ev.Message, s)
				}
			}
			if !slices.Contains(cl.created.Spec.Containers[0].Command, "arn:aws:iam::111122223333:role/own") {
				t.Errorf("probe expects %v, want the container's own role", cl.created.Spec.Containers[0].Command)
			}
		})
	}
}

func TestRunRefusesAnUnknownContainer(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app"}, {Name: "sidecar"}},
		}}},
	})
	cfg := testConfig()
	cfg.Target = checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}
	cfg.Container = "ap"
	_, err := Run(context.Background(), cfg, testDeps(cl, nil), &recorder{})
	if !errors.Is(err, ErrNoSuchContainer) || !strings.Contains(err.Error(), `deployment/web has no container "ap"; its containers: app, sidecar`) {
		t.Fatalf("err %v, want the containers named", err)
	}
	if cl.created != nil {
		t.Error("a probe pod was created")
	}
}

// The webhook's cache lagged: the probe pod is created again under another name, and the
// ConfigMap, named as the first, serves the second, is owned by it alone (the garbage
// collector would take it with the first), and is deleted at the end.
func TestRunCABundleAfterCacheLag(t *testing.T) {
	cl := newCluster(t, map[string]string{roleAnnotation: testRole}, true)
	lagging(cl, testRole, 1)
	var owners []metav1.OwnerReference
	cl.client.PrependReactor("delete", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if cm, err := cl.client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("configmaps"), "shop", "wi-probe-first"); err == nil {
			owners = cm.(*corev1.ConfigMap).OwnerReferences
		}
		return false, nil, nil
	})
	logs, _ := logsFrom(t, "probe-pass.jsonl")
	deps := testDeps(cl, logs)
	deps.LagPoll = time.Millisecond
	names := []string{"wi-probe-first", testPod}
	deps.PodName = func() string { n := names[0]; names = names[1:]; return n }
	cfg := testConfig()
	cfg.CABundle = []byte(testBundle)

	out, err := Run(context.Background(), cfg, deps, &recorder{})
	if err != nil || out.Status != check.StatusPass || out.DeleteErr != nil {
		t.Fatalf("outcome %+v, %v", out, err)
	}
	if cl.created.Name != testPod {
		t.Fatalf("the proven pod is %s, want the second, %s", cl.created.Name, testPod)
	}
	mounted := ""
	for _, v := range cl.created.Spec.Volumes {
		if v.ConfigMap != nil {
			mounted = v.ConfigMap.Name
		}
	}
	if mounted != "wi-probe-first" {
		t.Errorf("the second pod mounts ConfigMap %q, want wi-probe-first", mounted)
	}
	patches := 0
	for _, a := range cl.client.Actions() {
		if a.Matches("patch", "configmaps") {
			patches++
		}
	}
	if patches != 1 || len(owners) != 1 || owners[0].Name != testPod {
		t.Errorf("%d owner patches, owners %+v: want the second pod alone", patches, owners)
	}
	if _, err := cl.client.CoreV1().ConfigMaps("shop").Get(context.Background(), "wi-probe-first", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the ConfigMap is still there (err %v)", err)
	}
}
