package targets

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

const (
	arn      = "arn:aws:iam::123456789012:role/px"
	otherARN = "arn:aws:iam::123456789012:role/old"
)

func object(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func kind(t *testing.T, name string) *Custom {
	t.Helper()
	ref, err := Parse(name + "/x")
	if err != nil {
		t.Fatal(err)
	}
	return ref.Kind.Custom
}

const pxHead = `apiVersion: core.libopenstorage.org/v1
kind: StorageCluster
metadata: {name: px, namespace: portworx, resourceVersion: "42", labels: {keep: me}}
status: {phase: Online}
`

// TestStorageClusterCredentials: the aws item is merged by cloudProvider, every other item and
// field is kept, and disable removes only the aws item.
func TestStorageClusterCredentials(t *testing.T) {
	enable := &identity.Config{RoleARN: arn}
	tests := []struct {
		name      string
		spec      string
		want      *identity.Config
		wantSpec  string // "" when unchanged
		wantPatch string
	}{
		{
			name:      "no workloadIdentity yet",
			spec:      "spec: {image: portworx/oci-monitor:3.2.0}",
			want:      enable,
			wantSpec:  `{"image":"portworx/oci-monitor:3.2.0","workloadIdentity":{"credentials":[{"cloudProvider":"aws","key":"eks.amazonaws.com/role-arn","value":"` + arn + `"}]}}`,
			wantPatch: `{"metadata":{"resourceVersion":"42"},"spec":{"workloadIdentity":{"credentials":[{"cloudProvider":"aws","key":"eks.amazonaws.com/role-arn","value":"` + arn + `"}]}}}`,
		},
		{
			name:      "another provider's item is kept",
			spec:      "spec: {workloadIdentity: {enabled: true, credentials: [{cloudProvider: azure, key: azure.workload.identity/client-id, value: abc}]}}",
			want:      enable,
			wantSpec:  `{"workloadIdentity":{"credentials":[{"cloudProvider":"azure","key":"azure.workload.identity/client-id","value":"abc"},{"cloudProvider":"aws","key":"eks.amazonaws.com/role-arn","value":"` + arn + `"}],"enabled":true}}`,
			wantPatch: `{"metadata":{"resourceVersion":"42"},"spec":{"workloadIdentity":{"credentials":[{"cloudProvider":"azure","key":"azure.workload.identity/client-id","value":"abc"},{"cloudProvider":"aws","key":"eks.amazonaws.com/role-arn","value":"` + arn + `"}]}}}`,
		},
		{
			name:      "the aws item is updated in place, its other fields kept",
			spec:      "spec: {workloadIdentity: {credentials: [{cloudProvider: aws, key: eks.amazonaws.com/role-arn, value: " + otherARN + ", note: x}, {cloudProvider: gcp, key: k, value: v}]}}",
			want:      enable,
			wantSpec:  `{"workloadIdentity":{"credentials":[{"cloudProvider":"aws","key":"eks.amazonaws.com/role-arn","note":"x","value":"` + arn + `"},{"cloudProvider":"gcp","key":"k","value":"v"}]}}`,
			wantPatch: `{"metadata":{"resourceVersion":"42"},"spec":{"workloadIdentity":{"credentials":[{"cloudProvider":"aws","key":"eks.amazonaws.com/role-arn","note":"x","value":"` + arn + `"},{"cloudProvider":"gcp","key":"k","value":"v"}]}}}`,
		},
		{
			name:      "a duplicate aws item is merged away",
			spec:      "spec: {workloadIdentity: {credentials: [{cloudProvider: aws, key: eks.amazonaws.com/role-arn, value: " + arn + "}, {cloudProvider: aws, key: eks.amazonaws.com/role-arn, value: " + otherARN + "}]}}",
			want:      enable,
			wantSpec:  `{"workloadIdentity":{"credentials":[{"cloudProvider":"aws","key":"eks.amazonaws.com/role-arn","value":"` + arn + `"}]}}`,
			wantPatch: `{"metadata":{"resourceVersion":"42"},"spec":{"workloadIdentity":{"credentials":[{"cloudProvider":"aws","key":"eks.amazonaws.com/role-arn","value":"` + arn + `"}]}}}`,
		},
		{
			name: "already there: unchanged",
			spec: "spec: {workloadIdentity: {credentials: [{cloudProvider: azure, key: k, value: v}, {cloudProvider: aws, key: eks.amazonaws.com/role-arn, value: " + arn + "}]}}",
			want: enable,
		},
		{
			name:      "disable removes only the aws item",
			spec:      "spec: {workloadIdentity: {credentials: [{cloudProvider: azure, key: k, value: v}, {cloudProvider: aws, key: eks.amazonaws.com/role-arn, value: " + arn + "}, 7]}}",
			wantSpec:  `{"workloadIdentity":{"credentials":[{"cloudProvider":"azure","key":"k","value":"v"},7]}}`,
			wantPatch: `{"metadata":{"resourceVersion":"42"},"spec":{"workloadIdentity":{"credentials":[{"cloudProvider":"azure","key":"k","value":"v"},7]}}}`,
		},
		{
			name:      "disable of the last item removes what enable added",
			spec:      "spec: {image: i, workloadIdentity: {credentials: [{cloudProvider: aws, key: eks.amazonaws.com/role-arn, value: " + arn + "}]}}",
			wantSpec:  `{"image":"i"}`,
			wantPatch: `{"metadata":{"resourceVersion":"42"},"spec":{"workloadIdentity":null}}`,
		},
		{
			name:      "disable keeps a workloadIdentity with other fields",
			spec:      "spec: {workloadIdentity: {enabled: true, credentials: [{cloudProvider: aws, key: eks.amazonaws.com/role-arn, value: " + arn + "}]}}",
			wantSpec:  `{"workloadIdentity":{"enabled":true}}`,
			wantPatch: `{"metadata":{"resourceVersion":"42"},"spec":{"workloadIdentity":{"credentials":null}}}`,
		},
		{
			name: "disable without an aws item: unchanged",
			spec: "spec: {workloadIdentity: {credentials: [{cloudProvider: azure, key: k, value: v}]}}",
		},
		{
			name: "disable without workloadIdentity: unchanged",
			spec: "spec: {image: i}",
		},
	}
	c := kind(t, "storagecluster")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := object(t, pxHead+tt.spec)
			before := obj.DeepCopy()
			edit, err := c.Apply(obj, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(obj, before) {
				t.Fatal("Apply changed the live object")
			}
			if tt.wantSpec == "" {
				if edit.Changed || edit.Patch != nil || edit.Result != obj {
					t.Fatalf("edit = %+v, want unchanged", edit)
				}
				return
			}
			if !edit.Changed || !edit.Precondition {
				t.Fatalf("edit = %+v, want a change with a resourceVersion precondition", edit)
			}
			if string(edit.Patch) != tt.wantPatch {
				t.Errorf("patch = %s\nwant    %s", edit.Patch, tt.wantPatch)
			}
			spec, _ := yaml.Marshal(edit.Result.Object["spec"])
			wantSpec, _ := yaml.JSONToYAML([]byte(tt.wantSpec))
			if string(spec) != string(wantSpec) {
				t.Errorf("spec =\n%s\nwant\n%s", spec, wantSpec)
			}
			// Everything but spec is as it was.
			rest, wantRest := edit.Result.DeepCopy(), before.DeepCopy()
			delete(rest.Object, "spec")
			delete(wantRest.Object, "spec")
			if !reflect.DeepEqual(rest, wantRest) {
				t.Errorf("fields other than spec changed: %v", rest.Object)
			}
			if want := []string{"spec.workloadIdentity.credentials[cloudProvider=aws]"}; !reflect.DeepEqual(edit.What, want) {
				t.Errorf("what = %v", edit.What)
			}
		})
	}
}

