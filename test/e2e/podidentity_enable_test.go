//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// piWritesOf are the writes in the AWS stand-in's request log that name the namespace or one
// of the roles: this test's own, among every other test's.
func piWritesOf(reqs []awsRequest, ns string, roles ...string) []awsRequest {
	var out []awsRequest
	for _, r := range reqs {
		if !r.Write {
			continue
		}
		mine := r.Namespace == ns
		for _, role := range roles {
			if role != "" && (r.Role == role || strings.HasSuffix(role, ":role/"+r.Role) || r.TargetRole == role) {
				mine = true
			}
		}
		if mine {
			out = append(out, r)
		}
	}
	return out
}

// TestEnablePodIdentityPreflight (issue 27, item 3): enable --pod-identity makes migrate's
// pre-flight before any write. A role that does not exist (a typo), a role whose trust lacks
// pods.eks.amazonaws.com, a target role whose trust refuses the association's role: each is
// exit 1 with the fix, and nothing is written (no association, no AWS write of the
// namespace or the roles, no restart). Credentials that may not call iam:GetRole get an error
// that says so and names --skip-preflight, again with nothing written.
func TestEnablePodIdentityPreflight(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	good, irsaOnly, target := "pi-pre-ok-"+ns, "pi-pre-irsa-"+ns, "pi-pre-tgt-"+ns
	goodARN := e.addSTSRole(t, good, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	irsaARN := e.addSTSRole(t, irsaOnly, e.trustPolicyFor("StringEquals", "system:serviceaccount:"+ns+":app"))
	// The target role trusts Pod Identity, not the association's role.
	targetARN := e.addSTSRole(t, target, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	denied := e.newAWSUser(t, "iam:GetRole")
	reader := e.newAWSUser(t)
	for _, r := range []string{good, irsaOnly, target} {
		e.awaitRole(t, reader, r)
	}
	typoARN := strings.TrimSuffix(goodARN, good) + "pi-pre-okk-" + ns

	tests := []struct {
		name     string
		args     []string
		user     awsUser
		wantCode int
		want     []string
	}{
		{name: "role does not exist", args: []string{"--role-arn", typoARN}, user: reader, wantCode: 1,
			want: []string{"pre-flight FAILED: the role " + typoARN + " does not exist", "create it, or check its name", "Nothing was written"}},
		{name: "role trusts only IRSA", args: []string{"--role-arn", irsaARN}, user: reader, wantCode: 1,
			want: []string{"pre-flight FAILED: the role " + irsaARN + " does not trust pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession",
				"aws iam update-assume-role-policy --role-name " + irsaOnly + " --policy-document", "Nothing was written"}},
		{name: "target role refuses the role", args: []string{"--role-arn", goodARN, "--target-role-arn", targetARN}, user: reader, wantCode: 1,
			want: []string{"pre-flight FAILED: the role " + targetARN + " does not trust the association's role " + goodARN,
				"aws iam update-assume-role-policy --role-name " + target + " --policy-document", "Nothing was written"}},
		{name: "iam:GetRole denied", args: []string{"--role-arn", goodARN}, user: denied, wantCode: 3,
			want: []string{"the pre-flight cannot read IAM, so nothing was written", "iam:GetRole", "--skip-preflight"}},
	}
	// Each case its own account and workload, so that one case's write (on a binary without the
	// pre-flight) does not decide the next.
	for i := range tests {
		sa, web := fmt.Sprintf("app-%d", i), fmt.Sprintf("web-%d", i)
		serviceAccount(t, c, ns, sa, nil)
		e.idleDeployment(t, c, ns, web, sa)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa, web := fmt.Sprintf("app-%d", i), fmt.Sprintf("web-%d", i)
			before := len(e.awsRequests(t))
			args := append([]string{"enable", "deployment/" + web, "-n", ns, "--pod-identity", "--eks-cluster", e.eksCluster}, tt.args...)
			t.Logf("kubectl-wi %s", strings.Join(args, " "))
			cmd := exec.Command(e.bin, args...)
			cmd.Env = e.awsEnv(&tt.user)
			r := e.run(t, cmd)
			if r.code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if w := piWritesOf(e.awsRequests(t)[before:], ns, goodARN, irsaARN, targetARN, typoARN); len(w) != 0 {
				t.Errorf("AWS writes: %+v; want none", w)
			}
			if got := e.associations(t, ns)[sa]; got != "" {
				t.Errorf("serviceaccount/%s has an association with %s; want none", sa, got)
			}
			if got := restartedAt(t, c, ns, web); got != "" {
				t.Errorf("deployment/%s restarted (restartedAt %q)", web, got)
			}
			if got, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), sa, metav1.GetOptions{}); err != nil || len(got.Annotations) != 0 {
				t.Errorf("serviceaccount/%s: %v, annotations %v", sa, err, got.Annotations)
			}
		})
	}
}

