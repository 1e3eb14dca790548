package podidentity_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/internal/awstest"
	kt "github.com/kubectl-wi/kubectl-wi/pkg/internal/kubetest"
	"github.com/kubectl-wi/kubectl-wi/pkg/plugin/render"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/probe"
	"github.com/kubectl-wi/kubectl-wi/pkg/report"
	"github.com/kubectl-wi/kubectl-wi/pkg/restart"
	"github.com/kubectl-wi/kubectl-wi/pkg/targets"
	"github.com/kubectl-wi/kubectl-wi/pkg/trustpolicy"
)

const ns = "shop"

// testNow stamps the events.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// bed is a namespace of IRSA workloads, EKS and IAM in memory, and a prover.
type bed struct {
	client *fake.Clientset
	aws    *awstest.AWS
	// refuse makes the prover fail these accounts.
	refuse map[string]bool
	// duringProof, when set, runs once while the accounts are proven: what others do meanwhile.
	duringProof func(*awstest.AWS)
	// pods counts the pods the fake controller made, to name them.
	pods int
	// keys are the accounts whose new pods' container sets static AWS keys in its env.
	keys map[string]bool
	// ctx is the run's, Background when nil.
	ctx context.Context
	// api, when set, is the run's AWS in place of aws.
	api    podidentity.AWS
	mu     sync.Mutex
	proven []string
}

// newBed builds a namespace whose accounts (name -> role) each run a Deployment named after
// them with one pod on IRSA; every role trusts its account's web identity and, when podTrust,
// Pod Identity. The fake controller replaces a restarted Deployment's pod with one the webhook
// admits now: on Pod Identity once the account has an association.
func newBed(t *testing.T, accounts map[string]string, podTrust bool) *bed {
	t.Helper()
	b := &bed{aws: awstest.New(), refuse: map[string]bool{}, keys: map[string]bool{}}
	var objs []runtime.Object
	for name, role := range accounts {
		objs = append(objs, kt.ServiceAccount(ns, name, map[string]string{identity.AnnotationRoleARN: role}))
		d := kt.Deployment(ns, name, name)
		objs = append(objs, d, kt.Injected(d, name+"-irsa", "", identity.Config{RoleARN: role}))
		arn, err := identity.ParseRoleARN(role)
		if err != nil {
			t.Fatal(err)
		}
		if podTrust {
			b.aws.Roles[arn.Name] = awstest.TrustOf(awstest.IRSAStatement, awstest.PodIdentityStatement)
		} else {
			b.aws.Roles[arn.Name] = awstest.TrustOf(awstest.IRSAStatement)
		}
	}
	b.client = fake.NewClientset(append(objs, kt.Namespace(ns))...)
	kt.WebhookWithAssociations(b.client, 0, b.aws.Associated)
	b.client.PrependReactor("patch", "deployments", func(a clienttesting.Action) (bool, runtime.Object, error) {
		p := a.(clienttesting.PatchActionImpl)
		if len(p.GetPatchOptions().DryRun) > 0 {
			return false, nil, nil
		}
		name := p.GetName()
		obj, err := b.client.Tracker().Get(appsv1.SchemeGroupVersion.WithResource("deployments"), ns, name)
		if err != nil {
			return false, nil, nil
		}
		d := obj.(*appsv1.Deployment)
		pods := corev1.SchemeGroupVersion.WithResource("pods")
		list, _ := b.client.Tracker().List(pods, corev1.SchemeGroupVersion.WithKind("Pod"), ns)
		for _, pod := range list.(*corev1.PodList).Items {
			if pod.Labels["app"] == name {
				_ = b.client.Tracker().Delete(pods, ns, pod.Name)
			}
		}
		b.pods++
		next := kt.PodOf(d, fmt.Sprintf("%s-%d", name, b.pods), "")
		if b.aws.Associated(ns, d.Spec.Template.Spec.ServiceAccountName) {
			kt.InjectPodIdentity(next)
		}
		if b.keys[name] {
			next.Spec.Containers[0].Env = append(next.Spec.Containers[0].Env,
				corev1.EnvVar{Name: "AWS_ACCESS_KEY_ID", Value: "example"}, corev1.EnvVar{Name: "AWS_SECRET_ACCESS_KEY", Value: "example"})
		}
		_ = b.client.Tracker().Add(next)
		return false, nil, nil
	})
	return b
}

