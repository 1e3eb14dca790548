package sts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// EKS Auth (REST JSON, signing name eks-auth): AssumeRoleForPodIdentity, what the Pod
// Identity agent calls with a pod's token and the node's credentials.
//
//	POST /clusters/{clusterName}/assume-role-for-pod-identity  {"token": "..."}

// PodIdentityAudience is the audience of a Pod Identity token.
const PodIdentityAudience = "pods.eks.amazonaws.com"

// podIdentityService is the service principal a Pod Identity role's trust policy names.
const podIdentityService = "pods.eks.amazonaws.com"

// podIdentitySessionDuration is how long EKS Auth's credentials last.
const podIdentitySessionDuration = 6 * time.Hour

// chainedSessionDuration is the limit IAM puts on a session obtained with a role session's
// credentials (role chaining).
const chainedSessionDuration = time.Hour

var tokenPatternRE = regexp.MustCompile(`^[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+$`)

// serveEKSAuth answers one EKS Auth request.
func (s *Server) serveEKSAuth(w http.ResponseWriter, r *http.Request, body []byte, entry *logEntry) {
	st := s.config.Load()
	fault, ns, sa := st.faultFor(body)
	if fault != "" {
		entry.namespace, entry.serviceAccount = ns, sa
		if s.serveFaultBeforeAuth(w, r, fault, body, entry) {
			return
		}
	}
	p, apiErr := s.authenticate(r, body, "eks-auth")
	if p != nil {
		entry.principal, entry.accessKeyID = p.arn, p.accessKeyID
	}
	if apiErr != nil {
		apiErr.code = jsonAuthCode(apiErr.code)
		s.writeJSONError(w, r, apiErr, entry)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 3 || parts[0] != "clusters" || parts[2] != "assume-role-for-pod-identity" || r.Method != http.MethodPost {
		entry.action = r.Method + " " + r.URL.Path
		s.writeJSONError(w, r, &apiError{status: http.StatusNotFound, code: "UnknownOperationException",
			message: "The operation " + r.Method + " " + r.URL.Path + " is not served here"}, entry)
		return
	}
	entry.action, entry.cluster = "AssumeRoleForPodIdentity", parts[1]
	if fault == FaultNodeDenied {
		// IAM's authorization of the caller, as if the node's policy lacked the action
		clusterARN := st.cfg.clusterARN(Cluster{Name: parts[1], Region: p.region})
		s.writeJSONError(w, r, eksError(denied(p, "eks-auth:AssumeRoleForPodIdentity", clusterARN)), entry)
		return
	}
	out, apiErr := s.assumeRoleForPodIdentity(r.Context(), p, parts[1], body, fault, entry)
	if apiErr != nil {
		s.writeJSONError(w, r, apiErr, entry)
		return
	}
	if s.writeFaultAnswer(w, r, fault, out, entry) {
		return
	}
	s.writeJSON(w, r, http.StatusOK, out, entry)
}

func invalidToken400(msg, detail string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidTokenException", message: msg, detail: detail}
}

func eksAuthDenied(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "AccessDeniedException", message: fmt.Sprintf(format, args...)}
}

// podTokenClaims are the claims of a projected service account token that EKS Auth reads.
type podTokenClaims struct {
	jwt.Claims
	Kubernetes struct {
		Namespace      string `json:"namespace"`
		ServiceAccount struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"serviceaccount"`
		Pod *struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"pod"`
	} `json:"kubernetes.io"`
}

