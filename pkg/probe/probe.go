package probe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
)

// The env the pod identity webhook injects, which the probe reads.
const (
	envRoleARN                = "AWS_ROLE_ARN"
	envWebIdentityTokenFile   = "AWS_WEB_IDENTITY_TOKEN_FILE"
	envContainerFullURI       = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envContainerAuthTokenFile = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
)

// DefaultAudience is the audience of IRSA tokens unless eks.amazonaws.com/audience says
// otherwise.
const DefaultAudience = identity.DefaultAudience

// PodIdentityAudience is the audience of EKS Pod Identity tokens.
const PodIdentityAudience = identity.PodIdentityAudience

// DefaultStepTimeout bounds each network call (STS, the Pod Identity agent).
const DefaultStepTimeout = 30 * time.Second

// Check names: stable, dotted, the `check` field of each event. The TUI and the plugin key on
// them; add new ones, never rename one.
const (
	CheckEnvPath            = "env.path"       // which identity path the pod got
	CheckEnvRoleARN         = "env.role_arn"   // AWS_ROLE_ARN set, a role ARN, the expected one
	CheckEnvTokenFile       = "env.token_file" // AWS_WEB_IDENTITY_TOKEN_FILE set
	CheckTokenFile          = "token.file"     // the token file is readable by this user
	CheckTokenFormat        = "token.format"   // it holds a JWT
	CheckTokenAudience      = "token.audience"
	CheckTokenLifetime      = "token.lifetime" // exp - iat is the requested expirationSeconds
	CheckTokenExpiry        = "token.expiry"   // exp is in the future
	CheckTokenIssuer        = "token.issuer"
	CheckTokenSubject       = "token.subject"
	CheckSTSEndpoint        = "sts.endpoint" // info: where STS calls go
	CheckSTSAssumeRole      = "sts.assume_role"
	CheckSTSCallerIdentity  = "sts.caller_identity"
	CheckPodIdentityEnv     = "podidentity.env"
	CheckPodIdentityFile    = "podidentity.token_file"
	CheckPodIdentityFormat  = "podidentity.token_format"
	CheckPodIdentityAud     = "podidentity.audience"
	CheckPodIdentityExpiry  = "podidentity.expiry"
	CheckPodIdentityIssuer  = "podidentity.issuer"
	CheckPodIdentitySubject = "podidentity.subject"
	CheckPodIdentityAgent   = "podidentity.agent" // the agent returned credentials
)

// Identity paths, the value of Summary.Path and of env.path's data.
const (
	PathIRSA        = "irsa"
	PathPodIdentity = "podidentity"
)

// Config is what the plugin expects the pod to have, passed as the probe command's flags.
type Config struct {
	ExpectedAudience   string // the IRSA token's audience; empty means sts.amazonaws.com
	ExpectedExpiration int64  // the projected token's expirationSeconds; 0 skips token.lifetime
	ExpectedIssuer     string // the cluster's issuer; empty skips the issuer checks
	ExpectedSubject    string // system:serviceaccount:NS:SA; empty skips the subject checks
	ExpectedRoleARN    string // the role the service account names; empty skips the comparison
	Region             string // STS region when the pod's env names none
	SessionName        string // RoleSessionName; empty means kubectl-wi-probe
	StepTimeout        time.Duration
	// InPod is true when the probe runs in the app's own pod (verify --in-pod, an ephemeral
	// container with the app's env and user): after the identity checks it reports the app's
	// processes and their AWS SDKs (Deps.App).
	InPod bool
}

func (c Config) withDefaults() Config {
	if c.ExpectedAudience == "" {
		c.ExpectedAudience = DefaultAudience
	}
	if c.SessionName == "" {
		c.SessionName = DefaultSessionName
	}
	if c.StepTimeout <= 0 {
		c.StepTimeout = DefaultStepTimeout
	}
	return c
}

