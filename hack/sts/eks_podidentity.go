package sts

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The EKS API's Pod Identity association operations (REST JSON), as the SDK's service/eks
// client calls them:
//
//	POST   /clusters/{name}/pod-identity-associations        CreatePodIdentityAssociation
//	GET    /clusters/{name}/pod-identity-associations        ListPodIdentityAssociations
//	GET    /clusters/{name}/pod-identity-associations/{id}   DescribePodIdentityAssociation
//	POST   /clusters/{name}/pod-identity-associations/{id}   UpdatePodIdentityAssociation
//	DELETE /clusters/{name}/pod-identity-associations/{id}   DeletePodIdentityAssociation

const (
	defaultMaxResults = 100
	maxTags           = 50
)

var (
	// a namespace is a DNS label, a service account name a DNS subdomain, as Kubernetes has them
	dnsLabelRE     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

func invalidParameter(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidParameterException", message: fmt.Sprintf(format, args...)}
}

func invalidRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "InvalidRequestException", message: fmt.Sprintf(format, args...)}
}

func clusterNotFound(name string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "ResourceNotFoundException", message: "No cluster found for name: " + name + "."}
}

func associationNotFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, code: "ResourceNotFoundException", message: "No Pod Identity association found for id: " + id + "."}
}

// routeAssociations serves the association operations; parts is the path split at "/", past
// "clusters/{name}/pod-identity-associations". ok is false when the path is not one of them.
func (s *Server) routeAssociations(r *http.Request, body []byte, p *principal, cluster string, rest []string, entry *logEntry) (any, *apiError, bool) {
	entry.cluster = cluster
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		entry.action = "CreatePodIdentityAssociation"
		out, err := s.createAssociation(p, cluster, body, entry)
		return out, err, true
	case len(rest) == 0 && r.Method == http.MethodGet:
		entry.action = "ListPodIdentityAssociations"
		out, err := s.listAssociations(p, cluster, r.URL.Query())
		return out, err, true
	case len(rest) == 1 && r.Method == http.MethodGet:
		entry.action, entry.association = "DescribePodIdentityAssociation", rest[0]
		out, err := s.describeAssociation(p, cluster, rest[0])
		return out, err, true
	case len(rest) == 1 && r.Method == http.MethodPost:
		entry.action, entry.association = "UpdatePodIdentityAssociation", rest[0]
		out, err := s.updateAssociation(p, cluster, rest[0], body, entry)
		return out, err, true
	case len(rest) == 1 && r.Method == http.MethodDelete:
		entry.action, entry.association = "DeletePodIdentityAssociation", rest[0]
		out, err := s.deleteAssociation(p, cluster, rest[0])
		return out, err, true
	}
	return nil, nil, false
}

func (s *Server) associationARN(region, cluster, id string) string {
	cfg := s.config.Load().cfg
	return "arn:" + cfg.partition() + ":eks:" + region + ":" + cfg.Account + ":podidentityassociation/" + cluster + "/" + id
}

// requireCluster authorizes action on the cluster and finds it.
func (s *Server) requireCluster(p *principal, cluster, action string) *apiError {
	st := s.config.Load()
	if e := authorize(p, action, st.cfg.clusterARN(Cluster{Name: cluster, Region: p.region})); e != nil {
		return eksError(e)
	}
	if _, ok := st.cluster(p.region, cluster); !ok {
		return clusterNotFound(cluster)
	}
	return nil
}

// associationRequest is the body of Create and Update. Pointers tell an absent member from an
// empty one: Update changes only what is present.
type associationRequest struct {
	Namespace          *string           `json:"namespace"`
	ServiceAccount     *string           `json:"serviceAccount"`
	RoleARN            *string           `json:"roleArn"`
	TargetRoleARN      *string           `json:"targetRoleArn"`
	DisableSessionTags *bool             `json:"disableSessionTags"`
	Policy             *string           `json:"policy"`
	Tags               map[string]string `json:"tags"`
	ClientRequestToken *string           `json:"clientRequestToken"`
}

func decodeAssociationRequest(body []byte) (associationRequest, *apiError) {
	var req associationRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return req, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, invalidRequest("The request body is not valid JSON for this operation")
	}
	return req, nil
}

// digest is what a retry with the same clientRequestToken must repeat.
func (req associationRequest) digest() string {
	req.ClientRequestToken = nil
	b, _ := json.Marshal(req)
	return string(b)
}

