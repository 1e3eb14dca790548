package sts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// APIVersion is the STS query API version this server speaks.
const APIVersion = "2011-06-15"

// maxBodySize bounds a request body; a web identity token is at most 20000 characters.
const maxBodySize = 1 << 20

const msgAccessDenied = "Not authorized to perform sts:AssumeRoleWithWebIdentity"

var sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)

// Server is the AWS stand-in: an http.Handler answering STS, IAM, EKS and EKS Auth requests
// (see route). It is safe for concurrent use.
type Server struct {
	config  atomic.Pointer[configState] // swapped whole by Reload
	now     func() time.Time
	created time.Time // the CreateDate of every role and provider

	// configFile, when set, is read again when it changes and written by IAM's writes.
	configFile configFile
	// assoc holds the EKS Pod Identity associations.
	assoc associations
	// once remembers the tokens that had their one injected EKS Auth failure.
	once onceFaults
	// requests, when set, gets one JSON line per request (reqlog.go).
	requests *requestLog

	logMu sync.Mutex
	log   io.Writer

	mu       sync.Mutex
	sessions map[string]*session // by access key id
}

// configState is one loaded configuration: the account, its OIDC providers and its roles.
type configState struct {
	cfg       *Config
	providers map[string]*providerState // by normalized issuer
	roles     map[string]*roleState     // by role ARN
	users     map[string]*User          // by access key id
	// clusterKeys verify the service account tokens of each cluster, by region + "/" + name
	clusterKeys map[string]*keySource
}

// roleState is a configured role with its parsed trust policy.
type roleState struct {
	cfg    Role
	arn    string
	id     string // the role's unique id, AROA...
	policy *Policy
}

// session is a set of temporary credentials issued by AssumeRoleWithWebIdentity.
type session struct {
	accessKeyID     string
	secretAccessKey string
	sessionToken    string
	arn             string // arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION
	roleARN         string // the assumed role's, whose Allow is read at each call
	userID          string // AROA...:SESSION
	expiration      time.Time
	tags            map[string]string // session tags (Pod Identity's)
}

// Option configures a Server.
type Option func(*Server)

// WithLog sets where the server writes its one line per request; io.Discard by default.
func WithLog(w io.Writer) Option {
	return func(s *Server) { s.log = w }
}