// Deps is the probe's view of the process and the network. The caller supplies the process
// (the command passes os.Getenv, os.ReadFile, time.Now); tests pass fakes.
type Deps struct {
	Getenv   func(string) string          // required
	ReadFile func(string) ([]byte, error) // required
	Now      func() time.Time             // required
	Getuid   func() int                   // optional: names the user in token file errors

	// NewSTS builds an STS client for target with creds (nil: anonymous). Nil means
	// NewSTSClient with HTTPClient.
	NewSTS func(target STSTarget, creds aws.CredentialsProvider) STSClient

	// HTTPClient sends the Pod Identity agent request and, when NewSTS is nil, the STS calls.
	// Nil means a plain http.Client for the agent and, for STS, the SDK's default client with
	// the pod's AWS_CA_BUNDLE and proxy env (STSTransport).
	HTTPClient HTTPDoer

	// App reads the app's processes and SDKs when Config.InPod; nil: app.sdk is skipped.
	App AppScanner
}

// Summary is the verdict of a run: what the result event says.
type Summary struct {
	Status check.Status // pass, warn or fail
	Path   string       // irsa, podidentity, or empty when the pod has neither
	Checks int          // check events emitted, skipped ones included
	Failed int
	Warned int
}

// Run runs every check for the identity path the pod got, writing each as an event to sink,
// then a result event. Failed checks are events, not errors: the error is for a sink that
// cannot be written or a Deps that lacks what Run needs.
func Run(ctx context.Context, cfg Config, deps Deps, sink check.Sink) (Summary, error) {
	if deps.Getenv == nil || deps.ReadFile == nil || deps.Now == nil {
		return Summary{}, errors.New("probe: Deps needs Getenv, ReadFile and Now")
	}
	if sink == nil {
		return Summary{}, errors.New("probe: no sink")
	}
	r := &runner{ctx: ctx, cfg: cfg.withDefaults(), deps: deps, sink: sink}
	if cfg.InPod {
		// The app's env may hold keys of its own, which no event may show.
		for _, name := range identity.SecretEnv {
			r.addSecret(deps.Getenv(name))
		}
	}
	r.run()
	if cfg.InPod {
		r.app()
	}
	r.result()
	return r.sum, r.err
}

// runner holds one run's state: the secrets seen so far and the tally.
type runner struct {
	ctx  context.Context
	cfg  Config
	deps Deps
	sink check.Sink

	target    STSTarget
	transport STSTransport
	secrets   []string

	sum   Summary
	tally check.Tally
	err   error // the first sink error
}

func (r *runner) run() {
	irsa := r.deps.Getenv(envRoleARN) != "" || r.deps.Getenv(envWebIdentityTokenFile) != ""
	podIdentity := r.deps.Getenv(envContainerFullURI) != ""
	switch {
	case podIdentity:
		r.sum.Path = PathPodIdentity
		msg := "EKS Pod Identity: " + envContainerFullURI + " is set"
		if irsa {
			msg += " (IRSA env is set too)"
		}
		r.check(CheckEnvPath, check.StatusPass, msg, "", map[string]any{"path": PathPodIdentity, "irsa_env": irsa})
		if irsa {
			r.info(CheckEnvPath, "both EKS Pod Identity and IRSA env are set: Pod Identity wins, so the probe checks Pod Identity; "+
				"note that an SDK's default credential chain (aws-sdk-go-v2, boto3) tries "+envWebIdentityTokenFile+" before container credentials, "+
				"so remove the eks.amazonaws.com/role-arn annotation or the Pod Identity association to leave one",
				map[string]any{"path": PathPodIdentity})
		}
		r.podIdentity()
	case irsa:
		r.sum.Path = PathIRSA
		r.check(CheckEnvPath, check.StatusPass, "IRSA: "+envRoleARN+" or "+envWebIdentityTokenFile+" is set", "", map[string]any{"path": PathIRSA})
		r.irsa()
	default:
		r.check(CheckEnvPath, check.StatusFail,
			"neither IRSA ("+envRoleARN+", "+envWebIdentityTokenFile+") nor EKS Pod Identity ("+envContainerFullURI+") env is set: the pod identity webhook did not mutate this pod",
			"annotate the service account with eks.amazonaws.com/role-arn (kubectl wi enable), check that the pod identity webhook is registered (kubectl get mutatingwebhookconfigurations), "+
				"and restart pods created before the annotation; a pod labelled eks.amazonaws.com/skip-pod-identity-webhook or a container in skip-containers is left alone",
			nil)
	}
}