// checkRoleARN checks a role ARN member as EKS does: an IAM role ARN (of any account).
func checkRoleARN(member, arn string) *apiError {
	if _, err := parseRoleARN(arn); err != nil {
		return invalidParameter("The %s %s is not a valid IAM role ARN.", member, arn)
	}
	return nil
}

func checkTags(tags map[string]string) *apiError {
	if len(tags) > maxTags {
		return invalidParameter("An association can have at most %d tags.", maxTags)
	}
	for k, v := range tags {
		switch {
		case len(k) < 1 || len([]rune(k)) > 128:
			return invalidParameter("Tag keys must be 1 to 128 characters: %q.", k)
		case len([]rune(v)) > 256:
			return invalidParameter("Tag values must be at most 256 characters: the value of %q.", k)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return invalidParameter("Tag keys may not start with the reserved prefix aws: %q.", k)
		}
	}
	return nil
}

// checkPolicy applies EKS's rule that a session policy needs the session tags off.
func checkPolicy(policy *string, disableSessionTags bool) *apiError {
	if policy == nil || *policy == "" {
		return nil
	}
	if !disableSessionTags {
		return invalidParameter("disableSessionTags must be true when a policy is given.")
	}
	var v map[string]any
	if json.Unmarshal([]byte(*policy), &v) != nil {
		return invalidParameter("The policy is not valid JSON.")
	}
	return nil
}

