// Package podidentity is the machinery of EKS Pod Identity's set-up outside the terminal: the
// association of a service account (read, planned, created, updated, deleted with the user's
// AWS credentials, idempotent), a role's trust for the EKS Auth service, what the cluster shows
// of the Pod Identity agent, and the migration of service accounts from IRSA to Pod Identity
// (Run).
//
// A migration runs in steps (Step), and says which one an account failed at:
//
//	pre-flight   reads only: the EKS cluster, each account's association, its role's trust
//	             policy (iam:GetRole, evaluated for pods.eks.amazonaws.com with sts:AssumeRole and
//	             sts:TagSession as IAM evaluates it; when it refuses, the corrected policy), the
//	             agent, the workloads whose pods lack the container credentials. Any problem
//	             stops the run here, nothing written.
//	trust        with --write-trust, the corrected policy written (iam:UpdateAssumeRolePolicy),
//	             only when the correction adds to the policy (a statement, or actions of the
//	             statement for pods.eks.amazonaws.com): a Deny or another principal's statement
//	             is never changed.
//	association  the association created, for the role the account's role-arn names.
//	admission    the webhook admits a dry-run pod of the account with the container
//	             credentials: EKS pushes associations to its webhook seconds after the call, and
//	             a pod created before that gets none.
//	verify       a probe pod of the account (verify.Run) proves the agent answers, the role's
//	             trust admits EKS Auth, and the caller is the role's session: before any of its
//	             workloads is restarted, so a failure leaves the workloads as they were.
//	restart      exactly the workloads whose live pods lack the container credentials.
//	rollout      their rollouts finish (bounded).
//	new pods     every new pod of the restarted workloads carries the container credentials.
//	remove-irsa  with --remove-irsa, the role-arn annotation removed; Pod Identity wins over
//	             it, so nothing is restarted for that.
//
// Roll-back: an association this run created is deleted when its account fails at admission
// or verify (or the run stops before the account's workloads are restarted): no pod uses it
// yet, and a pod created later must not get an unproven one. After a restart it stays, since
// the new pods use it; the run says what to do instead. The trust policy --write-trust wrote
// for the account's role is put back as IAM had it, once no other account of the run needs it.
//
// A migration reports to a report.Reporter as it goes: each fact and change an event of its
// step (CheckOf: migrate.pre-flight, migrate.verify, ...; Account NAMESPACE/NAME when it is
// one account's), progress a Step, the proofs' events as verify's fleet reports them, then
// each account's outcome (CheckAccount) and the verdict, a result event without an account,
// last. An event's message is the line migrate's text shows, its detail the lines under it.
//
// The agent: on EKS it is the eks-pod-identity-agent DaemonSet of kube-system, on the nodes'
// network at 169.254.170.23. A DaemonSet that exists but is not ready on every node fails the
// pre-flight. One that does not exist proves nothing either way (a self-managed agent, or the
// local test bed's, runs on the node outside Kubernetes' view), so the verify step, which
// reaches the agent from a real pod before any restart, is what proves it there.
package podidentity