// WithClock sets the server's clock, used for token validity, credential expiration and
// signature age; time.Now by default.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// New builds a Server from a checked configuration.
func New(cfg *Config, opts ...Option) (*Server, error) {
	s := &Server{now: time.Now, log: io.Discard, sessions: map[string]*session{}}
	for _, o := range opts {
		o(s)
	}
	s.created = s.now().Truncate(time.Second)
	if err := s.Reload(cfg); err != nil {
		return nil, err
	}
	if err := s.assoc.load(); err != nil {
		return nil, err
	}
	// the webhook starts from what EKS holds, not from whatever its file had
	if err := s.assoc.pushToWebhooks(cfg.Clusters); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload replaces the account, providers and roles, keeping the credentials already issued,
// so tests can add roles to a running stand-in. A bad configuration leaves the old one.
func (s *Server) Reload(cfg *Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	st := &configState{cfg: cfg, providers: map[string]*providerState{}, roles: map[string]*roleState{}, users: map[string]*User{}}
	for i := range cfg.Users {
		st.users[cfg.Users[i].AccessKeyID] = &cfg.Users[i]
	}
	st.clusterKeys = map[string]*keySource{}
	for _, c := range cfg.Clusters {
		ca := c.CAFile
		for _, p := range cfg.Providers {
			if ca == "" && normalizeIssuer(p.Issuer) == normalizeIssuer(c.Issuer) {
				ca = p.CAFile
			}
		}
		// keep a cluster's key cache across reloads, as the providers' are not: a test that
		// adds a role should not make the next token fetch the keys again
		if old := s.config.Load(); old != nil {
			if ks, ok := old.clusterKeys[c.Region+"/"+c.Name]; ok && ks.issuer == normalizeIssuer(c.Issuer) && ks.caFile == ca {
				st.clusterKeys[c.Region+"/"+c.Name] = ks
				continue
			}
		}
		ks, err := newKeySource(Provider{Issuer: c.Issuer, CAFile: ca})
		if err != nil {
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		st.clusterKeys[c.Region+"/"+c.Name] = ks
	}
	for _, p := range cfg.Providers {
		ks, err := newKeySource(p)
		if err != nil {
			return err
		}
		st.providers[normalizeIssuer(p.Issuer)] = &providerState{cfg: p, arn: cfg.providerARN(p.Issuer), keys: ks}
	}
	for _, r := range cfg.Roles {
		pol, err := ParsePolicy(r.TrustPolicy)
		if err != nil {
			return fmt.Errorf("role %s: %w", r.Name, err)
		}
		arn := cfg.roleARN(r.Name)
		sum := sha256.Sum256([]byte(arn))
		id := "AROA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
		st.roles[arn] = &roleState{cfg: r, arn: arn, id: id, policy: pol}
	}
	s.config.Store(st)
	return nil
}

// apiError is an STS error as the client sees it. detail is for the log only; it never
// holds a secret.
type apiError struct {
	status  int
	code    string
	message string
	detail  string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func validationError(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "ValidationError", message: fmt.Sprintf(format, args...)}
}

// logEntry is the one log line of a request.
type logEntry struct {
	service, action, principal, role, session, subject, accessKeyID, detail string
	// EKS and EKS Auth
	cluster, association, namespace, serviceAccount, targetRole string
	sessionTags                                                 map[string]string
}

// serveSTS answers one STS query request, GET or POST.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request, body []byte, entry *logEntry) {
	requestID := uuid.NewString()
	status, code := http.StatusOK, "OK"
	doc, apiErr := s.serve(r, body, entry)
	if apiErr != nil {
		status, code = apiErr.status, apiErr.code
		if entry.detail == "" {
			entry.detail = apiErr.detail
		}
		doc = errorDocument(stsNamespace, apiErr, requestID)
	} else {
		setRequestID(doc, requestID)
	}
	s.writeXML(w, r, doc, requestID, status, code, entry)
}

// writeXML writes a query protocol answer (STS, IAM) and logs the request.
func (s *Server) writeXML(w http.ResponseWriter, r *http.Request, doc any, requestID string, status int, code string, entry *logEntry) {
	out, err := marshalXML(doc)
	if err != nil {
		status, code = http.StatusInternalServerError, "InternalFailure"
		entry.detail = "marshal response: " + err.Error()
		out, _ = marshalXML(errorDocument("", &apiError{status: status, code: code, message: "An internal error occurred"}, requestID))
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	// Logged before the answer goes out: a client that reads the log once it has its answer
	// finds its request there.
	s.logRequest(r, requestID, status, code, *entry)
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// serve dispatches the request; it returns either a response document or an error.
func (s *Server) serve(r *http.Request, body []byte, entry *logEntry) (any, *apiError) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, &apiError{status: http.StatusMethodNotAllowed, code: "InvalidAction", message: "Only GET and POST are supported"}
	}
	params, err := requestParams(r, body)
	if err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "MalformedQueryString", message: "The query string or form body is malformed"} // no detail: it could quote the token
	}
	entry.action = params.Get("Action")
	if v := params.Get("Version"); v != "" && v != APIVersion {
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidAction", message: fmt.Sprintf("Could not find operation %s for version %s", entry.action, v)}
	}
	switch entry.action {
	case "AssumeRoleWithWebIdentity":
		return s.assumeRoleWithWebIdentity(r.Context(), params, entry)
	case "GetCallerIdentity":
		return s.getCallerIdentity(r, body, entry)
	case "":
		return nil, &apiError{status: http.StatusBadRequest, code: "MissingAction", message: "The request is missing an action or a required parameter"}
	default:
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidAction", message: fmt.Sprintf("Could not find operation %s for version %s", entry.action, APIVersion)}
	}
}

// requestParams merges the query string with a form body; the body wins.
func requestParams(r *http.Request, body []byte) (url.Values, error) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost && len(body) > 0 {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/x-www-form-urlencoded" || ct == "" {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, err
			}
			for k, v := range form {
				params[k] = v
			}
		}
	}
	return params, nil
}

