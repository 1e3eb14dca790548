package sts

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// serveEKS answers one EKS REST JSON request.
func (s *Server) serveEKS(w http.ResponseWriter, r *http.Request, body []byte, entry *logEntry) {
	p, apiErr := s.authenticate(r, body, "eks")
	if p != nil {
		entry.principal, entry.accessKeyID = p.arn, p.accessKeyID
	}
	if apiErr != nil {
		apiErr.code = jsonAuthCode(apiErr.code)
		s.writeJSONError(w, r, apiErr, entry)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var (
		out    any
		status = http.StatusOK
	)
	handled := false
	switch {
	case len(parts) == 2 && parts[0] == "clusters" && r.Method == http.MethodGet:
		entry.action, entry.cluster = "DescribeCluster", parts[1]
		out, apiErr = s.describeCluster(p, parts[1])
		handled = true
	case len(parts) >= 3 && parts[0] == "clusters" && parts[2] == "pod-identity-associations":
		out, apiErr, handled = s.routeAssociations(r, body, p, parts[1], parts[3:], entry)
	}
	if !handled {
		entry.action = r.Method + " " + r.URL.Path
		apiErr = &apiError{status: http.StatusNotFound, code: "UnknownOperationException", message: "The operation " + r.Method + " " + r.URL.Path + " is not served here"}
	}
	if apiErr != nil {
		s.writeJSONError(w, r, apiErr, entry)
		return
	}
	s.writeJSON(w, r, status, out, entry)
}

// cluster finds a cluster by name in the region the request was signed for: as on EKS, a
// cluster is not found through another region's endpoint.
func (st *configState) cluster(region, name string) (Cluster, bool) {
	for _, c := range st.cfg.Clusters {
		if c.Name == name && c.Region == region {
			return c, true
		}
	}
	return Cluster{}, false
}

func (s *Server) describeCluster(p *principal, name string) (any, *apiError) {
	st := s.config.Load()
	arn := st.cfg.clusterARN(Cluster{Name: name, Region: p.region})
	if e := authorize(p, "eks:DescribeCluster", arn); e != nil {
		return nil, eksError(e)
	}
	c, ok := st.cluster(p.region, name)
	if !ok {
		return nil, &apiError{status: http.StatusNotFound, code: "ResourceNotFoundException", message: "No cluster found for name: " + name + "."}
	}
	return map[string]any{"cluster": map[string]any{
		"name":      c.Name,
		"arn":       arn,
		"createdAt": float64(s.created.Unix()),
		"status":    "ACTIVE",
		"identity":  map[string]any{"oidc": map[string]any{"issuer": c.Issuer}},
	}}, nil
}

// eksError gives an authorization error EKS's code.
func eksError(e *apiError) *apiError {
	if e.code == "AccessDenied" {
		e.code = "AccessDeniedException"
	}
	return e
}

// writeJSON writes a REST JSON answer (EKS, EKS Auth) and logs the request.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any, entry *logEntry) {
	requestID := uuid.NewString()
	out, err := json.Marshal(v)
	if err != nil {
		entry.detail = "marshal response: " + err.Error()
		s.writeJSONError(w, r, &apiError{status: http.StatusInternalServerError, code: "ServerException", message: "An internal error occurred"}, entry)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	// Logged before the answer goes out: a client that reads the log once it has its answer
	// finds its request there.
	s.logRequest(r, requestID, status, "OK", *entry)
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// writeJSONError writes a REST JSON error as EKS sends it: the code in X-Amzn-ErrorType, the
// message in the body.
func (s *Server) writeJSONError(w http.ResponseWriter, r *http.Request, e *apiError, entry *logEntry) {
	requestID := uuid.NewString()
	if entry.detail == "" {
		entry.detail = e.detail
	}
	out, _ := json.Marshal(map[string]string{"message": e.message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.Header().Set("X-Amzn-Errortype", e.code)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	s.logRequest(r, requestID, e.status, e.code, *entry) // before the answer, as writeJSON
	w.WriteHeader(e.status)
	_, _ = w.Write(out)
}
