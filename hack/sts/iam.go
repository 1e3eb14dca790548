package sts

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
)

// IAMAPIVersion is the IAM query API version this server speaks.
const IAMAPIVersion = "2010-05-08"

const iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"

// maxTrustPolicySize is IAM's default quota for a role's trust policy, counted without
// whitespace (ACLSizePerRole).
const maxTrustPolicySize = 2048

var iamRoleNameRE = regexp.MustCompile(`^[\w+=,.@-]+$`)

// serveIAM answers one IAM query request. Only the reads kubectl-wi's explain needs and the
// one write a trust policy fix needs are served.
func (s *Server) serveIAM(w http.ResponseWriter, r *http.Request, body []byte, entry *logEntry) {
	requestID := uuid.NewString()
	status, code := http.StatusOK, "OK"
	doc, apiErr := s.iam(r, body, entry)
	if apiErr != nil {
		status, code = apiErr.status, apiErr.code
		if entry.detail == "" {
			entry.detail = apiErr.detail
		}
		doc = errorDocument(iamNamespace, apiErr, requestID)
	} else {
		setRequestID(doc, requestID)
	}
	s.writeXML(w, r, doc, requestID, status, code, entry)
}

func (s *Server) iam(r *http.Request, body []byte, entry *logEntry) (any, *apiError) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, &apiError{status: http.StatusMethodNotAllowed, code: "InvalidAction", message: "Only GET and POST are supported"}
	}
	params, err := requestParams(r, body)
	if err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "MalformedQueryString", message: "The query string or form body is malformed"}
	}
	entry.action = params.Get("Action")
	if v := params.Get("Version"); v != IAMAPIVersion {
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidAction", message: fmt.Sprintf("Could not find operation %s for version %s", entry.action, v)}
	}
	p, apiErr := s.authenticate(r, body, "iam")
	if p != nil {
		entry.principal, entry.accessKeyID = p.arn, p.accessKeyID
	}
	if apiErr != nil {
		return nil, apiErr
	}
	switch entry.action {
	case "GetRole":
		return s.getRole(p, params, entry)
	case "ListOpenIDConnectProviders":
		return s.listOpenIDConnectProviders(p)
	case "GetOpenIDConnectProvider":
		return s.getOpenIDConnectProvider(p, params)
	case "UpdateAssumeRolePolicy":
		return s.updateAssumeRolePolicy(p, params, entry)
	case "":
		return nil, &apiError{status: http.StatusBadRequest, code: "MissingAction", message: "The request is missing an action or a required parameter"}
	default:
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidAction", message: fmt.Sprintf("Could not find operation %s for version %s", entry.action, IAMAPIVersion)}
	}
}

// roleName reads and checks the RoleName parameter, as IAM's validation words it.
func roleNameParam(params url.Values) (string, *apiError) {
	name := params.Get("RoleName")
	switch {
	case !params.Has("RoleName"):
		return "", validationError("1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null")
	case len(name) < 1 || len(name) > 64:
		return "", validationError("1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64", name)
	case !iamRoleNameRE.MatchString(name):
		return "", validationError(`1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+`, name)
	}
	return name, nil
}

// roleByName finds a role by its name (IAM's RoleName carries no path).
func (st *configState) roleByName(name string) *roleState {
	for _, r := range st.roles {
		if strings.EqualFold(roleShortName(r.cfg.Name), name) { // IAM role names are case-insensitive
			return r
		}
	}
	return nil
}

func noSuchRole(name string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "NoSuchEntity", message: "The role with name " + name + " cannot be found."}
}