func (s *Server) assumeRoleWithWebIdentity(ctx context.Context, params url.Values, entry *logEntry) (any, *apiError) {
	roleARN := params.Get("RoleArn")
	sessionName := params.Get("RoleSessionName")
	token := params.Get("WebIdentityToken")
	entry.role, entry.session = roleARN, sessionName

	switch {
	case !params.Has("RoleArn"):
		return nil, validationError("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	case !params.Has("RoleSessionName"):
		return nil, validationError("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	case !params.Has("WebIdentityToken"):
		return nil, validationError("1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null")
	case len(roleARN) < 20:
		return nil, validationError("1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20", roleARN)
	case len(roleARN) > 2048:
		return nil, validationError("1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must have length less than or equal to 2048")
	case len(sessionName) < 2 || len(sessionName) > 64:
		return nil, validationError("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64", sessionName)
	case !sessionNameRE.MatchString(sessionName):
		return nil, validationError(`1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`, sessionName)
	case len(token) < 4:
		// Never echo the token, not even a short one.
		return nil, validationError("1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4")
	case len(token) > 20000:
		return nil, validationError("1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length less than or equal to 20000")
	}
	duration := int64(defaultMaxSessionDuration)
	if params.Has("DurationSeconds") {
		d, err := strconv.ParseInt(params.Get("DurationSeconds"), 10, 32)
		switch {
		case err != nil:
			return nil, validationError("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be an integer", params.Get("DurationSeconds"))
		case d < minSessionDuration:
			return nil, validationError("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", d, minSessionDuration)
		case d > maxSessionDurationLimit:
			return nil, validationError("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", d, maxSessionDurationLimit)
		}
		duration = d
	}
	if err := checkRoleARNSyntax(roleARN); err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "ValidationError", message: "Request ARN is invalid", detail: err.Error()}
	}

	id, err := s.verifyToken(ctx, token)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, &apiError{status: http.StatusInternalServerError, code: "InternalFailure", message: "An internal error occurred", detail: err.Error()}
	}
	entry.subject = id.subject

	denied := &apiError{status: http.StatusForbidden, code: "AccessDenied", message: msgAccessDenied}
	role, ok := s.config.Load().roles[roleARN]
	if !ok {
		denied.detail = "no such role"
		return nil, denied
	}
	prefix := issuerHostPath(id.provider.cfg.Issuer)
	rc := RequestContext{
		Action:    "sts:AssumeRoleWithWebIdentity",
		Federated: id.provider.arn,
		Keys: map[string][]string{
			prefix + ":sub": {id.subject},
			prefix + ":aud": {id.audience},
		},
	}
	if !role.policy.Allows(rc) {
		denied.detail = fmt.Sprintf("trust policy does not allow principal %s with sub %q aud %q", id.provider.arn, id.subject, id.audience)
		return nil, denied
	}
	maxDuration := int64(role.cfg.MaxSessionDuration)
	if maxDuration == 0 {
		maxDuration = defaultMaxSessionDuration
	}
	if duration > maxDuration {
		return nil, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	sess, err := s.issue(role, sessionName, time.Duration(duration)*time.Second)
	if err != nil {
		return nil, &apiError{status: http.StatusInternalServerError, code: "InternalFailure", message: "An internal error occurred", detail: err.Error()}
	}
	entry.accessKeyID = sess.accessKeyID
	return &assumeRoleWithWebIdentityResponse{Result: assumeRoleWithWebIdentityResult{
		Credentials: credentialsXML{
			AccessKeyID:     sess.accessKeyID,
			SecretAccessKey: sess.secretAccessKey,
			SessionToken:    sess.sessionToken,
			Expiration:      sess.expiration.UTC().Format(time.RFC3339),
		},
		SubjectFromWebIdentityToken: id.subject,
		AssumedRoleUser:             assumedRoleUserXML{Arn: sess.arn, AssumedRoleID: sess.userID},
		Provider:                    id.provider.arn,
		Audience:                    id.audience,
	}}, nil
}

// checkRoleARNSyntax checks that arn is an IAM role ARN, of any partition and account.
func checkRoleARNSyntax(arn string) error {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" || parts[3] != "" || !accountRE.MatchString(parts[4]) {
		return errors.New("not an IAM ARN")
	}
	name, ok := strings.CutPrefix(parts[5], "role/")
	if !ok || validateRoleName(name) != nil {
		return errors.New("not a role ARN")
	}
	return nil
}

// issue creates and stores temporary credentials for a session of role.
func (s *Server) issue(role *roleState, sessionName string, d time.Duration) (*session, error) {
	secret := make([]byte, 30)
	token := make([]byte, 192)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("failed to generate credentials: %w", err)
	}
	if _, err := rand.Read(token); err != nil {
		return nil, fmt.Errorf("failed to generate credentials: %w", err)
	}
	name := role.cfg.Name[strings.LastIndex(role.cfg.Name, "/")+1:]
	now := s.now()
	sess := &session{
		accessKeyID:     "ASIA" + rand.Text()[:16],
		secretAccessKey: base64.StdEncoding.EncodeToString(secret),
		sessionToken:    base64.StdEncoding.EncodeToString(token),
		arn:             "arn:" + s.config.Load().cfg.partition() + ":sts::" + s.config.Load().cfg.Account + ":assumed-role/" + name + "/" + sessionName,
		roleARN:         role.arn,
		userID:          role.id + ":" + sessionName,
		expiration:      now.Add(d).Truncate(time.Second),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.sessions {
		if now.After(old.expiration) {
			delete(s.sessions, k)
		}
	}
	s.sessions[sess.accessKeyID] = sess
	return sess, nil
}