// TestEnablePodIdentityCreateOutput (issue 27, item 7): --create with --pod-identity creates the
// missing service account, and -o json prints the association as the EKS API returns it. A
// dry run prints the association as it would be, creating nothing and writing nothing to AWS.
// Under the default profile the webhook never injects Pod Identity, so the real run ends
// with exit 1 after writing (item 1); the association and the account are written all the same.
func TestEnablePodIdentityCreateOutput(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	name := "pi-create-" + ns
	role := e.addSTSRole(t, name, podIdentityTrust("sts:AssumeRole", "sts:TagSession"))
	e.awaitRole(t, e.testUser(), name)
	args := []string{"enable", "app", "--create", "-n", ns, "--pod-identity", "--eks-cluster", e.eksCluster, "--role-arn", role, "-o", "json"}

	before := len(e.awsRequests(t))
	dry := e.piWI(t, append(args, "--dry-run=client")...)
	piWant(t, dry, 0)
	var planned map[string]any
	if err := json.Unmarshal([]byte(dry.stdout), &planned); err != nil {
		t.Fatalf("dry run -o json: %v\n%s", err, dry.stdout)
	}
	want := map[string]any{"clusterName": e.eksCluster, "namespace": ns, "serviceAccount": "app", "roleArn": role, "disableSessionTags": false}
	for k, v := range want {
		if planned[k] != v {
			t.Errorf("dry run: %s = %v, want %v\n%s", k, planned[k], v, dry.stdout)
		}
	}
	if _, ok := planned["associationId"]; ok {
		t.Errorf("dry run printed an associationId, which only EKS gives:\n%s", dry.stdout)
	}
	if !strings.Contains(dry.stderr, "serviceaccount/app created (dry run)") {
		t.Errorf("dry run stderr:\n%s", dry.stderr)
	}
	if _, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), "app", metav1.GetOptions{}); err == nil {
		t.Errorf("the dry run created serviceaccount/app")
	}
	if w := piWritesOf(e.awsRequests(t)[before:], ns, role); len(w) != 0 {
		t.Errorf("the dry run wrote to AWS: %+v", w)
	}

	wantCode := 1
	if e.eksProfile() {
		wantCode = 0
	}
	r := e.piWI(t, args...)
	piWant(t, r, wantCode)
	sa, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), "app", metav1.GetOptions{})
	if err != nil || len(sa.Annotations) != 0 {
		t.Fatalf("serviceaccount/app: %v %v; want it created, with no annotation", err, sa)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("-o json: %v\n%s", err, r.stdout)
	}
	id, _ := got["associationId"].(string)
	d, err := e.eksClient(t).DescribePodIdentityAssociation(context.Background(), &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String(e.eksCluster), AssociationId: aws.String(id)})
	if err != nil {
		t.Fatalf("the association -o json names (%q): %v\n%s", id, err, r.stdout)
	}
	a := d.Association
	want = map[string]any{"associationArn": aws.ToString(a.AssociationArn), "clusterName": e.eksCluster, "namespace": ns, "serviceAccount": "app",
		"roleArn": role, "disableSessionTags": false}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("-o json: %s = %v, want %v (as EKS describes it)\n%s", k, got[k], v, r.stdout)
		}
	}
	created, _ := got["createdAt"].(string)
	if at, err := time.Parse(time.RFC3339, created); err != nil || at.Sub(aws.ToTime(a.CreatedAt)).Abs() > time.Millisecond {
		t.Errorf("-o json: createdAt %q, want %s (as EKS describes it)", created, aws.ToTime(a.CreatedAt))
	}
	if w := piWritesOf(e.awsRequests(t)[before:], ns, role); len(w) != 1 || w[0].Action != "CreatePodIdentityAssociation" {
		t.Errorf("AWS writes %+v; want the one CreatePodIdentityAssociation", w)
	}
}

// TestEnablePodIdentityKeptAnnotation (issue 27, item 14): enable --pod-identity on an account
// that keeps its eks.amazonaws.com/role-arn annotation says, in one line that is not an error,
// that the association takes precedence over the annotation for new pods, and how to remove
// it. Shown with a dry run: exit 0, no AWS write, the annotation untouched.
func TestEnablePodIdentityKeptAnnotation(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	e.forgetAssociations(t, ns)
	name := "pi-kept-" + ns
	role := e.addSTSRole(t, name, e.irsaAndPodIdentityTrust(ns, "app"))
	e.awaitRole(t, e.testUser(), name)
	serviceAccount(t, c, ns, "app", map[string]string{"eks.amazonaws.com/role-arn": role})

	before := len(e.awsRequests(t))
	r := e.piWI(t, "enable", "app", "-n", ns, "--pod-identity", "--eks-cluster", e.eksCluster, "--role-arn", role, "--dry-run=client")
	piWant(t, r, 0)
	want := "Warning: serviceaccount/app -n " + ns + " keeps its eks.amazonaws.com/role-arn annotation (" + role + "): the Pod Identity association would take precedence over it for new pods"
	if !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "precedence") != 1 ||
		!strings.Contains(r.stderr, "to remove it: kubectl wi disable serviceaccount/app -n "+ns+" --restart=never") {
		t.Errorf("stderr:\n%s\nwant one line with %q and the command that removes the annotation", r.stderr, want)
	}
	if strings.Contains(r.stderr, "error:") {
		t.Errorf("the line is an error:\n%s", r.stderr)
	}
	if w := piWritesOf(e.awsRequests(t)[before:], ns, role); len(w) != 0 {
		t.Errorf("AWS writes %+v; want none", w)
	}
	if sa, err := c.CoreV1().ServiceAccounts(ns).Get(context.Background(), "app", metav1.GetOptions{}); err != nil || sa.Annotations["eks.amazonaws.com/role-arn"] != role {
		t.Errorf("serviceaccount/app: %v, annotations %v", err, sa.Annotations)
	}
}