func (s *Server) getRole(p *principal, params url.Values, entry *logEntry) (any, *apiError) {
	name, apiErr := roleNameParam(params)
	if apiErr != nil {
		return nil, apiErr
	}
	entry.role = name
	if e := authorize(p, "iam:GetRole", "role "+name); e != nil {
		return nil, e
	}
	st := s.config.Load()
	role := st.roleByName(name)
	if role == nil {
		return nil, noSuchRole(name)
	}
	maxDuration := role.cfg.MaxSessionDuration
	if maxDuration == 0 {
		maxDuration = defaultMaxSessionDuration
	}
	return &getRoleResponse{Result: getRoleResult{Role: roleXML{
		Path:                     rolePath(role.cfg.Name),
		RoleName:                 roleShortName(role.cfg.Name),
		RoleID:                   role.id,
		Arn:                      role.arn,
		CreateDate:               s.created.UTC().Format(time.RFC3339),
		AssumeRolePolicyDocument: encodePolicyDocument(policyText(role.cfg.TrustPolicy)),
		MaxSessionDuration:       maxDuration,
	}}}, nil
}

// policyText is a configured policy document as text: the JSON string's content when it was
// given as a string, else the JSON as it is.
func policyText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// encodePolicyDocument percent-encodes a policy document as IAM returns it (RFC 3986: a space
// is %20, not +); the SDK hands it to the caller still encoded.
func encodePolicyDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

func (s *Server) listOpenIDConnectProviders(p *principal) (any, *apiError) {
	if e := authorize(p, "iam:ListOpenIDConnectProviders", "arn:"+s.config.Load().cfg.partition()+":iam::"+s.config.Load().cfg.Account+":oidc-provider/*"); e != nil {
		return nil, e
	}
	var arns []string
	for _, ps := range s.config.Load().providers {
		arns = append(arns, ps.arn)
	}
	sort.Strings(arns)
	res := &listOpenIDConnectProvidersResponse{}
	for _, a := range arns {
		res.Result.List = append(res.Result.List, arnMember{Arn: a})
	}
	return res, nil
}

func (s *Server) getOpenIDConnectProvider(p *principal, params url.Values) (any, *apiError) {
	arn := params.Get("OpenIDConnectProviderArn")
	switch {
	case !params.Has("OpenIDConnectProviderArn"):
		return nil, validationError("1 validation error detected: Value null at 'openIDConnectProviderArn' failed to satisfy constraint: Member must not be null")
	case len(arn) < 20 || len(arn) > 2048:
		return nil, validationError("1 validation error detected: Value '%s' at 'openIDConnectProviderArn' failed to satisfy constraint: Member must have length greater than or equal to 20", arn)
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "oidc-provider/") {
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidInput", message: "ARN " + arn + " is not valid."}
	}
	if e := authorize(p, "iam:GetOpenIDConnectProvider", arn); e != nil {
		return nil, e
	}
	for _, ps := range s.config.Load().providers {
		if ps.arn != arn {
			continue
		}
		res := &getOpenIDConnectProviderResponse{Result: getOpenIDConnectProviderResult{
			URL:        issuerHostPath(ps.cfg.Issuer),
			CreateDate: s.created.UTC().Format(time.RFC3339),
		}}
		res.Result.ClientIDList = append([]string{}, ps.cfg.ClientIDs...)
		res.Result.ThumbprintList = append([]string{}, ps.cfg.Thumbprints...)
		return res, nil
	}
	return nil, &apiError{status: http.StatusNotFound, code: "NoSuchEntity", message: "OpenIDConnect Provider not found for arn " + arn}
}

