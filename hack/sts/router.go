package sts

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ServeHTTP routes a request to the service it is for, the way AWS's endpoints are one per
// service: by the service of the SigV4 credential scope (sts, iam, eks, eks-auth). An
// unsigned query request (AssumeRoleWithWebIdentity needs no signature) is STS's; any other
// unsigned request is refused as the JSON services refuse it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.configFile.reloadIfChanged(s)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodySize+1))
	if err != nil || len(body) > maxBodySize {
		e := &apiError{status: http.StatusRequestEntityTooLarge, code: "RequestEntityTooLarge", message: "Request body is too large"}
		if err != nil {
			e = &apiError{status: http.StatusBadRequest, code: "MalformedQueryString", message: "Failed to read the request body", detail: err.Error()}
		}
		s.writeJSONError(w, r, e, &logEntry{})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	service, signed := scopeService(r)
	entry := &logEntry{service: service}
	switch service {
	case "sts":
		s.serveSTS(w, r, body, entry)
	case "iam":
		s.serveIAM(w, r, body, entry)
	case "eks":
		s.serveEKS(w, r, body, entry)
	case "":
		// unsigned, or signed in a way this server cannot read: STS's query requests say so
		// in XML (it needs no signature for AssumeRoleWithWebIdentity), the rest in JSON
		if r.URL.Path == "/" || r.URL.Path == "" {
			entry.service = "sts"
			s.serveSTS(w, r, body, entry)
			return
		}
		e := &apiError{status: http.StatusForbidden, code: "MissingAuthenticationTokenException", message: "Missing Authentication Token"}
		if signed {
			e = &apiError{status: http.StatusBadRequest, code: "IncompleteSignatureException", message: "Authorization header is malformed"}
		}
		s.writeJSONError(w, r, e, entry)
	default:
		s.writeJSONError(w, r, &apiError{status: http.StatusBadRequest, code: "UnknownOperationException",
			message: "The service " + entry.service + " is not served here", detail: "unknown service in credential scope"}, entry)
	}
}

// scopeService is the service of a request's SigV4 credential scope, from the Authorization
// header or a presigned URL's X-Amz-Credential; "" for an unsigned request, or a signed one
// whose scope does not parse (signed is then true).
func scopeService(r *http.Request) (service string, signed bool) {
	cred := ""
	if h := r.Header.Get("Authorization"); h != "" {
		signed = true
		for _, part := range strings.Split(strings.TrimPrefix(h, sigV4Algorithm+" "), ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
				cred = v
			}
		}
	} else if q, err := url.ParseQuery(r.URL.RawQuery); err == nil && q.Has("X-Amz-Credential") {
		signed, cred = true, q.Get("X-Amz-Credential")
	}
	scope := strings.Split(cred, "/")
	if len(scope) != 5 || scope[3] == "" {
		return "", signed
	}
	return scope[3], signed
}