func TestStorageClusterRefusesOtherSettings(t *testing.T) {
	c := kind(t, "storagecluster")
	_, err := c.Apply(object(t, pxHead+"spec: {}"), &identity.Config{RoleARN: arn, Audience: "other", TokenExpiration: 3600})
	if err == nil || err.Error() != "StorageCluster takes only the role ARN (spec.workloadIdentity.credentials): --audience, --token-expiration cannot be set on it" {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Apply(object(t, pxHead+"spec: {}"), &identity.Config{RoleARN: arn, Audience: identity.DefaultAudience}); err != nil {
		t.Fatalf("the default audience is no setting: %v", err)
	}
}

func TestShapeErrors(t *testing.T) {
	px, drc := kind(t, "storagecluster"), kind(t, "deploymentruntimeconfig")
	tests := []struct {
		c       *Custom
		spec    string
		wantErr string
	}{
		{px, "spec: {workloadIdentity: enabled}", "spec.workloadIdentity is a string, not an object"},
		{px, "spec: {workloadIdentity: {credentials: {aws: x}}}", "spec.workloadIdentity.credentials is an object, not a list"},
		{drc, "spec: {serviceAccountTemplate: [1]}", "spec.serviceAccountTemplate is a list, not an object"},
		{drc, "spec: {serviceAccountTemplate: {metadata: {annotations: 3}}}", "spec.serviceAccountTemplate.metadata.annotations is a number, not an annotation map"},
	}
	for _, tt := range tests {
		if _, err := tt.c.Apply(object(t, pxHead+tt.spec), &identity.Config{RoleARN: arn}); err == nil || err.Error() != tt.wantErr {
			t.Errorf("%s: err = %v, want %q", tt.spec, err, tt.wantErr)
		}
	}
}

const drcHead = `apiVersion: pkg.crossplane.io/v1beta1
kind: DeploymentRuntimeConfig
metadata: {name: aws, resourceVersion: "7"}
`

func TestDeploymentRuntimeConfigAnnotations(t *testing.T) {
	tests := []struct {
		name      string
		spec      string
		want      *identity.Config
		wantSpec  string
		wantPatch string
		wantWhat  []string
	}{
		{
			name:      "no template yet",
			spec:      "spec: {deploymentTemplate: {spec: {replicas: 1}}}",
			want:      &identity.Config{RoleARN: arn},
			wantSpec:  `{"deploymentTemplate":{"spec":{"replicas":1}},"serviceAccountTemplate":{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":"` + arn + `"}}}}`,
			wantPatch: `{"spec":{"serviceAccountTemplate":{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":"` + arn + `"}}}}}`,
			wantWhat:  []string{"role-arn"},
		},
		{
			name:      "other annotations and labels kept; a stale audience removed",
			spec:      "spec: {serviceAccountTemplate: {metadata: {labels: {a: b}, annotations: {keep: me, eks.amazonaws.com/audience: x, eks.amazonaws.com/role-arn: " + otherARN + "}}}}",
			want:      &identity.Config{RoleARN: arn, TokenExpiration: 3600},
			wantSpec:  `{"serviceAccountTemplate":{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":"` + arn + `","eks.amazonaws.com/token-expiration":"3600","keep":"me"},"labels":{"a":"b"}}}}`,
			wantPatch: `{"spec":{"serviceAccountTemplate":{"metadata":{"annotations":{"eks.amazonaws.com/audience":null,"eks.amazonaws.com/role-arn":"` + arn + `","eks.amazonaws.com/token-expiration":"3600"}}}}}`,
			wantWhat:  []string{"role-arn", "audience-", "token-expiration"},
		},
		{
			name: "unchanged",
			spec: "spec: {serviceAccountTemplate: {metadata: {annotations: {keep: me, eks.amazonaws.com/role-arn: " + arn + "}}}}",
			want: &identity.Config{RoleARN: arn},
		},
		{
			name:      "disable keeps other annotations",
			spec:      "spec: {serviceAccountTemplate: {metadata: {annotations: {keep: me, eks.amazonaws.com/role-arn: " + arn + "}}}}",
			wantSpec:  `{"serviceAccountTemplate":{"metadata":{"annotations":{"keep":"me"}}}}`,
			wantPatch: `{"spec":{"serviceAccountTemplate":{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":null}}}}}`,
			wantWhat:  []string{"role-arn"},
		},
		{
			name:      "disable of the last annotation removes what enable added",
			spec:      "spec: {deploymentTemplate: {}, serviceAccountTemplate: {metadata: {annotations: {eks.amazonaws.com/role-arn: " + arn + "}}}}",
			wantSpec:  `{"deploymentTemplate":{}}`,
			wantPatch: `{"spec":{"serviceAccountTemplate":null}}`,
			wantWhat:  []string{"role-arn"},
		},
		{
			name: "disable with nothing to remove",
			spec: "spec: {serviceAccountTemplate: {metadata: {name: x}}}",
		},
	}
	c := kind(t, "deploymentruntimeconfig")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := object(t, drcHead+tt.spec)
			edit, err := c.Apply(obj, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantSpec == "" {
				if edit.Changed || edit.Patch != nil {
					t.Fatalf("edit = %+v, want unchanged", edit)
				}
				return
			}
			if !edit.Changed || edit.Precondition {
				t.Fatalf("edit = %+v: a change of single annotations needs no precondition", edit)
			}
			if string(edit.Patch) != tt.wantPatch {
				t.Errorf("patch = %s\nwant    %s", edit.Patch, tt.wantPatch)
			}
			spec, _ := yaml.Marshal(edit.Result.Object["spec"])
			wantSpec, _ := yaml.JSONToYAML([]byte(tt.wantSpec))
			if string(spec) != string(wantSpec) {
				t.Errorf("spec =\n%s\nwant\n%s", spec, wantSpec)
			}
			if !reflect.DeepEqual(edit.What, tt.wantWhat) {
				t.Errorf("what = %v, want %v", edit.What, tt.wantWhat)
			}
		})
	}
}