func (s *Server) createAssociation(p *principal, cluster string, body []byte, entry *logEntry) (any, *apiError) {
	req, apiErr := decodeAssociationRequest(body)
	if apiErr != nil {
		return nil, apiErr
	}
	ns, sa, role := deref(req.Namespace), deref(req.ServiceAccount), deref(req.RoleARN)
	entry.namespace, entry.serviceAccount, entry.role = ns, sa, role
	if e := s.requireCluster(p, cluster, "eks:CreatePodIdentityAssociation"); e != nil {
		return nil, e
	}
	switch {
	case req.Namespace == nil || ns == "":
		return nil, invalidParameter("namespace is required.")
	case req.ServiceAccount == nil || sa == "":
		return nil, invalidParameter("serviceAccount is required.")
	case req.RoleARN == nil || role == "":
		return nil, invalidParameter("roleArn is required.")
	case len(ns) > 63 || !dnsLabelRE.MatchString(ns):
		return nil, invalidParameter("The namespace %s is not a valid Kubernetes namespace name.", ns)
	case len(sa) > 253 || !dnsSubdomainRE.MatchString(sa):
		return nil, invalidParameter("The serviceAccount %s is not a valid Kubernetes service account name.", sa)
	}
	if e := checkRoleARN("roleArn", role); e != nil {
		return nil, e
	}
	target := deref(req.TargetRoleARN)
	if target != "" {
		if e := checkRoleARN("targetRoleArn", target); e != nil {
			return nil, e
		}
	}
	if e := checkTags(req.Tags); e != nil {
		return nil, e
	}
	if e := checkPolicy(req.Policy, deref(req.DisableSessionTags)); e != nil {
		return nil, e
	}
	// EKS passes the role to the pods: the caller needs iam:PassRole on it
	if e := authorize(p, "iam:PassRole", role); e != nil {
		return nil, eksError(e)
	}

	a := &s.assoc
	a.mu.Lock()
	defer a.mu.Unlock()
	tokenKey := ""
	if t := deref(req.ClientRequestToken); t != "" {
		tokenKey = "create/" + p.region + "/" + cluster + "/" + t
		if prev, ok := a.state.Tokens[tokenKey]; ok {
			if prev.Request != req.digest() {
				return nil, invalidRequest("The clientRequestToken %s was already used with a different request.", t)
			}
			if as := a.find(p.region, cluster, prev.AssociationID); as != nil {
				entry.association = as.ID
				return map[string]any{"association": s.associationJSON(as)}, nil
			}
		}
	}
	if existing := a.forAccount(p.region, cluster, ns, sa); existing != nil {
		return nil, &apiError{status: http.StatusConflict, code: "ResourceInUseException", message: "Association already exists: " + existing.ID}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	as := &association{
		ID: newAssociationID(), Cluster: cluster, Region: p.region, Namespace: ns, ServiceAccount: sa,
		RoleARN: role, TargetRoleARN: target, DisableSessionTags: deref(req.DisableSessionTags),
		Policy: deref(req.Policy), Tags: req.Tags, CreatedAt: now, ModifiedAt: now,
	}
	as.ARN = s.associationARN(p.region, cluster, as.ID)
	if target != "" {
		as.ExternalID = newExternalID()
	}
	entry.association = as.ID
	a.state.Associations = append(a.state.Associations, as)
	if tokenKey != "" {
		a.state.Tokens[tokenKey] = requestToken{AssociationID: as.ID, Request: req.digest()}
	}
	if err := a.save(s.config.Load().cfg.Clusters); err != nil {
		return nil, &apiError{status: http.StatusInternalServerError, code: "ServerException", message: "An internal error occurred", detail: err.Error()}
	}
	return map[string]any{"association": s.associationJSON(as)}, nil
}

func (s *Server) describeAssociation(p *principal, cluster, id string) (any, *apiError) {
	if e := s.requireCluster(p, cluster, "eks:DescribePodIdentityAssociation"); e != nil {
		return nil, e
	}
	a := &s.assoc
	a.mu.Lock()
	defer a.mu.Unlock()
	as := a.find(p.region, cluster, id)
	if as == nil {
		return nil, associationNotFound(id)
	}
	return map[string]any{"association": s.associationJSON(as)}, nil
}

func (s *Server) updateAssociation(p *principal, cluster, id string, body []byte, entry *logEntry) (any, *apiError) {
	req, apiErr := decodeAssociationRequest(body)
	if apiErr != nil {
		return nil, apiErr
	}
	if e := s.requireCluster(p, cluster, "eks:UpdatePodIdentityAssociation"); e != nil {
		return nil, e
	}
	if req.Namespace != nil || req.ServiceAccount != nil || req.Tags != nil {
		// not members of the operation: the SDK cannot send them
		return nil, invalidRequest("An association cannot move to another namespace or service account; tags change through TagResource.")
	}
	if req.RoleARN != nil {
		if e := checkRoleARN("roleArn", *req.RoleARN); e != nil {
			return nil, e
		}
	}
	if t := deref(req.TargetRoleARN); t != "" {
		if e := checkRoleARN("targetRoleArn", t); e != nil {
			return nil, e
		}
	}
	a := &s.assoc
	a.mu.Lock()
	defer a.mu.Unlock()
	as := a.find(p.region, cluster, id)
	if as == nil {
		return nil, associationNotFound(id)
	}
	tokenKey := ""
	if t := deref(req.ClientRequestToken); t != "" {
		tokenKey = "update/" + p.region + "/" + cluster + "/" + id + "/" + t
		if prev, ok := a.state.Tokens[tokenKey]; ok {
			if prev.Request != req.digest() {
				return nil, invalidRequest("The clientRequestToken %s was already used with a different request.", t)
			}
			return map[string]any{"association": s.associationJSON(as)}, nil
		}
	}
	next := *as
	if req.RoleARN != nil {
		next.RoleARN = *req.RoleARN
	}
	if req.TargetRoleARN != nil {
		next.TargetRoleARN = *req.TargetRoleARN // "" removes the target role
	}
	if req.DisableSessionTags != nil {
		next.DisableSessionTags = *req.DisableSessionTags
	}
	if req.Policy != nil {
		next.Policy = *req.Policy
	}
	if e := checkPolicy(&next.Policy, next.DisableSessionTags); e != nil {
		return nil, e
	}
	if req.RoleARN != nil {
		if e := authorize(p, "iam:PassRole", next.RoleARN); e != nil {
			return nil, eksError(e)
		}
	}
	switch {
	case next.TargetRoleARN == "":
		next.ExternalID = ""
	case next.ExternalID == "":
		next.ExternalID = newExternalID()
	}
	next.ModifiedAt = s.now().UTC().Truncate(time.Millisecond)
	entry.role = next.RoleARN
	*as = next
	if tokenKey != "" {
		a.state.Tokens[tokenKey] = requestToken{AssociationID: as.ID, Request: req.digest()}
	}
	if err := a.save(s.config.Load().cfg.Clusters); err != nil {
		return nil, &apiError{status: http.StatusInternalServerError, code: "ServerException", message: "An internal error occurred", detail: err.Error()}
	}
	return map[string]any{"association": s.associationJSON(as)}, nil
}

func (s *Server) deleteAssociation(p *principal, cluster, id string) (any, *apiError) {
	if e := s.requireCluster(p, cluster, "eks:DeletePodIdentityAssociation"); e != nil {
		return nil, e
	}
	a := &s.assoc
	a.mu.Lock()
	defer a.mu.Unlock()
	as := a.find(p.region, cluster, id)
	if as == nil {
		return nil, associationNotFound(id)
	}
	kept := a.state.Associations[:0]
	for _, x := range a.state.Associations {
		if x != as {
			kept = append(kept, x)
		}
	}
	a.state.Associations = kept
	if err := a.save(s.config.Load().cfg.Clusters); err != nil {
		return nil, &apiError{status: http.StatusInternalServerError, code: "ServerException", message: "An internal error occurred", detail: err.Error()}
	}
	return map[string]any{"association": s.associationJSON(as)}, nil
}

// pageToken is ListPodIdentityAssociations' nextToken: where the next page starts, by the
// (creation time, id) order the list is in, so a deletion between pages skips nothing.
type pageToken struct {
	Created int64  `json:"c"`
	ID      string `json:"i"`
}

func (s *Server) listAssociations(p *principal, cluster string, q url.Values) (any, *apiError) {
	if e := s.requireCluster(p, cluster, "eks:ListPodIdentityAssociations"); e != nil {
		return nil, e
	}
	maxResults := defaultMaxResults
	if q.Has("maxResults") {
		n, err := strconv.Atoi(q.Get("maxResults"))
		if err != nil || n < 1 || n > 100 {
			return nil, invalidParameter("maxResults must be between 1 and 100.")
		}
		maxResults = n
	}
	var after *pageToken
	if t := q.Get("nextToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		var pt pageToken
		if err != nil || json.Unmarshal(b, &pt) != nil || pt.ID == "" {
			return nil, invalidParameter("The nextToken is not valid.")
		}
		after = &pt
	}
	ns, sa := q.Get("namespace"), q.Get("serviceAccount")

	a := &s.assoc
	a.mu.Lock()
	var all []*association
	for _, as := range a.state.Associations {
		if as.Cluster == cluster && as.Region == p.region && (ns == "" || as.Namespace == ns) && (sa == "" || as.ServiceAccount == sa) {
			copied := *as
			all = append(all, &copied)
		}
	}
	a.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return pageKeyLess(all[i], all[j].CreatedAt.UnixNano(), all[j].ID) })

	var page []*association
	var next string
	for _, as := range all {
		if after != nil && !pageKeyLess(&association{CreatedAt: time.Unix(0, after.Created), ID: after.ID}, as.CreatedAt.UnixNano(), as.ID) {
			continue
		}
		if len(page) == maxResults {
			last := page[len(page)-1]
			b, _ := json.Marshal(pageToken{Created: last.CreatedAt.UnixNano(), ID: last.ID})
			next = base64.RawURLEncoding.EncodeToString(b)
			break
		}
		page = append(page, as)
	}
	summaries := []map[string]any{}
	for _, as := range page {
		summaries = append(summaries, map[string]any{
			"clusterName": as.Cluster, "namespace": as.Namespace, "serviceAccount": as.ServiceAccount,
			"associationArn": as.ARN, "associationId": as.ID,
		})
	}
	out := map[string]any{"associations": summaries}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// pageKeyLess orders associations by creation time, then id.
func pageKeyLess(a *association, created int64, id string) bool {
	if c := a.CreatedAt.UnixNano(); c != created {
		return c < created
	}
	return a.ID < id
}

// associationJSON is an association as EKS's PodIdentityAssociation shape.
func (s *Server) associationJSON(as *association) map[string]any {
	tags := as.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	out := map[string]any{
		"clusterName":        as.Cluster,
		"namespace":          as.Namespace,
		"serviceAccount":     as.ServiceAccount,
		"roleArn":            as.RoleARN,
		"associationArn":     as.ARN,
		"associationId":      as.ID,
		"tags":               tags,
		"createdAt":          epochSeconds(as.CreatedAt),
		"modifiedAt":         epochSeconds(as.ModifiedAt),
		"disableSessionTags": as.DisableSessionTags,
	}
	if as.TargetRoleARN != "" {
		out["targetRoleArn"] = as.TargetRoleARN
		out["externalId"] = as.ExternalID
	}
	if as.Policy != "" {
		out["policy"] = as.Policy
	}
	return out
}

// epochSeconds is a timestamp as REST JSON sends it: seconds since the epoch, a number.
func epochSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