// prove proves each account as proveOne says, reporting the caller's check of each proof as
// verify's fleet does: with its account.
func (b *bed) prove(_ context.Context, _ string, want []podidentity.Want, _ int, rep report.Reporter) ([]podidentity.Proof, error) {
	proofs := make([]podidentity.Proof, len(want))
	for i, w := range want {
		proofs[i] = b.proveOne(w.ServiceAccount, w.RoleARN)
		status := check.StatusPass
		if !proofs[i].Passed {
			status = check.StatusFail
		}
		rep.Event(check.Event{V: check.ProtocolVersion, Time: testNow, Type: check.TypeCheck, Check: probe.CheckSTSCallerIdentity, Status: status,
			Message: "the caller", Account: ns + "/" + w.ServiceAccount})
	}
	return proofs, nil
}

func (b *bed) proveOne(sa, role string) podidentity.Proof {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.proven = append(b.proven, sa)
	if b.duringProof != nil {
		b.duringProof(b.aws)
		b.duringProof = nil
	}
	if b.refuse[sa] {
		return podidentity.Proof{Why: "verify failed 1 of 12 checks", Events: []check.Event{{Type: check.TypeCheck, Check: "podidentity.agent", Status: check.StatusFail, Message: "the agent at 169.254.170.23 refused the connection", Fix: "install the EKS Pod Identity Agent add-on"}}}
	}
	return podidentity.Proof{Passed: true, Caller: strings.Replace(strings.Replace(role, ":iam:", ":sts:", 1), ":role/", ":assumed-role/", 1) + "/eks-prod-probe"}
}

// run migrates the namespace (or targets) with cfg's flags and returns what it printed.
func (b *bed) run(t *testing.T, cfg podidentity.Config) (podidentity.Outcome, string, error) {
	t.Helper()
	o, out, errOut, err := b.runStreams(t, cfg)
	return o, out + errOut, err
}

// runStreams is run with what went to stdout and to stderr apart.
func (b *bed) runStreams(t *testing.T, cfg podidentity.Config) (podidentity.Outcome, string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	text := render.NewMigrateText(&out, &errOut)
	o, err := b.runWith(cfg, text)
	if text.Err() != nil {
		t.Fatal(text.Err())
	}
	return o, out.String(), errOut.String(), err
}

// runWith migrates with cfg's flags, reporting to rep.
func (b *bed) runWith(cfg podidentity.Config, rep report.Reporter) (podidentity.Outcome, error) {
	b.client.ClearActions()
	cfg.Namespace, cfg.Cluster = ns, awstest.Cluster
	ctx := b.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var api podidentity.AWS = b.aws
	if b.api != nil {
		api = b.api
	}
	return podidentity.Run(ctx, cfg, podidentity.Deps{
		Client: b.client, AWS: api, Prove: b.prove, Restarter: restart.DefaultRestarter(time.Now),
		AdmissionTimeout: time.Second, AdmissionPoll: time.Millisecond, RolloutPoll: time.Millisecond,
		Now: func() time.Time { return testNow },
	}, rep)
}

func k8sWrites(c *fake.Clientset) int { return kt.Count(c.Actions()).Writes() }

// storedWrites counts the writes that were not server-side dry runs.
func storedWrites(c *fake.Clientset) int {
	n := 0
	for _, a := range c.Actions() {
		switch a := a.(type) {
		case clienttesting.PatchActionImpl:
			if len(a.GetPatchOptions().DryRun) == 0 {
				n++
			}
		case clienttesting.CreateActionImpl:
			if len(a.GetCreateOptions().DryRun) == 0 {
				n++
			}
		case clienttesting.UpdateActionImpl, clienttesting.DeleteActionImpl:
			n++
		}
	}
	return n
}