// verifyPodToken checks a Pod Identity token as EKS Auth does: issued by the cluster's issuer,
// signed by one of its keys (found through its OIDC discovery), unexpired, for
// pods.eks.amazonaws.com, and bound to a pod. Errors never quote the token.
func (s *Server) verifyPodToken(ctx context.Context, c Cluster, raw string) (*podTokenClaims, *apiError) {
	tok, err := jwt.ParseSigned(raw, signatureAlgorithms)
	if err != nil {
		return nil, invalidToken400("The token is not a valid JWT.", "parse: "+err.Error())
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, invalidToken400("The token is not a valid JWT.", "claims: "+err.Error())
	}
	if normalizeIssuer(unverified.Issuer) != normalizeIssuer(c.Issuer) {
		return nil, invalidToken400("The token was not issued by cluster "+c.Name+".", fmt.Sprintf("iss %q, cluster issuer %q", unverified.Issuer, c.Issuer))
	}
	ks := s.config.Load().clusterKeys[c.Region+"/"+c.Name]
	kid := ""
	if len(tok.Headers) > 0 {
		kid = tok.Headers[0].KeyID
	}
	keys, err := ks.candidates(ctx, kid)
	if err != nil {
		return nil, invalidToken400("The token's signature could not be verified.", err.Error())
	}
	var claims podTokenClaims
	verified := false
	for i := range keys {
		if tok.Claims(&keys[i], &claims) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, invalidToken400("The token's signature could not be verified.", fmt.Sprintf("no key with id %q verifies it", kid))
	}
	now := s.now()
	switch {
	case claims.Expiry == nil:
		return nil, invalidToken400("The token has no expiration.", "")
	case now.After(claims.Expiry.Time().Add(clockSkew)):
		return nil, &apiError{status: http.StatusBadRequest, code: "ExpiredTokenException", message: "The token has expired."}
	case claims.NotBefore != nil && now.Add(clockSkew).Before(claims.NotBefore.Time()):
		return nil, invalidToken400("The token is not valid yet.", "")
	}
	if !claims.Audience.Contains(PodIdentityAudience) {
		return nil, invalidToken400("The token's audience is not "+PodIdentityAudience+".", fmt.Sprintf("aud %q", []string(claims.Audience)))
	}
	if claims.Kubernetes.Pod == nil || claims.Kubernetes.Pod.Name == "" {
		return nil, invalidToken400("The token is not bound to a pod.", "")
	}
	return &claims, nil
}

