package plugin

import (
	"encoding/json"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
)

// TestEnablePodIdentityPreflight: enable --pod-identity makes migrate's checks before any
// write. A role that does not exist, one whose trust refuses pods.eks.amazonaws.com, one of
// another account than the cluster's, a target role whose trust refuses the role: each is
// exit 1 with the fix, no AWS write, no Kubernetes write. An iam:GetRole it may not call is an
// error that says so and names --skip-preflight; with --skip-preflight the association is
// written, and the output says what was not checked.
func TestEnablePodIdentityPreflight(t *testing.T) {
	assumeOnly := `{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:AssumeRole"}`
	tests := []struct {
		name       string
		roles      map[string]string // name -> trust policy; nil: piAWS's
		deny       []string
		have       *awsread.Association // an association there before the run
		objs       []runtime.Object     // more objects in the cluster
		extra      []string
		wantCode   int
		wantErr    []string // on stderr
		wantOut    []string // on stdout
		wantWrites int      // AWS writes
	}{
		{name: "passes", wantCode: ExitOK, wantWrites: 1},
		{name: "role does not exist", extra: []string{"--role-arn", "arn:aws:iam::111122223333:role/ap"}, wantCode: ExitCheckFailed,
			wantErr: []string{"pre-flight FAILED: the role arn:aws:iam::111122223333:role/ap does not exist", "create it, or check its name", "Nothing was written"}},
		{name: "trust without TagSession", roles: map[string]string{"app": awstest.TrustOf(assumeOnly)}, wantCode: ExitCheckFailed,
			wantErr: []string{"does not trust pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession", "aws iam update-assume-role-policy --role-name app --policy-document", `"sts:TagSession"`}},
		{name: "trust without TagSession, session tags disabled", roles: map[string]string{"app": awstest.TrustOf(assumeOnly)}, extra: []string{"--disable-session-tags"},
			wantCode: ExitOK, wantWrites: 1},
		{name: "trust of IRSA only", roles: map[string]string{"app": awstest.TrustOf(awstest.IRSAStatement)}, wantCode: ExitCheckFailed,
			wantErr: []string{"does not trust pods.eks.amazonaws.com", "--role-name app"}},
		{name: "role of another account", extra: []string{"--role-arn", "arn:aws:iam::444455556666:role/app"}, wantCode: ExitCheckFailed,
			wantErr: []string{"is in account 444455556666, and the cluster in 111122223333", "--target-role-arn arn:aws:iam::444455556666:role/app"}},
		{name: "target role refuses the role", extra: []string{"--target-role-arn", awstest.OtherRole}, wantCode: ExitCheckFailed,
			wantErr: []string{"the role " + awstest.OtherRole + " does not trust the association's role " + piRole, "--role-name other"}},
		{name: "target role trusts the role", roles: map[string]string{"app": awstest.TrustOf(awstest.PodIdentityStatement), "other": awstest.TrustOf(targetTrust(""))},
			extra: []string{"--target-role-arn", awstest.OtherRole}, wantCode: ExitOK, wantWrites: 1},
		{name: "target role wants the external ID EKS has not given yet", roles: map[string]string{"app": awstest.TrustOf(awstest.PodIdentityStatement), "other": awstest.TrustOf(targetTrust("ext-a-1"))},
			extra: []string{"--target-role-arn", awstest.OtherRole}, wantCode: ExitOK, wantWrites: 1, wantErr: []string{"only with the association's external ID (sts:ExternalId)"}},
		{name: "target role wants the external ID of the association there", roles: map[string]string{"app": awstest.TrustOf(awstest.PodIdentityStatement), "other": awstest.TrustOf(targetTrust("ext-9"))},
			have:  &awsread.Association{ID: "a-9", Namespace: "shop", ServiceAccount: "app", RoleARN: piRole, TargetRoleARN: awstest.OtherRole, ExternalID: "ext-9"},
			extra: []string{"--target-role-arn", awstest.OtherRole, "--dry-run=client"}, wantCode: ExitOK,
			wantOut: []string{"pre-flight: the target role " + awstest.OtherRole + " trusts the role " + piRole + " with sts:AssumeRole and sts:TagSession for serviceaccount/app -n shop"}},
		{name: "target role wants another external ID than the association's", roles: map[string]string{"app": awstest.TrustOf(awstest.PodIdentityStatement), "other": awstest.TrustOf(targetTrust("ext-1"))},
			have:  &awsread.Association{ID: "a-9", Namespace: "shop", ServiceAccount: "app", RoleARN: piRole, TargetRoleARN: awstest.OtherRole, ExternalID: "ext-9"},
			extra: []string{"--target-role-arn", awstest.OtherRole}, wantCode: ExitCheckFailed,
			wantErr: []string{"does not trust the association's role " + piRole, "--role-name other"}},
		{name: "target role of another account is not read", extra: []string{"--target-role-arn", "arn:aws:iam::444455556666:role/data"}, wantCode: ExitOK, wantWrites: 1,
			wantErr: []string{"the target role arn:aws:iam::444455556666:role/data is in account 444455556666", "its trust policy was not read"}},
		{name: "iam:GetRole denied", deny: []string{awsread.ActionGetRole}, wantCode: ExitEnvironment,
			wantErr: []string{"the pre-flight cannot read IAM, so nothing was written", "may not call iam:GetRole", "--skip-preflight"}},
		{name: "iam:GetRole denied, skip-preflight", deny: []string{awsread.ActionGetRole}, extra: []string{"--skip-preflight"}, wantCode: ExitOK, wantWrites: 1,
			wantErr: []string{"pre-flight: not read (--skip-preflight): whether the role " + piRole + " exists and trusts pods.eks.amazonaws.com"}},
		{name: "iam:GetRole denied, skip-preflight with a target role", deny: []string{awsread.ActionGetRole}, extra: []string{"--skip-preflight", "--target-role-arn", awstest.OtherRole}, wantCode: ExitOK, wantWrites: 1,
			wantErr: []string{"pre-flight: not read (--skip-preflight): whether the role " + piRole + " exists and trusts pods.eks.amazonaws.com, and whether the target role " + awstest.OtherRole + " trusts it"}},
		{name: "skip-preflight still refuses a role of another account", extra: []string{"--skip-preflight", "--role-arn", "arn:aws:iam::444455556666:role/app"}, wantCode: ExitCheckFailed,
			wantErr: []string{"is in account 444455556666"}},
		{name: "agent not ready", objs: []runtime.Object{&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: podidentity.AgentNamespace, Name: podidentity.AgentDaemonSet},
			Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, NumberReady: 1}}}, wantCode: ExitCheckFailed,
			wantErr: []string{"pre-flight FAILED: the Pod Identity agent: DaemonSet kube-system/eks-pod-identity-agent has 1 ready of 2 pods"}},
		{name: "dry run shows the checks", extra: []string{"--dry-run=client"}, wantCode: ExitOK,
			wantOut: []string{"pre-flight: the role " + piRole + " is in the account of EKS cluster prod", "pre-flight: the role " + piRole + " trusts pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession for serviceaccount/app -n shop"}},
		{name: "dry run refused", extra: []string{"--dry-run=client", "--role-arn", "arn:aws:iam::111122223333:role/ap"}, wantCode: ExitCheckFailed,
			wantErr: []string{"pre-flight FAILED: the role arn:aws:iam::111122223333:role/ap does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := piAWS()
			if tt.roles != nil {
				f.Roles = tt.roles
			}
			f.Deny = tt.deny
			if tt.have != nil {
				f.Assocs[tt.have.ID] = tt.have
			}
			withAWS(t, f)
			web := kt.Deployment("shop", "web", "app")
			client := fake.NewClientset(append([]runtime.Object{kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil), web, kt.PodOf(web, "web-1", "")}, tt.objs...)...)
			args := append([]string{"enable", "deploy/web", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster}, tt.extra...)
			r := runWI(t, client, args...)
			wantCode(t, r, tt.wantCode)
			if got := f.Writes(); got != tt.wantWrites {
				t.Errorf("%d AWS writes (%v), want %d", got, f.Calls, tt.wantWrites)
			}
			if tt.wantWrites == 0 {
				if c := r.calls(); c.Writes() != 0 {
					t.Errorf("Kubernetes writes %v, want none", c)
				}
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(r.errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.errOut)
				}
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(r.out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.out)
				}
			}
		})
	}
}