// TestMigrateNamespace: every IRSA account of the namespace gets its association, a proof
// before its workload is restarted, the restart, and pods on Pod Identity; a rerun writes
// nothing anywhere and restarts nothing.
func TestMigrateNamespace(t *testing.T) {
	b := newBed(t, map[string]string{"api": awstest.Role, "worker": awstest.OtherRole}, true)
	b.aws.Roles["other"] = awstest.TrustOf(awstest.PodIdentityStatement)
	o, out, err := b.run(t, podidentity.Config{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(b.aws.Assocs) != 2 || b.aws.Writes() != 2 {
		t.Fatalf("%d associations, %d AWS writes; want 2 and 2\n%s", len(b.aws.Assocs), b.aws.Writes(), out)
	}
	if strings.Join(b.proven, ",") != "api,worker" && strings.Join(b.proven, ",") != "worker,api" {
		t.Fatalf("proven %v", b.proven)
	}
	if o.Restarted != 2 || len(o.Accounts) != 2 || o.Accounts[0].Association != podidentity.OpCreate || o.Accounts[0].Failed != "" {
		t.Fatalf("outcome %+v\n%s", o, out)
	}
	for _, want := range []string{
		"pre-flight: EKS cluster prod (" + awstest.ClusterARN + ")",
		"pre-flight: the role " + awstest.Role + " trusts pods.eks.amazonaws.com",
		"pre-flight: the Pod Identity agent: no DaemonSet kube-system/eks-pod-identity-agent",
		"serviceaccount/api: verified on EKS Pod Identity: a new pod gets credentials from the agent, the caller is arn:aws:sts::111122223333:assumed-role/app/eks-prod-probe",
		"deployment.apps/api restarted: pod api-irsa lacks EKS Pod Identity's container credentials",
		"serviceaccount/api: the new pods of deployment.apps/api carry Pod Identity's container credentials",
		"2 of 2 service account(s) on EKS Pod Identity",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The role-arn annotation stays without --remove-irsa.
	sa, _ := b.client.CoreV1().ServiceAccounts(ns).Get(context.Background(), "api", metav1.GetOptions{})
	if sa.Annotations[identity.AnnotationRoleARN] != awstest.Role {
		t.Fatalf("annotations %v", sa.Annotations)
	}

	writes := b.aws.Writes()
	b.proven = nil
	o, out, err = b.run(t, podidentity.Config{})
	if err != nil || b.aws.Writes() != writes || k8sWrites(b.client) != 0 || len(b.proven) != 0 || o.Restarted != 0 {
		t.Fatalf("rerun: err %v, AWS writes %d, k8s writes %v, proven %v\n%s", err, b.aws.Writes()-writes, kt.Count(b.client.Actions()), b.proven, out)
	}
	if !strings.Contains(out, "nothing to do: serviceaccount/api and serviceaccount/worker are on EKS Pod Identity already") {
		t.Fatalf("rerun said:\n%s", out)
	}
}

// TestMigrateRemoveIRSA: the annotation goes only after the pods are proven, alone (the other
// annotations stay), and restarts nothing; a rerun finds the account by its association.
func TestMigrateRemoveIRSA(t *testing.T) {
	b := newBed(t, map[string]string{"api": awstest.Role}, true)
	_, out, err := b.run(t, podidentity.Config{Targets: []targets.Ref{{Kind: targets.ServiceAccount, Name: "api"}}, RemoveIRSA: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	sa, _ := b.client.CoreV1().ServiceAccounts(ns).Get(context.Background(), "api", metav1.GetOptions{})
	if _, ok := sa.Annotations[identity.AnnotationRoleARN]; ok || sa.Annotations["keep.example.com/note"] != "untouched" {
		t.Fatalf("annotations %v", sa.Annotations)
	}
	restarts := strings.Count(out, " restarted:")
	if restarts != 1 || strings.Index(out, "restarted:") > strings.Index(out, identity.AnnotationRoleARN+" removed") {
		t.Fatalf("want one restart, before the annotation's removal:\n%s", out)
	}
	for _, cfg := range []podidentity.Config{{RemoveIRSA: true}, {Targets: []targets.Ref{{Kind: targets.ServiceAccount, Name: "api"}}}} {
		writes := b.aws.Writes()
		o, out, err := b.run(t, cfg)
		if err != nil || b.aws.Writes() != writes || k8sWrites(b.client) != 0 || o.Restarted != 0 || !strings.Contains(out, "nothing to do") {
			t.Fatalf("rerun %+v: %v\n%s", cfg, err, out)
		}
	}
}

// TestMigrateTrustMissing: a role that does not trust Pod Identity stops the run at the
// pre-flight, the corrected policy printed, nothing written; --write-trust writes it, the
// role's web identity statement kept as it was.
func TestMigrateTrustMissing(t *testing.T) {
	b := newBed(t, map[string]string{"api": awstest.Role}, false)
	_, out, err := b.run(t, podidentity.Config{})
	var fe *podidentity.FailedError
	if !errors.As(err, &fe) || fe.Step != podidentity.StepPreflight {
		t.Fatalf("err %v, want a pre-flight failure\n%s", err, out)
	}
	if b.aws.Writes() != 0 || k8sWrites(b.client) != 0 || len(b.proven) != 0 {
		t.Fatalf("the pre-flight wrote: AWS %d, k8s %v", b.aws.Writes(), kt.Count(b.client.Actions()))
	}
	for _, want := range []string{"does not trust pods.eks.amazonaws.com", `"Service": "pods.eks.amazonaws.com"`, "aws iam update-assume-role-policy --role-name app", "--write-trust", "nothing was changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	_, out, err = b.run(t, podidentity.Config{WriteTrust: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	doc, err := trustpolicy.ParseDocument(b.aws.Roles["app"])
	if err != nil {
		t.Fatal(err)
	}
	before, _ := trustpolicy.ParseDocument(awstest.TrustOf(awstest.IRSAStatement))
	if len(doc.Statements) != 2 || doc.StatementJSON(0) != before.StatementJSON(0) {
		t.Fatalf("written policy:\n%s", doc.JSON())
	}
	if b.aws.Calls[podidentity.ActionUpdateAssumeRolePolicy] != 1 || !strings.Contains(out, "trust policy updated") {
		t.Fatalf("%d policy writes\n%s", b.aws.Calls[podidentity.ActionUpdateAssumeRolePolicy], out)
	}
}

// TestMigrateDenyIsNotWritten: a correction that would drop a Deny is printed, never written.
func TestMigrateDenyIsNotWritten(t *testing.T) {
	b := newBed(t, map[string]string{"api": awstest.Role}, false)
	b.aws.Roles["app"] = awstest.TrustOf(awstest.IRSAStatement, awstest.PodIdentityStatement, `{"Effect":"Deny","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":"sts:TagSession"}`)
	_, out, err := b.run(t, podidentity.Config{WriteTrust: true})
	var fe *podidentity.FailedError
	if !errors.As(err, &fe) || b.aws.Writes() != 0 || !strings.Contains(out, "which migrate does not do") {
		t.Fatalf("err %v, %d writes\n%s", err, b.aws.Writes(), out)
	}
}

// TestMigrateVerifyFails: a probe that fails leaves the account as it was: its association
// deleted again, its workload not restarted; the others go on.
func TestMigrateVerifyFails(t *testing.T) {
	b := newBed(t, map[string]string{"api": awstest.Role, "worker": awstest.Role}, true)
	b.refuse["worker"] = true
	o, out, err := b.run(t, podidentity.Config{RemoveIRSA: true})
	var fe *podidentity.FailedError
	if !errors.As(err, &fe) || fe.Failed != 1 || fe.Step != podidentity.StepVerify {
		t.Fatalf("err %v\n%s", err, out)
	}
	if b.aws.Associated(ns, "worker") || !b.aws.Associated(ns, "api") {
		t.Fatalf("associations %v", b.aws.Assocs)
	}
	for _, want := range []string{
		"serviceaccount/worker: the verify step FAILED: verify failed 1 of 12 checks",
		"FAIL podidentity.agent  the agent at 169.254.170.23 refused the connection",
		"fix: install the EKS Pod Identity Agent add-on",
		"deleted: rolled back; its workloads were not restarted, so it is as it was",
		"failed: serviceaccount/worker at the verify step",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "deployment.apps/worker restarted") {
		t.Errorf("worker was restarted:\n%s", out)
	}
	sa, _ := b.client.CoreV1().ServiceAccounts(ns).Get(context.Background(), "worker", metav1.GetOptions{})
	if sa.Annotations[identity.AnnotationRoleARN] != awstest.Role {
		t.Fatalf("worker's annotation: %v", sa.Annotations)
	}
	if !o.Accounts[1].RolledBack || o.Accounts[0].Failed != "" || !o.Accounts[0].IRSARemoved {
		t.Fatalf("outcome %+v", o.Accounts)
	}
}

// TestMigratePreflightProblems: an association of another role, and an agent DaemonSet not
// ready, each stop the run before any write.
func TestMigratePreflightProblems(t *testing.T) {
	b := newBed(t, map[string]string{"api": awstest.Role}, true)
	b.aws.Assocs["a-0"] = &awsread.Association{ID: "a-0", Namespace: ns, ServiceAccount: "api", RoleARN: awstest.OtherRole}
	_, out, err := b.run(t, podidentity.Config{})
	if !strings.Contains(out, "gives the role "+awstest.OtherRole) || b.aws.Writes() != 0 || !isFailed(err) {
		t.Fatalf("err %v\n%s", err, out)
	}

	b = newBed(t, map[string]string{"api": "arn:aws:iam::444455556666:role/app"}, true)
	_, out, err = b.run(t, podidentity.Config{})
	if !strings.Contains(out, "is in account 444455556666, and the cluster in 111122223333") || b.aws.Writes() != 0 || !isFailed(err) {
		t.Fatalf("err %v\n%s", err, out)
	}

	b = newBed(t, map[string]string{"api": awstest.Role}, true)
	_ = b.client.Tracker().Add(&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: podidentity.AgentDaemonSet, Namespace: podidentity.AgentNamespace},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, NumberReady: 2}})
	_, out, err = b.run(t, podidentity.Config{})
	if !strings.Contains(out, "has 2 ready of 3 pods") || b.aws.Writes() != 0 || !isFailed(err) {
		t.Fatalf("err %v\n%s", err, out)
	}
}

// TestMigrateBadInput: exit-2 cases, refused before any write.
func TestMigrateBadInput(t *testing.T) {
	b := newBed(t, map[string]string{"api": awstest.Role}, true)
	_ = b.client.Tracker().Add(kt.ServiceAccount(ns, "plain", nil))
	for name, cfg := range map[string]podidentity.Config{
		"missing account":         {Targets: []targets.Ref{{Kind: targets.ServiceAccount, Name: "nope"}}},
		"no role, no association": {Targets: []targets.Ref{{Kind: targets.ServiceAccount, Name: "plain"}}},
		// Bad input stays all or nothing: the good account beside it is not migrated either.
		"a good account and a bad one": {Targets: []targets.Ref{{Kind: targets.ServiceAccount, Name: "api"}, {Kind: targets.ServiceAccount, Name: "plain"}}},
		"a dry run of them":            {Targets: []targets.Ref{{Kind: targets.ServiceAccount, Name: "api"}, {Kind: targets.ServiceAccount, Name: "plain"}}, DryRun: "client"},
	} {
		_, out, err := b.run(t, cfg)
		var ie *podidentity.InputError
		if !errors.As(err, &ie) || b.aws.Writes() != 0 || k8sWrites(b.client) != 0 || strings.Contains(out, "plan") {
			t.Errorf("%s: err %v\n%s", name, err, out)
		}
	}
	_, err := podidentity.Run(context.Background(), podidentity.Config{Namespace: ns, Cluster: "nope"}, podidentity.Deps{Client: b.client, AWS: b.aws}, render.NewMigrateText(io.Discard, io.Discard))
	var ie *podidentity.InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), `EKS cluster "nope" not found`) {
		t.Fatalf("unknown cluster: %v", err)
	}
}

// TestMigrateBadRoleAnnotation: a role-arn annotation that is no role ARN is bad input, named
// with the account and ParseRoleARN's reason, whether the account is named or found in the
// namespace; nothing is written, the good account beside it included.
func TestMigrateBadRoleAnnotation(t *testing.T) {
	b := newBed(t, map[string]string{"api": awstest.Role}, true)
	_ = b.client.Tracker().Add(kt.ServiceAccount(ns, "bad", map[string]string{identity.AnnotationRoleARN: "arn:aws:iam::1:role/x"}))
	const wantErr = `serviceaccount/bad in namespace "shop": eks.amazonaws.com/role-arn: role ARN "arn:aws:iam::1:role/x" has account "1": expected 12 digits`
	for _, tt := range []struct {
		name string
		cfg  podidentity.Config
	}{
		{name: "named", cfg: podidentity.Config{Targets: []targets.Ref{{Kind: targets.ServiceAccount, Name: "bad"}}}},
		{name: "beside a good one", cfg: podidentity.Config{Targets: []targets.Ref{{Kind: targets.ServiceAccount, Name: "api"}, {Kind: targets.ServiceAccount, Name: "bad"}}}},
		{name: "the namespace's", cfg: podidentity.Config{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, out, err := b.run(t, tt.cfg)
			var ie *podidentity.InputError
			if !errors.As(err, &ie) || err.Error() != wantErr {
				t.Fatalf("err %v, want the InputError %q", err, wantErr)
			}
			if b.aws.Writes() != 0 || k8sWrites(b.client) != 0 || strings.Contains(out, "plan") {
				t.Errorf("AWS writes %d, Kubernetes writes %d\n%s", b.aws.Writes(), k8sWrites(b.client), out)
			}
		})
	}
}

// TestMigrateDryRun: a dry run shows the calls and restarts, and sends no write.
func TestMigrateDryRun(t *testing.T) {
	for _, mode := range []string{"client", "server"} {
		b := newBed(t, map[string]string{"api": awstest.Role}, true)
		_, out, err := b.run(t, podidentity.Config{DryRun: mode, RemoveIRSA: true})
		if err != nil || b.aws.Writes() != 0 || storedWrites(b.client) != 0 || len(b.proven) != 0 {
			t.Fatalf("%s: err %v, AWS %d, k8s %v\n%s", mode, err, b.aws.Writes(), kt.Count(b.client.Actions()), out)
		}
		for _, want := range []string{"aws eks create-pod-identity-association --cluster-name prod --namespace shop --service-account api --role-arn " + awstest.Role, "deployment.apps/api restarted (", identity.AnnotationRoleARN + " removed ("} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %q:\n%s", mode, want, out)
			}
		}
		if mode == "server" && (!strings.Contains(out, "EKS and IAM have no dry run") || kt.Count(b.client.Actions())["patch deployments"] != 1 || kt.Count(b.client.Actions())["patch serviceaccounts"] != 1) {
			t.Errorf("server: %v\n%s", kt.Count(b.client.Actions()), out)
		}
	}
}