func (s *Server) lookupSession(accessKeyID string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[accessKeyID]
}

func (s *Server) getCallerIdentity(r *http.Request, body []byte, entry *logEntry) (any, *apiError) {
	p, apiErr := s.authenticate(r, body, "sts")
	if p != nil {
		entry.accessKeyID = p.accessKeyID
		entry.principal = p.arn
	}
	if apiErr != nil {
		return nil, apiErr
	}
	return &getCallerIdentityResponse{Result: getCallerIdentityResult{
		Arn:     p.arn,
		UserID:  p.userID,
		Account: s.config.Load().cfg.Account,
	}}, nil
}

// Response documents. Element order follows what AWS sends; the SDK does not depend on it.

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type credentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumedRoleUserXML struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type assumeRoleWithWebIdentityResult struct {
	Credentials                 credentialsXML     `xml:"Credentials"`
	SubjectFromWebIdentityToken string             `xml:"SubjectFromWebIdentityToken"`
	AssumedRoleUser             assumedRoleUserXML `xml:"AssumedRoleUser"`
	Provider                    string             `xml:"Provider"`
	Audience                    string             `xml:"Audience"`
}

type assumeRoleWithWebIdentityResponse struct {
	XMLName          xml.Name                        `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
	Result           assumeRoleWithWebIdentityResult `xml:"AssumeRoleWithWebIdentityResult"`
	ResponseMetadata responseMetadata                `xml:"ResponseMetadata"`
}

type getCallerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

type getCallerIdentityResponse struct {
	XMLName          xml.Name                `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result           getCallerIdentityResult `xml:"GetCallerIdentityResult"`
	ResponseMetadata responseMetadata        `xml:"ResponseMetadata"`
}

type errorXML struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// errorResponse is the query protocol's error envelope; XMLName carries the service's
// namespace.
type errorResponse struct {
	XMLName   xml.Name
	Error     errorXML `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// quoteUnescaper undoes encoding/xml's escaping of quotes: in element text they need none,
// and AWS sends them as is ("Couldn't retrieve verification key ...", "Value null at
// 'roleArn'"). The documents have no attribute but the constant xmlns.
var quoteUnescaper = strings.NewReplacer("&#39;", "'", "&#34;", `"`)

func marshalXML(doc any) ([]byte, error) {
	out, err := xml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return []byte(quoteUnescaper.Replace(string(out))), nil
}

func errorDocument(namespace string, e *apiError, requestID string) *errorResponse {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	return &errorResponse{
		XMLName: xml.Name{Space: namespace, Local: "ErrorResponse"},
		Error:   errorXML{Type: typ, Code: e.code, Message: e.message}, RequestID: requestID,
	}
}

func setRequestID(doc any, requestID string) {
	if d, ok := doc.(interface{ setRequestID(string) }); ok {
		d.setRequestID(requestID)
	}
}

func (d *assumeRoleWithWebIdentityResponse) setRequestID(id string) {
	d.ResponseMetadata.RequestID = id
}
func (d *getCallerIdentityResponse) setRequestID(id string) { d.ResponseMetadata.RequestID = id }

// logf writes a line that is not about one request (a reload) to the log.
func (s *Server) logf(format string, args ...any) {
	line := fmt.Sprintf("%s "+format+"\n", append([]any{s.now().UTC().Format(time.RFC3339)}, args...)...)
	s.logMu.Lock()
	defer s.logMu.Unlock()
	_, _ = io.WriteString(s.log, line)
}

// logRequest writes the request's one log line. It holds no token, secret key or session
// token: only the action, the role, the session name, the token's subject, the access key
// id and the outcome.
func (s *Server) logRequest(r *http.Request, requestID string, status int, code string, e logEntry) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s service=%s action=%q", s.now().UTC().Format(time.RFC3339), r.RemoteAddr, e.service, e.action)
	for _, f := range []struct{ k, v string }{
		{"principal", e.principal}, {"role", e.role}, {"target_role", e.targetRole}, {"session", e.session}, {"sub", e.subject}, {"akid", e.accessKeyID},
		{"cluster", e.cluster}, {"association", e.association},
	} {
		if f.v != "" {
			fmt.Fprintf(&b, " %s=%q", f.k, f.v)
		}
	}
	fmt.Fprintf(&b, " status=%d outcome=%s request_id=%s", status, code, requestID)
	if e.detail != "" {
		fmt.Fprintf(&b, " detail=%q", e.detail)
	}
	b.WriteByte('\n')
	s.logMu.Lock()
	defer s.logMu.Unlock()
	_, _ = io.WriteString(s.log, b.String())
	s.requests.write(s.now(), r, requestID, status, code, e)
}