func (r *runner) irsa() {
	later := append(irsaTokenChecks.names(), CheckSTSAssumeRole, CheckSTSCallerIdentity)

	roleARN := r.deps.Getenv(envRoleARN)
	roleOK := r.checkRoleEnv(roleARN)

	path := r.deps.Getenv(envWebIdentityTokenFile)
	if path == "" {
		r.check(CheckEnvTokenFile, check.StatusFail, envWebIdentityTokenFile+" is not set",
			envRoleARN+" is set but "+envWebIdentityTokenFile+" is not: the webhook leaves a container that sets these env vars itself alone; remove them from the container spec and restart the pod",
			nil)
		r.skipAll(later, CheckEnvTokenFile)
		return
	}
	r.check(CheckEnvTokenFile, check.StatusPass, envWebIdentityTokenFile+" is "+path, "", map[string]any{"path": path})

	token, claims, ok := r.checkToken(path, irsaTokenChecks, r.cfg.ExpectedAudience, r.cfg.ExpectedExpiration)
	if !ok {
		r.skipAll([]string{CheckSTSAssumeRole, CheckSTSCallerIdentity}, CheckTokenFile)
		return
	}
	if !roleOK {
		r.skipAll([]string{CheckSTSAssumeRole, CheckSTSCallerIdentity}, CheckEnvRoleARN)
		return
	}
	r.stsInfo()
	creds, ok := r.assumeRole(roleARN, token, claims)
	if !ok {
		r.skipAll([]string{CheckSTSCallerIdentity}, CheckSTSAssumeRole)
		return
	}
	want := r.cfg.ExpectedRoleARN
	if want == "" {
		want = roleARN
	}
	r.callerIdentity(creds, want)
}

// checkRoleEnv checks AWS_ROLE_ARN; ok says whether STS can be asked to assume it.
func (r *runner) checkRoleEnv(got string) (ok bool) {
	want := r.cfg.ExpectedRoleARN
	data := map[string]any{"role_arn": got}
	if want != "" {
		data["expected_role_arn"] = want
	}
	_, err := identity.ParseRoleARN(got)
	valid := err == nil
	other, isOther := identity.ParseForeignRoleARN(got)
	switch {
	case got == "":
		r.check(CheckEnvRoleARN, check.StatusFail, envRoleARN+" is not set",
			envWebIdentityTokenFile+" is set but "+envRoleARN+" is not: the webhook leaves a container that sets these env vars itself alone; remove them from the container spec and restart the pod",
			nil)
		return false
	case !valid && !isOther:
		r.check(CheckEnvRoleARN, check.StatusFail, fmt.Sprintf("%s %q is not an IAM role ARN", envRoleARN, got),
			"set eks.amazonaws.com/role-arn to arn:<partition>:iam::<account>:role/<name> (kubectl wi enable --role-arn) and restart the pod", data)
		return false
	case want != "" && got != want:
		r.check(CheckEnvRoleARN, check.StatusFail, fmt.Sprintf("%s is %s, expected %s", envRoleARN, got, want),
			"the webhook injected the role the service account's eks.amazonaws.com/role-arn names now: give it the expected one (kubectl wi enable --role-arn "+want+" --overwrite), or expect the role it names (--role-arn "+got+")",
			data)
		// STS can still tell whether the role the pod has works.
		return true
	case !valid:
		// Not an AWS partition: an STS-compatible service (MinIO names its roles
		// arn:minio:iam:::role/ID). STS says whether it takes the role.
		data["partition"] = other.Partition
		r.check(CheckEnvRoleARN, check.StatusPass, fmt.Sprintf("%s is %s (partition %s is not AWS's: an STS-compatible service)", envRoleARN, got, other.Partition), "", data)
		return true
	default:
		r.check(CheckEnvRoleARN, check.StatusPass, envRoleARN+" is "+got, "", data)
		return true
	}
}