// TestEnablePodIdentityCreate: --create creates the missing service account, with no
// annotation, then its association; a client dry run creates nothing and says it would.
func TestEnablePodIdentityCreate(t *testing.T) {
	tests := []struct {
		name        string
		dryRun      string
		wantCreates int
		wantLine    string
		wantWrites  int
	}{
		{name: "created", wantCreates: 1, wantLine: "serviceaccount/app created\n", wantWrites: 1},
		{name: "client dry run", dryRun: "client", wantLine: "serviceaccount/app created (dry run)\n"},
		{name: "server dry run", dryRun: "server", wantLine: "serviceaccount/app created (server dry run)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := piAWS()
			withAWS(t, f)
			client := fake.NewClientset(kt.Namespace("shop"))
			args := []string{"enable", "app", "--create", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster}
			if tt.dryRun != "" {
				args = append(args, "--dry-run="+tt.dryRun)
			}
			r := runWI(t, client, args...)
			wantCode(t, r, ExitOK)
			if c := r.calls(); c["create serviceaccounts"] != tt.wantCreates {
				t.Errorf("calls %v: want %d service account created", c, tt.wantCreates)
			}
			if !strings.Contains(r.out, tt.wantLine) || f.Writes() != tt.wantWrites {
				t.Errorf("AWS writes %d, want %d; stdout:\n%s\nwant it to start with %q", f.Writes(), tt.wantWrites, r.out, tt.wantLine)
			}
			if tt.wantCreates == 1 {
				if sa := getSA(t, client, "shop", "app"); len(sa.Annotations) != 0 || !f.Associated("shop", "app") {
					t.Errorf("service account %v, associated %v: want one with no annotation, and its association", sa.Annotations, f.Associated("shop", "app"))
				}
			}
		})
	}
}