func (s *Server) updateAssumeRolePolicy(p *principal, params url.Values, entry *logEntry) (any, *apiError) {
	name, apiErr := roleNameParam(params)
	if apiErr != nil {
		return nil, apiErr
	}
	entry.role = name
	doc := params.Get("PolicyDocument")
	switch {
	case !params.Has("PolicyDocument"):
		return nil, validationError("1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null")
	case len(doc) < 1:
		return nil, validationError("1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case len(doc) > 131072:
		return nil, validationError("1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must have length less than or equal to 131072")
	}
	if e := authorize(p, "iam:UpdateAssumeRolePolicy", "role "+name); e != nil {
		return nil, e
	}
	if s.config.Load().roleByName(name) == nil {
		return nil, noSuchRole(name)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &obj); err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "MalformedPolicyDocument", message: "This policy contains invalid Json", detail: err.Error()}
	}
	if _, err := ParsePolicy([]byte(doc)); err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "MalformedPolicyDocument", message: "Syntax errors in policy.", detail: err.Error()}
	}
	if n := nonSpaceLen(doc); n > maxTrustPolicySize {
		return nil, &apiError{status: http.StatusConflict, code: "LimitExceeded",
			message: fmt.Sprintf("Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize), detail: fmt.Sprintf("%d characters without whitespace", n)}
	}
	quoted, _ := json.Marshal(doc) // kept as the text given, so GetRole returns it unchanged
	err := s.update(func(c *Config) error {
		for i := range c.Roles {
			if strings.EqualFold(roleShortName(c.Roles[i].Name), name) {
				c.Roles[i].TrustPolicy = quoted
				return nil
			}
		}
		return fmt.Errorf("role %s vanished", name)
	})
	if err != nil {
		return nil, &apiError{status: http.StatusInternalServerError, code: "ServiceFailure", message: "An internal error occurred", detail: err.Error()}
	}
	return &updateAssumeRolePolicyResponse{}, nil
}

// nonSpaceLen counts the characters of s that are not whitespace, as IAM counts a policy's
// size against its quota.
func nonSpaceLen(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// Response documents, in the element order IAM sends.

type roleXML struct {
	Path                     string `xml:"Path"`
	AssumeRolePolicyDocument string `xml:"AssumeRolePolicyDocument"`
	MaxSessionDuration       int32  `xml:"MaxSessionDuration"`
	RoleID                   string `xml:"RoleId"`
	RoleName                 string `xml:"RoleName"`
	Arn                      string `xml:"Arn"`
	CreateDate               string `xml:"CreateDate"`
}

type getRoleResult struct {
	Role roleXML `xml:"Role"`
}

type getRoleResponse struct {
	XMLName          xml.Name         `xml:"https://iam.amazonaws.com/doc/2010-05-08/ GetRoleResponse"`
	Result           getRoleResult    `xml:"GetRoleResult"`
	ResponseMetadata responseMetadata `xml:"ResponseMetadata"`
}

type arnMember struct {
	Arn string `xml:"Arn"`
}

type listOpenIDConnectProvidersResponse struct {
	XMLName xml.Name `xml:"https://iam.amazonaws.com/doc/2010-05-08/ ListOpenIDConnectProvidersResponse"`
	Result  struct {
		List []arnMember `xml:"OpenIDConnectProviderList>member"`
	} `xml:"ListOpenIDConnectProvidersResult"`
	ResponseMetadata responseMetadata `xml:"ResponseMetadata"`
}

type getOpenIDConnectProviderResult struct {
	ClientIDList   []string `xml:"ClientIDList>member"`
	ThumbprintList []string `xml:"ThumbprintList>member"`
	CreateDate     string   `xml:"CreateDate"`
	URL            string   `xml:"Url"`
}

type getOpenIDConnectProviderResponse struct {
	XMLName          xml.Name                       `xml:"https://iam.amazonaws.com/doc/2010-05-08/ GetOpenIDConnectProviderResponse"`
	Result           getOpenIDConnectProviderResult `xml:"GetOpenIDConnectProviderResult"`
	ResponseMetadata responseMetadata               `xml:"ResponseMetadata"`
}

type updateAssumeRolePolicyResponse struct {
	XMLName          xml.Name         `xml:"https://iam.amazonaws.com/doc/2010-05-08/ UpdateAssumeRolePolicyResponse"`
	ResponseMetadata responseMetadata `xml:"ResponseMetadata"`
}

func (d *getRoleResponse) setRequestID(id string) { d.ResponseMetadata.RequestID = id }
func (d *listOpenIDConnectProvidersResponse) setRequestID(id string) {
	d.ResponseMetadata.RequestID = id
}
func (d *getOpenIDConnectProviderResponse) setRequestID(id string) { d.ResponseMetadata.RequestID = id }
func (d *updateAssumeRolePolicyResponse) setRequestID(id string)   { d.ResponseMetadata.RequestID = id }
