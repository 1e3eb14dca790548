package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/checktarget"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/tui"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// vfInPodCluster is vfCluster with deployment/web, its ReplicaSet and its one running pod
// web-abc-1, which the webhook gave the role; patches of its ephemeralcontainers are applied,
// and the added container has run to the end, unless refuse says the apiserver refuses them.
func vfInPodCluster(t *testing.T, refuse error) *fake.Clientset {
	t.Helper()
	c := vfCluster(map[string]string{identity.AnnotationRoleARN: vfRole})
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	controller := func(kind, name, uid string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID(uid), Controller: ptr.To(true)}}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc-1", Namespace: "shop", Labels: map[string]string{"app": "web", "pod-template-hash": "abc"}, OwnerReferences: controller("ReplicaSet", "web-abc", "rs-web")},
		Spec: corev1.PodSpec{ServiceAccountName: "checkout", NodeName: "node-1", Containers: []corev1.Container{{
			Name: "app", Image: "shop/web:1",
			Env:             []corev1.EnvVar{{Name: identity.EnvRoleARN, Value: vfRole}, {Name: identity.EnvTokenFile, Value: identity.TokenFile}},
			VolumeMounts:    []corev1.VolumeMount{{Name: identity.TokenVolumeName, MountPath: identity.TokenMountPath, ReadOnly: true}},
			SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000)},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	for _, obj := range []runtime.Object{
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "d-web"}, Spec: appsv1.DeploymentSpec{Selector: sel, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{ServiceAccountName: "checkout", Containers: []corev1.Container{{Name: "app", Image: "shop/web:1"}}},
		}}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: "shop", UID: "rs-web", Labels: map[string]string{"app": "web"}, OwnerReferences: controller("Deployment", "web", "d-web")}},
		pod,
	} {
		if err := c.Tracker().Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	c.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		pa := a.(k8stesting.PatchAction)
		if pa.GetSubresource() != verify.EphemeralSubresource {
			return false, nil, nil
		}
		if refuse != nil {
			return true, nil, refuse
		}
		obj, err := c.Tracker().Get(pods, pa.GetNamespace(), pa.GetName())
		if err != nil {
			return true, nil, err
		}
		old, _ := json.Marshal(obj)
		merged, err := strategicpatch.StrategicMergePatch(old, pa.GetPatch(), &corev1.Pod{})
		if err != nil {
			return true, nil, err
		}
		p := &corev1.Pod{}
		if err := json.Unmarshal(merged, p); err != nil {
			return true, nil, err
		}
		for _, ec := range p.Spec.EphemeralContainers {
			p.Status.EphemeralContainerStatuses = append(p.Status.EphemeralContainerStatuses, corev1.ContainerStatus{
				Name: ec.Name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}},
			})
		}
		return true, p, c.Tracker().Update(pods, p, p.Namespace)
	})
	return c
}

// verbs are the verbs of the fake's actions, with their resource and subresource.
func verbs(c *fake.Clientset) []string {
	var out []string
	for _, a := range c.Actions() {
		out = append(out, a.GetVerb()+" "+strings.TrimSuffix(a.GetResource().Resource+"/"+a.GetSubresource(), "/"))
	}
	return out
}

func TestVerifyInPodText(t *testing.T) {
	c := vfInPodCluster(t, nil)
	o, out, errOut := vfOptions(c, false, "probe-pass.jsonl")

	if err := vfRun(t, o, "deployment/web", "--in-pod", "--image", "wi.local/kubectl-wi:dev"); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"INFO inpod.pod  the probe joins the pod shop/web-abc-1 on node node-1 (the newest Ready pod of deployment/web, of 1 running)",
		"INFO inpod.footprint  adding the ephemeral container wi-probe-abcde (image wi.local/kubectl-wi:dev) to the pod shop/web-abc-1",
		"PASS inpod.start  the ephemeral probe wi-probe-abcde runs in the pod shop/web-abc-1",
		"PASS token.audience  aud contains sts.amazonaws.com\n",
		"INFO inpod.remains  the ephemeral container wi-probe-abcde stays in the spec of the pod shop/web-abc-1, terminated (exit code 0)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(out.String(), "\nPASS all ") {
		t.Errorf("no passing verdict:\n%s", out.String())
	}
	for _, v := range verbs(c) {
		if strings.HasPrefix(v, "create") || strings.HasPrefix(v, "delete") {
			t.Errorf("an in-pod run did %s", v)
		}
	}
	if errOut.Len() != 0 {
		t.Errorf("error stream: %q", errOut.String())
	}
}