// TestEnablePodIdentityOutput: -o json and yaml print the association as the EKS API returns
// it; with --dry-run, the association as it would be; several accounts, under associations.
func TestEnablePodIdentityOutput(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		have   *awsread.Association
		decode func([]byte, any) error
		want   []podidentity.Document
		list   bool
	}{
		{name: "json, created", args: []string{"app", "-o", "json"}, decode: json.Unmarshal,
			want: []podidentity.Document{{ClusterName: "prod", Namespace: "shop", ServiceAccount: "app", RoleARN: piRole, AssociationID: "a-1",
				AssociationARN: "arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/a-1", CreatedAt: &awstest.Now, ModifiedAt: &awstest.Now}}},
		{name: "yaml, created with a target role", args: []string{"app", "-o", "yaml", "--target-role-arn", awstest.OtherRole}, decode: yamlUnmarshal,
			want: []podidentity.Document{{ClusterName: "prod", Namespace: "shop", ServiceAccount: "app", RoleARN: piRole, AssociationID: "a-1", TargetRoleARN: awstest.OtherRole, ExternalID: "ext-a-1",
				AssociationARN: "arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/a-1", CreatedAt: &awstest.Now, ModifiedAt: &awstest.Now}}},
		{name: "json, dry run of a create", args: []string{"app", "-o", "json", "--dry-run=client", "--disable-session-tags"}, decode: json.Unmarshal,
			want: []podidentity.Document{{ClusterName: "prod", Namespace: "shop", ServiceAccount: "app", RoleARN: piRole, DisableSessionTags: true}}},
		{name: "json, dry run of an update", args: []string{"app", "-o", "json", "--dry-run=client", "--overwrite"}, decode: json.Unmarshal,
			have: &awsread.Association{ID: "a-9", ARN: "arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/a-9", ClusterName: "prod", Namespace: "shop", ServiceAccount: "app", RoleARN: awstest.OtherRole, Tags: map[string]string{"team": "a"}},
			want: []podidentity.Document{{ClusterName: "prod", Namespace: "shop", ServiceAccount: "app", RoleARN: piRole, AssociationID: "a-9",
				AssociationARN: "arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/a-9", Tags: map[string]string{"team": "a"}}}},
		{name: "json, two accounts", args: []string{"app", "api", "-o", "json"}, decode: json.Unmarshal, list: true,
			want: []podidentity.Document{
				{ClusterName: "prod", Namespace: "shop", ServiceAccount: "app", RoleARN: piRole, AssociationID: "a-1", AssociationARN: "arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/a-1", CreatedAt: &awstest.Now, ModifiedAt: &awstest.Now},
				{ClusterName: "prod", Namespace: "shop", ServiceAccount: "api", RoleARN: piRole, AssociationID: "a-2", AssociationARN: "arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/a-2", CreatedAt: &awstest.Now, ModifiedAt: &awstest.Now},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := piAWS()
			f.Roles["other"] = awstest.TrustOf(awstest.PodIdentityStatement, targetTrust(""))
			if tt.have != nil {
				f.Assocs[tt.have.ID] = tt.have
			}
			withAWS(t, f)
			client := fake.NewClientset(kt.Namespace("shop"), kt.ServiceAccount("shop", "app", nil), kt.ServiceAccount("shop", "api", nil))
			r := runWI(t, client, append([]string{"enable", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster}, tt.args...)...)
			wantCode(t, r, ExitOK)
			var got []podidentity.Document
			if tt.list {
				var l struct{ Associations []podidentity.Document }
				if err := tt.decode([]byte(r.out), &l); err != nil {
					t.Fatalf("%v:\n%s", err, r.out)
				}
				got = l.Associations
			} else {
				var d podidentity.Document
				if err := tt.decode([]byte(r.out), &d); err != nil {
					t.Fatalf("%v:\n%s", err, r.out)
				}
				got = []podidentity.Document{d}
			}
			if !sameDocuments(got, tt.want) {
				t.Errorf("stdout:\n%s\ngot  %+v\nwant %+v", r.out, got, tt.want)
			}
			if !strings.Contains(r.errOut, "podidentityassociation ") {
				t.Errorf("the summary is not on stderr with -o:\n%s", r.errOut)
			}
		})
	}
}

