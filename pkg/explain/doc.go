// Package explain is the machinery of `kubectl wi explain` outside the terminal: for each
// service account with an identity, it reads the AWS side with the user's own credentials,
// read-only, and names each IAM misconfiguration with the statement or condition at fault and
// the corrected policy. It makes no STS call and creates no pod. With Config.Exchange it
// proves each IRSA account instead by exchanging a TokenRequest token with STS, from this
// machine.
//
// It speaks the engines' event model (pkg/check): every finding is a check.Event reported to a
// report.Reporter (Step for progress, Event for each check or info and the verdict last), so
// the same renderers show it. A fact several accounts share (a role exists, the provider
// lists an audience) is reported once, by the first account that needs it, and read once:
// AWS is called about once per distinct role, not per account. Refusal is the same reading
// for one account, which verify adds to an STS refusal.
//
// Check names:
//
//	cluster.issuer           the cluster's issuer (--issuer, the apiserver's discovery document, or EKS)
//	eks.cluster              the EKS cluster --eks-cluster names, and that its issuer is the apiserver's
//	explain.accounts         info: the service accounts explained
//	explain.serviceaccount   the account names a valid role or has an association
//	iam.role                 the role exists, in the account the credentials read (once per role)
//	iam.oidc_provider        the role's account has an IAM OIDC provider for the issuer (once)
//	iam.oidc_audience        the provider lists the account's audience as a client ID (once)
//	iam.trust                the trust policy admits the account's sub and aud through the provider;
//	                         otherwise the statement and condition that refuse, why, and the
//	                         corrected policy (the event's Detail is the diff, its Fix the command)
//	iam.trust_breadth        warn, one per finding: a trust policy that admits the account
//	                         admits more (no aud or sub condition, a sub pattern over other
//	                         namespaces, a void IfExists clause, a set operator on sub, a key
//	                         in another case, no Condition): the statement and clause, who
//	                         else it admits, the tightening as a diff (Detail), the command
//	                         that applies every tightening (Fix). Warnings exit 0
//	iam.trust_size           the corrected policy's length against IAM's limit
//	eks.association          the account's Pod Identity association, its role and target role,
//	                         its external ID and its inline session policy with what it allows
//	                         (warn: a session policy without disableSessionTags)
//	iam.podidentity_trust    the association's role trusts pods.eks.amazonaws.com with
//	                         sts:AssumeRole and sts:TagSession
//	iam.target_role_trust    the target role trusts the association's role
//	iam.target_role_external_id
//	                         the target role's trust requires the association's external ID
//	                         (warn when it admits the role without it)
//	exchange.scope           info (--exchange): what the exchange proves and what it does not
//	exchange.token           the TokenRequest API issued the account a token
//	exchange.assume_role     STS exchanged it for a session of the role
//	exchange.caller_identity GetCallerIdentity with that session names the role
package explain