// stsInfo says where STS calls go, once, and how: the CA bundle trusted beside the public
// roots, the proxy taken.
func (r *runner) stsInfo() {
	r.target = ResolveSTSTarget(r.deps.Getenv, r.cfg.Region)
	r.transport = ResolveSTSTransport(r.deps.Getenv, r.deps.ReadFile)
	url, err := r.target.URL(r.ctx)
	if err != nil {
		url = orPlaceholder(r.target.Endpoint, "unresolved: "+err.Error())
	}
	mode := "global for legacy regions (AWS_STS_REGIONAL_ENDPOINTS is not regional)"
	if r.target.Regional {
		mode = "regional"
	}
	data := map[string]any{
		"endpoint": url, "region": r.target.Region, "region_source": r.target.RegionSource, "regional": r.target.Regional,
	}
	msg := fmt.Sprintf("STS endpoint %s, region %s from %s, %s", url, r.target.Region, r.target.RegionSource, mode)
	if r.target.Endpoint != "" {
		data["endpoint_source"] = r.target.EndpointSource
		msg = fmt.Sprintf("STS endpoint %s from %s, region %s from %s", url, r.target.EndpointSource, r.target.Region, r.target.RegionSource)
	}
	if t := r.transport; t.CABundle != "" {
		data["ca_bundle"] = t.CABundle
		if t.CAErr == nil {
			data["ca_bundle_certs"] = t.CACerts
			msg += fmt.Sprintf("; trusting the public roots and %d CA certificate(s) from %s (%s)", t.CACerts, t.CABundle, t.CAFrom)
		}
	}
	if p := r.transport.Proxy(url); p != "" {
		data["proxy"] = p
		msg += "; through the proxy " + p
	}
	r.info(CheckSTSEndpoint, msg, data)
}

func (r *runner) endpointURL() string {
	url, err := r.target.URL(r.ctx)
	if err != nil {
		return r.target.Endpoint
	}
	return url
}

func (r *runner) newSTS(creds aws.CredentialsProvider) STSClient {
	if r.transport.CAErr != nil {
		return failingSTS{r.transport.CAErr}
	}
	if r.deps.NewSTS != nil {
		return r.deps.NewSTS(r.target, creds)
	}
	hc := r.transport.Client()
	if r.deps.HTTPClient != nil {
		hc = r.deps.HTTPClient
	}
	return NewSTSClient(r.target, creds, hc)
}

// assumeRole calls AssumeRoleWithWebIdentity with the token, as the SDK's web identity
// provider does.
func (r *runner) assumeRole(roleARN, token string, claims TokenClaims) (aws.CredentialsProvider, bool) {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.StepTimeout)
	defer cancel()
	out, err := r.newSTS(nil).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(roleARN),
		RoleSessionName:  aws.String(r.cfg.SessionName),
		WebIdentityToken: aws.String(token),
	})
	if err != nil {
		r.stsFailure(CheckSTSAssumeRole, err, DiagnosisContext{
			Op: opAssumeRoleWithWebIdentity, RoleARN: roleARN,
			Issuer: orPlaceholder(claims.Issuer, r.cfg.ExpectedIssuer), Audience: claims.Audience,
			Subject: orPlaceholder(claims.Subject, r.cfg.ExpectedSubject),
		})
		return nil, false
	}
	c := out.Credentials
	if c == nil || aws.ToString(c.AccessKeyId) == "" || aws.ToString(c.SecretAccessKey) == "" {
		r.check(CheckSTSAssumeRole, check.StatusFail, "STS answered AssumeRoleWithWebIdentity without credentials",
			"check the STS endpoint "+r.endpointURL()+": it is not behaving as AWS STS", map[string]any{"endpoint": r.endpointURL()})
		return nil, false
	}
	r.addSecret(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	data := map[string]any{"role_arn": roleARN, "endpoint": r.endpointURL()}
	msg := "assumed " + roleARN
	// MinIO answers with an empty AssumedRoleUser.
	if out.AssumedRoleUser != nil && aws.ToString(out.AssumedRoleUser.Arn) != "" {
		data["assumed_role_arn"] = aws.ToString(out.AssumedRoleUser.Arn)
		msg = "assumed " + aws.ToString(out.AssumedRoleUser.Arn)
	}
	if c.Expiration != nil {
		data["expiration"] = c.Expiration.UTC().Format(time.RFC3339)
	}
	if out.Provider != nil {
		data["provider"] = aws.ToString(out.Provider)
	}
	r.check(CheckSTSAssumeRole, check.StatusPass, msg, "", data)
	return staticCredentials(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)), true
}