// TestMigrateDenied: a write AWS refuses stops the run naming the action; nothing of the
// account is left behind.
func TestMigrateDenied(t *testing.T) {
	b := newBed(t, map[string]string{"api": awstest.Role}, true)
	b.aws.Deny = []string{podidentity.ActionCreateAssociation}
	_, out, err := b.run(t, podidentity.Config{})
	if err == nil || !strings.Contains(err.Error(), "ask for "+podidentity.ActionCreateAssociation) || isFailed(err) || k8sWrites(b.client) != 0 {
		t.Fatalf("err %v\n%s", err, out)
	}
}

func isFailed(err error) bool {
	var fe *podidentity.FailedError
	return errors.As(err, &fe)
}

// TestMigrateOneBadAccount: an account whose role does not trust Pod Identity is left
// untouched, with its reason and fix, and no longer holds the others back: a dry run prints the
// plan of both, a run migrates the good one; both exit as a failure naming the bad one.
func TestMigrateOneBadAccount(t *testing.T) {
	tests := []struct {
		name     string
		dryRun   string
		want     []string
		wantGood bool // api has its association and its workload was restarted
	}{
		{
			name:   "client dry run",
			dryRun: "client",
			want: []string{
				"plan (dry run): 2 service account(s) of namespace shop: 1 to migrate, 0 on EKS Pod Identity already, 1 skipped",
				"serviceaccount/api: 3 task(s):",
				"  1. podidentityassociation created (dry run): aws eks create-pod-identity-association --cluster-name prod --namespace shop --service-account api --role-arn " + awstest.Role,
				"  2. a probe pod proves the agent, the role's trust and the caller before any restart (not in a dry run)",
				"  3. deployment.apps/api restarted (dry run): pod api-irsa lacks EKS Pod Identity's container credentials",
				"serviceaccount/worker: SKIPPED, left untouched: the role " + awstest.OtherRole + " does not trust pods.eks.amazonaws.com",
				"(fix: rerun with --write-trust, or apply the policy the pre-flight printed)",
				"skipped at the pre-flight: serviceaccount/worker; a run without --dry-run migrates the others, leaves these untouched and exits 1",
			},
		},
		{
			name:   "server dry run",
			dryRun: "server",
			want: []string{
				"serviceaccount/api: 3 task(s):",
				"deployment.apps/api restarted (server dry run)",
				"serviceaccount/worker: SKIPPED, left untouched: the role " + awstest.OtherRole + " does not trust pods.eks.amazonaws.com",
			},
		},
		{
			name:     "run",
			wantGood: true,
			want: []string{
				"pre-flight FAILED for serviceaccount/worker: the role " + awstest.OtherRole + " does not trust pods.eks.amazonaws.com",
				"serviceaccount/worker: skipped, left untouched: the role " + awstest.OtherRole,
				"serviceaccount/api: verified on EKS Pod Identity",
				"deployment.apps/api restarted: ",
				"1 of 2 service account(s) on EKS Pod Identity",
				"failed: serviceaccount/worker at the pre-flight step, left untouched: the role " + awstest.OtherRole + " does not trust pods.eks.amazonaws.com",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBed(t, map[string]string{"api": awstest.Role, "worker": awstest.OtherRole}, true)
			b.aws.Roles["other"] = awstest.TrustOf(awstest.IRSAStatement)
			o, out, err := b.run(t, podidentity.Config{DryRun: tt.dryRun})
			var fe *podidentity.FailedError
			if !errors.As(err, &fe) || fe.Failed != 1 || fe.Step != podidentity.StepPreflight {
				t.Fatalf("err %v, want the pre-flight failure of one account\n%s", err, out)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if b.aws.Associated(ns, "worker") || strings.Contains(out, "deployment.apps/worker restarted") || b.aws.Calls[podidentity.ActionUpdateAssumeRolePolicy] != 0 {
				t.Errorf("worker was touched: associations %v\n%s", b.aws.Assocs, out)
			}
			if got := b.aws.Associated(ns, "api"); got != tt.wantGood || (o.Restarted == 1) != tt.wantGood {
				t.Errorf("api associated %v, %d restarted; want migrated %v\n%s", got, o.Restarted, tt.wantGood, out)
			}
			if wantWrites := map[bool]int{true: 1, false: 0}[tt.wantGood]; b.aws.Writes() != wantWrites || (!tt.wantGood && storedWrites(b.client) != 0) {
				t.Errorf("%d AWS writes, k8s %v; want %d AWS writes", b.aws.Writes(), kt.Count(b.client.Actions()), wantWrites)
			}
			if o.Accounts[1].Name != "worker" || o.Accounts[1].Failed != podidentity.StepPreflight || o.Accounts[1].Association != podidentity.OpNone {
				t.Errorf("worker's outcome %+v", o.Accounts[1])
			}
		})
	}
}

// TestMigrateTrustRollBack: when the account whose role --write-trust corrected fails its
// proof, the association is deleted and the role's trust policy put back as IAM had it, unless
// another account of the run still needs it or someone changed the policy since; when it cannot
// be put back, the output says what stays changed and the command that restores it.
func TestMigrateTrustRollBack(t *testing.T) {
	original := awstest.TrustOf(awstest.IRSAStatement)
	concurrent := awstest.TrustOf(awstest.IRSAStatement, awstest.PodIdentityStatement, `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}`)
	compact := func(doc string) string {
		d, err := trustpolicy.ParseDocument(doc)
		if err != nil {
			t.Fatal(err)
		}
		return d.Compact()
	}
	tests := []struct {
		name string
		// accounts on the role app, and those whose proof fails
		accounts, refuse []string
		// duringProof runs while the accounts are proven: what others do meanwhile
		duringProof func(a *awstest.AWS)
		interrupt   bool   // Ctrl-C while the accounts are proven
		wantPolicy  string // the role's trust policy after the run; "" means as migrate wrote it
		wantWrites  int    // iam:UpdateAssumeRolePolicy calls
		want        []string
	}{
		{
			name: "restored", accounts: []string{"api"}, refuse: []string{"api"},
			wantPolicy: original, wantWrites: 2,
			want: []string{"deleted: rolled back; its workloads were not restarted, and the trust policy of " + awstest.Role + " restored to the one it had before this run (the statement --write-trust added for pods.eks.amazonaws.com removed), so it is as it was"},
		},
		{
			name: "every account of the role fails", accounts: []string{"api", "worker"}, refuse: []string{"api", "worker"},
			wantPolicy: original, wantWrites: 2,
			want: []string{"restored to the one it had before this run", "failed: serviceaccount/api at the verify step; serviceaccount/worker at the verify step"},
		},
		{
			name: "another account keeps it", accounts: []string{"api", "worker"}, refuse: []string{"worker"},
			wantWrites: 1,
			want:       []string{"deleted: rolled back; its workloads were not restarted; the trust policy of " + awstest.Role + " keeps the statement this run added for pods.eks.amazonaws.com, which serviceaccount/api still needs"},
		},
		{
			name: "interrupted", accounts: []string{"api"}, interrupt: true,
			wantPolicy: original, wantWrites: 2,
			want: []string{"deleted: rolled back; the run stopped before its workloads were restarted", "the trust policy of " + awstest.Role + " restored to the one it had before this run"},
		},
		{
			name: "changed meanwhile", accounts: []string{"api"}, refuse: []string{"api"},
			duringProof: func(a *awstest.AWS) { a.Roles["app"] = concurrent },
			wantPolicy:  concurrent, wantWrites: 1,
			want: []string{"the trust policy of " + awstest.Role + " changed after this run wrote it, so it is left as it is, and may still have the statement this run added for pods.eks.amazonaws.com; to restore the policy it had before this run: aws iam update-assume-role-policy --role-name app --policy-document '" + compact(original) + "'"},
		},
		{
			name: "restore denied", accounts: []string{"api"}, refuse: []string{"api"},
			duringProof: func(a *awstest.AWS) { a.Deny = []string{podidentity.ActionUpdateAssumeRolePolicy} },
			wantWrites:  2,
			want:        []string{"could not restore the trust policy of " + awstest.Role + " (", "it still has the statement this run added for pods.eks.amazonaws.com; to restore the policy it had: aws iam update-assume-role-policy --role-name app --policy-document '" + compact(original) + "'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			accounts := map[string]string{}
			for _, a := range tt.accounts {
				accounts[a] = awstest.Role
			}
			b := newBed(t, accounts, false)
			for _, a := range tt.refuse {
				b.refuse[a] = true
			}
			b.duringProof = tt.duringProof
			if tt.interrupt {
				ctx, cancel := context.WithCancel(context.Background())
				b.ctx, b.duringProof = ctx, func(*awstest.AWS) { cancel() }
			}
			_, out, err := b.run(t, podidentity.Config{WriteTrust: true})
			if tt.interrupt != errors.Is(err, context.Canceled) || (!tt.interrupt && !isFailed(err)) {
				t.Fatalf("err %v, want a failed run, or an interrupted one when interrupted\n%s", err, out)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "so it is as it was") && tt.wantPolicy != original {
				t.Errorf("says the account is as it was while its role's trust stays changed:\n%s", out)
			}
			got := b.aws.Roles["app"]
			switch tt.wantPolicy {
			case "":
				if d, err := trustpolicy.ParseDocument(got); err != nil || len(d.Statements) != 2 {
					t.Errorf("policy %s, want the one migrate wrote", got)
				}
			default:
				if got != tt.wantPolicy {
					t.Errorf("policy\n%s\nwant, byte for byte,\n%s", got, tt.wantPolicy)
				}
			}
			if n := b.aws.Calls[podidentity.ActionUpdateAssumeRolePolicy]; n != tt.wantWrites {
				t.Errorf("%d policy writes, want %d\n%s", n, tt.wantWrites, out)
			}
			for _, a := range tt.refuse {
				if b.aws.Associated(ns, a) {
					t.Errorf("%s keeps its association", a)
				}
			}
		})
	}
}