func (s *Server) assumeRoleForPodIdentity(ctx context.Context, p *principal, clusterName string, body []byte, fault string, entry *logEntry) (map[string]any, *apiError) {
	st := s.config.Load()
	clusterARN := st.cfg.clusterARN(Cluster{Name: clusterName, Region: p.region})
	if e := authorize(p, "eks-auth:AssumeRoleForPodIdentity", clusterARN); e != nil {
		return nil, eksError(e)
	}
	var req struct {
		Token *string `json:"token"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil {
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidRequestException", message: "The request body is not valid JSON for this operation"}
	}
	if req.Token == nil || *req.Token == "" {
		return nil, invalidParameter("token is required.")
	}
	if !tokenPatternRE.MatchString(*req.Token) {
		return nil, invalidParameter("The token does not match the pattern of a JWT.") // never quoted
	}
	c, ok := st.cluster(p.region, clusterName)
	if !ok {
		return nil, clusterNotFound(clusterName)
	}
	claims, apiErr := s.verifyPodToken(ctx, c, *req.Token)
	if apiErr != nil {
		return nil, apiErr
	}
	entry.subject = claims.Subject
	ns, sa, ok := serviceAccountOf(claims.Subject)
	if !ok {
		return nil, invalidToken400("The token's subject is not a service account.", "sub "+claims.Subject)
	}
	entry.namespace, entry.serviceAccount = ns, sa

	s.assoc.mu.Lock()
	var as association
	found := s.assoc.forAccount(p.region, clusterName, ns, sa)
	if found != nil {
		as = *found
	}
	s.assoc.mu.Unlock()
	if found == nil {
		return nil, &apiError{status: http.StatusNotFound, code: "ResourceNotFoundException",
			message: fmt.Sprintf("No Pod Identity Association found for service account %s in namespace %s of cluster %s.", sa, ns, clusterName)}
	}
	entry.association, entry.role, entry.targetRole = as.ID, as.RoleARN, as.TargetRoleARN

	pod := claims.Kubernetes.Pod
	tags := map[string]string{}
	if !as.DisableSessionTags {
		tags = map[string]string{
			"eks-cluster-arn":            clusterARN,
			"eks-cluster-name":           clusterName,
			"kubernetes-namespace":       ns,
			"kubernetes-service-account": sa,
			"kubernetes-pod-name":        pod.Name,
			"kubernetes-pod-uid":         pod.UID,
		}
		entry.sessionTags = tags
	}
	sessionName := podSessionName(clusterName, pod.Name)
	entry.session = sessionName

	role, apiErr := s.assumeForPod(st, as.RoleARN, sessionName, tags, RequestContext{Service: podIdentityService}, "the service principal "+podIdentityService, fault == FaultRoleMissing)
	if apiErr != nil {
		return nil, apiErr
	}
	duration := podIdentitySessionDuration
	if as.TargetRoleARN != "" {
		// role chaining: the association's role assumes the target role
		names := []string{role.arn, "arn:" + st.cfg.partition() + ":iam::" + st.cfg.Account + ":root", st.cfg.Account}
		keys := map[string][]string{}
		if as.ExternalID != "" {
			keys["sts:ExternalId"] = []string{as.ExternalID}
		}
		role, apiErr = s.assumeForPod(st, as.TargetRoleARN, sessionName, tags, RequestContext{AWS: names, Keys: keys}, "the role "+as.RoleARN, false)
		if apiErr != nil {
			return nil, apiErr
		}
		duration = chainedSessionDuration
	}
	sess, err := s.issue(role, sessionName, duration)
	if err != nil {
		return nil, &apiError{status: http.StatusInternalServerError, code: "InternalServerException", message: "An internal error occurred", detail: err.Error()}
	}
	sess.tags = tags
	return map[string]any{
		"subject":  map[string]string{"namespace": ns, "serviceAccount": sa},
		"audience": PodIdentityAudience,
		"podIdentityAssociation": map[string]string{
			"associationArn": as.ARN, "associationId": as.ID,
		},
		"assumedRoleUser": map[string]string{"arn": sess.arn, "assumeRoleId": sess.userID},
		"credentials": map[string]any{
			"accessKeyId": sess.accessKeyID, "secretAccessKey": sess.secretAccessKey,
			"sessionToken": sess.sessionToken, "expiration": float64(sess.expiration.Unix()),
		},
	}, nil
}

// assumeForPod checks that roleARN's trust lets who (rc) assume it and, when tags are set,
// tag the session. A role that does not exist (or is taken as missing) is refused with the
// same words as a trust that refuses: EKS Auth does not tell the two apart.
func (s *Server) assumeForPod(st *configState, roleARN, sessionName string, tags map[string]string, rc RequestContext, who string, missing bool) (*roleState, *apiError) {
	actions := []string{"sts:AssumeRole"}
	if len(tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	refused := eksAuthDenied("Unable to assume role %s for %s: the role does not exist or its trust policy does not allow %s.", roleARN, who, strings.Join(actions, " and "))
	role, ok := st.roles[roleARN]
	if !ok || missing {
		refused.detail = "the role does not exist"
		if missing {
			refused.detail = "injected fault " + FaultRoleMissing
		}
		return nil, refused
	}
	keys := map[string][]string{"sts:RoleSessionName": {sessionName}}
	for k, v := range rc.Keys {
		keys[k] = v
	}
	for k, v := range tags {
		keys["aws:RequestTag/"+k] = []string{v}
	}
	if len(tags) > 0 {
		tagKeys := make([]string, 0, len(tags))
		for k := range tags {
			tagKeys = append(tagKeys, k)
		}
		keys["aws:TagKeys"] = tagKeys
	}
	rc.Keys = keys
	var lacking []string
	for _, action := range actions {
		rc.Action = action
		if !role.policy.Allows(rc) {
			lacking = append(lacking, action)
		}
	}
	if len(lacking) > 0 {
		refused.detail = "the trust policy does not allow " + strings.Join(lacking, " and ")
		return nil, refused
	}
	return role, nil
}

// serviceAccountOf splits "system:serviceaccount:NS:NAME".
func serviceAccountOf(sub string) (ns, name string, ok bool) {
	rest, ok := strings.CutPrefix(sub, "system:serviceaccount:")
	if !ok {
		return "", "", false
	}
	ns, name, ok = strings.Cut(rest, ":")
	return ns, name, ok && ns != "" && name != ""
}

// podSessionName is EKS Auth's role session name, "eks-CLUSTER-POD-UUID", cut to IAM's 64
// characters.
func podSessionName(cluster, pod string) string {
	name := "eks-" + cluster + "-" + pod + "-" + uuid.NewString()
	name = strings.Map(func(r rune) rune {
		if sessionNameRE.MatchString(string(r)) {
			return r
		}
		return '-'
	}, name)
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}