// callerIdentity calls GetCallerIdentity with creds and checks the caller is wantRole.
func (r *runner) callerIdentity(creds aws.CredentialsProvider, wantRole string) {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.StepTimeout)
	defer cancel()
	out, err := r.newSTS(creds).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		if code, msg, ok := unsupportedAction(err); ok {
			// An STS-compatible service without GetCallerIdentity (MinIO): not a failure of
			// the pod's identity, but nothing confirms the caller either.
			data := map[string]any{"code": code, "endpoint": r.endpointURL()}
			if wantRole != "" {
				data["expected_role_arn"] = wantRole
			}
			r.check(CheckSTSCallerIdentity, check.StatusWarn,
				fmt.Sprintf("the STS at %s does not implement GetCallerIdentity (%s: %s): the caller is not confirmed, though AssumeRoleWithWebIdentity returned credentials for %s",
					r.endpointURL(), code, msg, orPlaceholder(wantRole, "the role")),
				"", data)
			return
		}
		r.stsFailure(CheckSTSCallerIdentity, err, DiagnosisContext{Op: opGetCallerIdentity, RoleARN: wantRole})
		return
	}
	arn := aws.ToString(out.Arn)
	data := map[string]any{"arn": arn, "account": aws.ToString(out.Account)}
	if wantRole != "" {
		data["expected_role_arn"] = wantRole
	}
	caller, ok := identity.ParseAssumedRoleARN(arn)
	if !ok {
		r.check(CheckSTSCallerIdentity, check.StatusFail, fmt.Sprintf("the caller is %s, not an assumed role", orPlaceholder(arn, "empty")),
			"the credentials are not the role's: check what else in the pod sets AWS credentials (AWS_ACCESS_KEY_ID, a mounted ~/.aws)", data)
		return
	}
	if looksLikeNodeRole(caller) && (wantRole == "" || !sameRole(caller, wantRole)) {
		r.check(CheckSTSCallerIdentity, check.StatusFail, fmt.Sprintf("the caller is %s: a node (EC2 instance) role", arn),
			"the workload's identity was not used; the SDK fell back to the node's instance profile: fix the failing checks above and restart the pod", data)
		return
	}
	switch {
	case wantRole == "":
		r.check(CheckSTSCallerIdentity, check.StatusPass, fmt.Sprintf("the caller is %s (no expected role to compare)", arn), "", data)
	case sameRole(caller, wantRole):
		r.check(CheckSTSCallerIdentity, check.StatusPass, fmt.Sprintf("the caller is %s", arn), "", data)
	default:
		fix := "STS returned another role's credentials: check the role the pod's identity names"
		if r.sum.Path == PathPodIdentity {
			fix = "the Pod Identity association names another role: aws eks update-pod-identity-association --role-arn " + wantRole
		}
		r.check(CheckSTSCallerIdentity, check.StatusFail, fmt.Sprintf("the caller is %s, not the role %s", arn, wantRole), fix, data)
	}
}

// sameRole reports whether the caller is an assumed session of role (an IAM role ARN).
func sameRole(caller identity.AssumedRoleARN, role string) bool {
	want, err := identity.ParseRoleARN(role)
	return err == nil && caller.SessionOf(want)
}

// stsFailure turns an STS error into a failed check with its diagnosis.
func (r *runner) stsFailure(checkID string, err error, dc DiagnosisContext) {
	dc.Endpoint, dc.Region = r.endpointURL(), r.target.Region
	dc.Proxy, dc.ProxyFrom, dc.CABundle = r.transport.Proxy(dc.Endpoint), r.transport.ProxyFrom(dc.Endpoint), r.transport.CABundle
	d := DiagnoseSTSError(err, dc)
	data := map[string]any{"code": d.Code, "endpoint": dc.Endpoint}
	if d.RequestID != "" {
		data["request_id"] = d.RequestID
	}
	if dc.RoleARN != "" {
		data["role_arn"] = dc.RoleARN
	}
	msg := fmt.Sprintf("%s failed: %s (%s: %s)", dc.Op, d.Cause, d.Code, d.Message)
	r.check(checkID, check.StatusFail, msg, d.Fix, data)
}