// --dry-run=client prints the patch and writes nothing: the fake saw reads only.
func TestVerifyInPodDryRun(t *testing.T) {
	for _, output := range []string{"", "json"} {
		t.Run("-o "+output, func(t *testing.T) {
			c := vfInPodCluster(t, nil)
			// The app writes a key in its env: the patch leaves it out, so the output never shows it.
			const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
			pod, err := c.CoreV1().Pods("shop").Get(t.Context(), "web-abc-1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pod.Spec.Containers[0].Env = append(pod.Spec.Containers[0].Env, corev1.EnvVar{Name: identity.EnvSecretAccessKey, Value: secret})
			if err := c.Tracker().Update(schema.GroupVersionResource{Version: "v1", Resource: "pods"}, pod, "shop"); err != nil {
				t.Fatal(err)
			}
			o, out, errOut := vfOptions(c, false, "probe-pass.jsonl")
			args := []string{"deployment/web", "--in-pod", "--dry-run=client", "--image", "wi.local/kubectl-wi:dev"}
			if output != "" {
				args = append(args, "-o", output)
			}
			if err := vfRun(t, o, args...); err != nil {
				t.Fatal(err)
			}
			for _, v := range verbs(c) {
				if !strings.HasPrefix(v, "get ") && !strings.HasPrefix(v, "list ") {
					t.Errorf("a dry run did %s", v)
				}
			}
			var patch struct {
				Spec struct {
					EphemeralContainers []corev1.EphemeralContainer `json:"ephemeralContainers"`
				} `json:"spec"`
			}
			if strings.Contains(out.String()+errOut.String(), secret) {
				t.Errorf("the output holds the app's secret key:\n%s", out.String())
			}
			if output == "json" {
				err = json.Unmarshal(out.Bytes(), &patch)
			} else {
				err = yaml.UnmarshalStrict(out.Bytes(), &patch)
			}
			if err != nil || len(patch.Spec.EphemeralContainers) != 1 {
				t.Fatalf("the output is not the patch (%v):\n%s", err, out.String())
			}
			ec := patch.Spec.EphemeralContainers[0]
			if ec.Name != "wi-probe-abcde" || ec.TargetContainerName != "app" || ec.Image != "wi.local/kubectl-wi:dev" || ptr.Deref(ec.SecurityContext.RunAsUser, -1) != 1000 {
				t.Errorf("ephemeral container %+v", ec)
			}
			if !strings.Contains(errOut.String(), "dry run: nothing was written") || !strings.Contains(errOut.String(), "stays in the pod's spec, terminated") {
				t.Errorf("error stream: %q", errOut.String())
			}
		})
	}
}

// The cluster refuses the ephemeral container: the probe pod runs instead, and the exit code
// says the app's pod was not proven (3), unless a check failed (1).
func TestVerifyInPodRefused(t *testing.T) {
	rbac := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "web-abc-1",
		errors.New(`User "alice" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "shop"`))
	tests := []struct {
		name     string
		stream   string
		wantCode int
		wantErr  string
	}{
		{name: "the probe pod passes", stream: "probe-pass.jsonl", wantCode: ExitEnvironment, wantErr: "--in-pod: the probe could not join the app's pod (forbidden): grant patch on pods/ephemeralcontainers"},
		{name: "the probe pod fails a check", stream: "probe-trust-policy.jsonl", wantCode: ExitCheckFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vfInPodCluster(t, rbac)
			o, out, _ := vfOptions(c, false, tt.stream)
			err := vfRun(t, o, "deployment/web", "--in-pod")
			if code := ExitCode(err); code != tt.wantCode || !strings.Contains(errString(err), tt.wantErr) {
				t.Errorf("exit %d (%v), want %d and %q", code, err, tt.wantCode, tt.wantErr)
			}
			if !strings.Contains(out.String(), `WARN inpod.refused  RBAC does not let you add an ephemeral container to shop/web-abc-1: ask for RBAC verb "patch" on "pods/ephemeralcontainers"`) ||
				!strings.Contains(out.String(), "PASS pod.start  the probe pod runs on node node-1") {
				t.Errorf("output:\n%s", out.String())
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// What --in-pod cannot take is refused before anything is written (exit 2).
func TestVerifyInPodBadInput(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "--pod of no such pod", args: []string{"deployment/web", "--in-pod", "--pod", "web-abc-9"}, wantErr: `not a pod of the target: pod "web-abc-9" not found in namespace "shop"`},
		{name: "a pod target that does not exist", args: []string{"pod/web-abc-9", "--in-pod"}, wantErr: `pod "web-abc-9" not found in namespace "shop"`},
		{name: "-c naming no container", args: []string{"deployment/web", "--in-pod", "-c", "worker"}, wantErr: `--container: no such container: deployment/web has no container "worker"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vfInPodCluster(t, nil)
			o, _, _ := vfOptions(c, false, "probe-pass.jsonl")
			err := vfRun(t, o, tt.args...)
			if ExitCode(err) != ExitUsage || !strings.Contains(errString(err), tt.wantErr) {
				t.Errorf("exit %d (%v), want 2 and %q", ExitCode(err), err, tt.wantErr)
			}
			for _, v := range verbs(c) {
				if !strings.HasPrefix(v, "get ") && !strings.HasPrefix(v, "list ") {
					t.Errorf("wrote before refusing the input: %s", v)
				}
			}
		})
	}
}

// The checklist of an in-pod run: its own steps, the probe pod's never started when the app's
// pod took the probe, and started when it refused it.
func TestVerifyInPodChecklist(t *testing.T) {
	rbac := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "web-abc-1",
		errors.New(`User "alice" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "shop"`))
	tests := []struct {
		name   string
		refuse error
		want   []string
	}{
		{name: "the app's pod takes the probe", want: []string{
			"✓ Add the probe to the app's pod (an ephemeral container)  wi-probe-abcde in shop/web-abc-1",
			"– Create a probe pod instead (the app's pod refused)",
			"✓ Clean up  nothing to delete: wi-probe-abcde stays in the pod's spec, terminated (exit code 0)",
		}},
		{name: "it refuses", refuse: rbac, want: []string{
			"✗ Add the probe to the app's pod (an ephemeral container)  forbidden",
			"✓ Create a probe pod instead (the app's pod refused)  shop/wi-probe-abcde",
			"✓ Clean up  deleted shop/wi-probe-abcde",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vfInPodCluster(t, tt.refuse)
			o, _, _ := vfOptions(c, false, "probe-pass.jsonl")
			o.InPod, o.namespace, o.target = true, "shop", checktarget.Target{Kind: checktarget.KindDeployment, Name: "web"}
			o.Image = "wi.local/kubectl-wi:dev"
			if err := o.connect(); err != nil {
				t.Fatal(err)
			}
			report := tui.Checklist(tui.Options{Steps: inPodSteps}, func(rep report.Reporter) error {
				_, err := verify.Run(t.Context(), o.config(), o.engine, rep)
				return err
			})
			for _, want := range tt.want {
				if !strings.Contains(report, want) {
					t.Errorf("the checklist lacks %q:\n%s", want, report)
				}
			}
		})
	}
}

// With no TARGET, --in-pod proves each workload of the accounts in one of its pods, each line
// led by its workload. One with no running pod is proven by a probe pod and does not make the
// run exit 3; one whose pod refuses the probe does.
func TestVerifyInPodFleet(t *testing.T) {
	tests := []struct {
		name     string
		refuse   string // the pod whose ephemeralcontainers are forbidden
		wantCode int
		wantErr  string
		wantOut  []string
	}{
		{
			name: "every pod takes the probe",
			wantOut: []string{
				"shop/deployment/web  PASS inpod.start  the ephemeral probe wi-probe-fleet",
				"runs in the pod shop/web-abc-1",
				"shop/deployment/api  PASS inpod.start  the ephemeral probe wi-probe-fleet",
				"runs in the pod shop/api-def-1",
				"shop/deployment/idle  WARN inpod.refused  deployment/idle has no pods",
				"\n3 of 3 workloads passed\n",
			},
		},
		{
			name: "one pod refuses it", refuse: "api-def-1", wantCode: ExitEnvironment,
			wantErr: "--in-pod: 1 workload(s) did not take the probe, and a probe pod proved them instead: shop/deployment/api (forbidden)",
			wantOut: []string{"shop/deployment/api  WARN inpod.refused  RBAC does not let you add an ephemeral container to shop/api-def-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vfInPodCluster(t, nil)
			web, err := c.CoreV1().Pods("shop").Get(t.Context(), "web-abc-1", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, app := range []struct{ name, hash string }{{"api", "def"}, {"idle", ""}} {
				d, err := c.AppsV1().Deployments("shop").Get(t.Context(), "web", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				d = d.DeepCopy()
				d.Name, d.UID, d.ResourceVersion = app.name, types.UID("d-"+app.name), ""
				d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": app.name}}
				d.Spec.Template.Labels = map[string]string{"app": app.name}
				objs := []runtime.Object{d}
				if app.hash != "" {
					rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: app.name + "-" + app.hash, Namespace: "shop", UID: types.UID("rs-" + app.name),
						Labels: map[string]string{"app": app.name}, OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: app.name, UID: d.UID, Controller: ptr.To(true)}}}}
					p := web.DeepCopy()
					p.Name, p.UID, p.ResourceVersion = app.name+"-"+app.hash+"-1", types.UID("uid-"+app.name), ""
					p.Labels = map[string]string{"app": app.name, "pod-template-hash": app.hash}
					p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)}}
					objs = append(objs, rs, p)
				}
				for _, obj := range objs {
					if err := c.Tracker().Add(obj); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tt.refuse != "" {
				c.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
					if a.GetSubresource() == verify.EphemeralSubresource && a.(k8stesting.PatchAction).GetName() == tt.refuse {
						return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, tt.refuse,
							errors.New(`User "alice" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "shop"`))
					}
					return false, nil, nil
				})
			}
			var n atomic.Int32 // names unique among the runs, as NewPodName's are
			o, out, _ := vfOptions(c, false, "probe-pass.jsonl", func(d *deps) {
				d.podName = func() string { return fmt.Sprintf("wi-probe-fleet%d", n.Add(1)) }
			})

			err = vfRun(t, o, "--in-pod", "--parallel", "2")
			if ExitCode(err) != tt.wantCode || !strings.Contains(errString(err), tt.wantErr) {
				t.Errorf("exit %d (%v), want %d and %q", ExitCode(err), err, tt.wantCode, tt.wantErr)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}