func TestRoleARNAndRefers(t *testing.T) {
	px, drc := kind(t, "storagecluster"), kind(t, "deploymentruntimeconfig")
	if got := px.RoleARN(object(t, pxHead+"spec: {workloadIdentity: {credentials: [{cloudProvider: azure, value: a}, {cloudProvider: aws, key: k, value: "+arn+"}]}}")); got != arn {
		t.Errorf("StorageCluster RoleARN = %q", got)
	}
	if got := px.RoleARN(object(t, pxHead+"spec: {}")); got != "" {
		t.Errorf("StorageCluster RoleARN = %q", got)
	}
	if got := drc.RoleARN(object(t, drcHead+"spec: {serviceAccountTemplate: {metadata: {annotations: {eks.amazonaws.com/role-arn: "+arn+"}}}}")); got != arn {
		t.Errorf("DeploymentRuntimeConfig RoleARN = %q", got)
	}

	ref := &drc.ReferencedBy[0]
	provider := func(spec string) *unstructured.Unstructured {
		return object(t, "apiVersion: pkg.crossplane.io/v1\nkind: Provider\nmetadata: {name: p}\n"+spec)
	}
	tests := []struct {
		spec, name string
		want       bool
	}{
		{"spec: {runtimeConfigRef: {name: aws}}", "aws", true},
		{"spec: {runtimeConfigRef: {name: other}}", "aws", false},
		{"spec: {package: x}", "aws", false},
		{"spec: {package: x}", "default", true}, // an unset runtimeConfigRef means the config named default
		{"spec: {runtimeConfigRef: {name: aws}}", "default", false},
	}
	for _, tt := range tests {
		if got := ref.Refers(provider(tt.spec), tt.name); got != tt.want {
			t.Errorf("Refers(%s, %s) = %t", tt.spec, tt.name, got)
		}
	}
}

func TestNextStep(t *testing.T) {
	px := kind(t, "storagecluster")
	got := px.NextStep("px", "portworx", &identity.Config{RoleARN: arn})
	if !strings.Contains(got, "kubectl exec -n portworx ") || strings.Contains(got, "${") {
		t.Errorf("next step = %q", got)
	}
	drc := kind(t, "deploymentruntimeconfig")
	if got := drc.NextStep("aws", "", &identity.Config{RoleARN: arn}); !strings.Contains(got, "spec.runtimeConfigRef.name: aws") {
		t.Errorf("next step = %q", got)
	}
}