// check emits one check event and tallies it.
func (r *runner) check(name string, status check.Status, msg, fix string, data map[string]any) {
	ev := check.New(name, status, msg, fix, data)
	r.tally.Count(ev)
	r.emit(ev)
}

// skipAll emits a skip for each check that cannot run because another failed.
func (r *runner) skipAll(names []string, because string) {
	for _, n := range names {
		r.check(n, check.StatusSkip, "not run: "+because+" failed", "", nil)
	}
}

func (r *runner) info(name, msg string, data map[string]any) {
	r.emit(check.Event{Type: check.TypeInfo, Check: name, Message: msg, Data: data})
}

// result emits the verdict.
func (r *runner) result() {
	var fix string
	r.sum.Status, _, fix = r.tally.Verdict()
	r.sum.Checks, r.sum.Failed, r.sum.Warned = r.tally.Checks, r.tally.Failed, r.tally.Warned
	msg := fmt.Sprintf("%d of %d checks failed", r.sum.Failed, r.sum.Checks)
	if r.sum.Warned > 0 {
		msg += fmt.Sprintf(", %d warned", r.sum.Warned)
	}
	r.emit(check.Event{
		Type: check.TypeResult, Status: r.sum.Status, Message: msg, Fix: fix,
		Data: map[string]any{"path": r.sum.Path, "checks": r.sum.Checks, "failed": r.sum.Failed, "warned": r.sum.Warned},
	})
}

// emit stamps, scrubs and writes an event. After the first sink error it writes nothing more.
func (r *runner) emit(ev check.Event) {
	if r.err != nil {
		return
	}
	ev.V = check.ProtocolVersion
	ev.Time = r.deps.Now().UTC()
	ev = r.scrub(ev)
	if err := r.sink.Emit(ev); err != nil {
		r.err = fmt.Errorf("failed to write an event: %w", err)
	}
}

// minSecretLen keeps scrubbing from replacing short, common strings.
const minSecretLen = 8

// addSecret remembers values that must never be written: a token (and each of its JWT parts),
// credentials.
func (r *runner) addSecret(values ...string) {
	for _, v := range values {
		for _, s := range append([]string{v, strings.TrimSpace(v)}, strings.Split(strings.TrimSpace(v), ".")...) {
			if len(s) >= minSecretLen && !slices.Contains(r.secrets, s) {
				r.secrets = append(r.secrets, s)
			}
		}
	}
	// Longest first, so a whole token is replaced before its parts.
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

const redacted = "[redacted]"

// scrub removes every known secret from an event, whatever field it hides in.
func (r *runner) scrub(ev check.Event) check.Event {
	if len(r.secrets) == 0 {
		return ev
	}
	ev.Message = r.scrubString(ev.Message)
	ev.Fix = r.scrubString(ev.Fix)
	ev.Check = r.scrubString(ev.Check)
	if ev.Data != nil {
		ev.Data, _ = r.scrubValue(ev.Data).(map[string]any)
	}
	return ev
}

func (r *runner) scrubString(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}

func (r *runner) scrubValue(v any) any {
	switch v := v.(type) {
	case string:
		return r.scrubString(v)
	case []string:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = r.scrubString(s)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = r.scrubValue(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[r.scrubString(k)] = r.scrubValue(x)
		}
		return out
	case error:
		return r.scrubString(v.Error())
	case fmt.Stringer:
		return r.scrubString(v.String())
	default:
		return v
	}
}

// uid names the current user for messages, or "" when unknown.
func (r *runner) uid() string {
	if r.deps.Getuid == nil {
		return ""
	}
	return strconv.Itoa(r.deps.Getuid())
}