func yamlUnmarshal(b []byte, v any) error { return yaml.Unmarshal(b, v) }

func sameDocuments(a, b []podidentity.Document) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestEnablePodIdentityKeptAnnotation: an account that keeps its role-arn annotation is told,
// in one line that is not an error, that the association now takes precedence for new pods,
// and how to remove the annotation; one without the annotation is told nothing.
func TestEnablePodIdentityKeptAnnotation(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		dryRun      bool
		want        string
	}{
		{name: "annotation kept", annotations: map[string]string{identity.AnnotationRoleARN: kt.RoleARN},
			want: "Warning: serviceaccount/app -n shop keeps its eks.amazonaws.com/role-arn annotation (" + kt.RoleARN + "): the Pod Identity association now takes precedence over it for new pods " +
				"(the pod identity webhook gives them the association's container credentials and skips the annotation's role); to remove it: kubectl wi disable serviceaccount/app -n shop --restart=never\n"},
		{name: "annotation kept, dry run", annotations: map[string]string{identity.AnnotationRoleARN: kt.RoleARN}, dryRun: true, want: "association would take precedence over it for new pods"},
		{name: "no annotation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := piAWS()
			withAWS(t, f)
			objs := []runtime.Object{kt.Namespace("shop"), kt.ServiceAccount("shop", "app", tt.annotations)}
			args := []string{"enable", "app", "-n", "shop", "--pod-identity", "--role-arn", piRole, "--eks-cluster", awstest.Cluster}
			if tt.dryRun {
				args = append(args, "--dry-run=client")
			}
			r := runWI(t, fake.NewClientset(objs...), args...)
			wantCode(t, r, ExitOK)
			switch {
			case tt.want == "" && strings.Contains(r.errOut, "precedence"):
				t.Errorf("stderr speaks of precedence without an annotation:\n%s", r.errOut)
			case tt.want != "" && (!strings.Contains(r.errOut, tt.want) || strings.Count(r.errOut, "precedence") != 1):
				t.Errorf("stderr:\n%s\nwant one line with %q", r.errOut, tt.want)
			}
		})
	}
}
