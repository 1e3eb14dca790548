package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxBodyBytes bounds an AdmissionReview body; the apiserver's own request limit is 3 MiB.
const maxBodyBytes = 8 << 20

// Handler answers pod admission requests the way the pod identity webhook does.
type Handler struct {
	// Config says what to inject.
	Config Config
	// Accounts is the service account cache the webhook admits from.
	Accounts Accounts
	// Associations lists the accounts with a Pod Identity association; nil: none.
	Associations *Associations
	// Grace, when positive, is how long a lookup of an account the cache does not hold may
	// fetch it from the apiserver (--service-account-lookup-grace-period; 0 by default, as on
	// EKS). Fetch does that.
	Grace time.Duration
	Fetch func(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	// Jitter picks a container credentials token lifetime in place of the default one.
	Jitter func() int64
	// Log receives one line per admission request; nil discards them.
	Log io.Writer

	mu         sync.Mutex // serialises writes to Log
	admissions atomic.Int64
}

// NewHandler returns a Handler that admits from accounts, with no associations, no grace
// period and a random jitter, and logs to log.
func NewHandler(accounts Accounts, cfg Config, log io.Writer) *Handler {
	return &Handler{Config: cfg, Accounts: accounts, Log: log, Jitter: randomJitter}
}

// randomJitter is the real webhook's: uniform from MinJitteredExpiration to DefaultExpiration.
func randomJitter() int64 {
	return MinJitteredExpiration + rand.Int64N(DefaultExpiration-MinJitteredExpiration+1)
}

// Admissions returns how many admission requests the handler has answered, so a caller can
// tell that the apiserver is calling it.
func (h *Handler) Admissions() int64 { return h.admissions.Load() }

// Mux returns the webhook's endpoints: POST /mutate and GET /healthz.
func (h *Handler) Mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /mutate", h.serveMutate)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// serveMutate decodes an AdmissionReview (admission.k8s.io/v1, or v1beta1 whose JSON is the
// same) and answers it in the same version.
func (h *Handler) serveMutate(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			http.Error(w, fmt.Sprintf("unsupported content type %q, expected application/json", ct), http.StatusUnsupportedMediaType)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		http.Error(w, fmt.Sprintf("failed to read body: %v", err), http.StatusBadRequest)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		http.Error(w, fmt.Sprintf("failed to decode admission review: %v", err), http.StatusBadRequest)
		return
	}
	switch review.APIVersion {
	case "admission.k8s.io/v1", "admission.k8s.io/v1beta1":
	default:
		http.Error(w, fmt.Sprintf("unsupported admission review version %q", review.APIVersion), http.StatusBadRequest)
		return
	}
	if review.Request == nil {
		http.Error(w, "admission review has no request", http.StatusBadRequest)
		return
	}
	out := admissionv1.AdmissionReview{
		TypeMeta: review.TypeMeta,
		Response: h.Admit(r.Context(), review.Request),
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		h.logf("failed to write admission response: %v", err)
	}
}

// Admit answers one admission request. A pod it mutates comes back with a JSONPatch; everything
// else is allowed unchanged, except a pod that cannot be decoded, which is refused.
func (h *Handler) Admit(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	h.admissions.Add(1)
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	ns := req.Namespace
	if req.Resource.Group != "" || req.Resource.Resource != "pods" || req.SubResource != "" {
		h.logf("%s/%s %s %s: not mutated: not a pod", ns, req.Name, req.Operation, req.Resource.Resource)
		return resp
	}
	var pod corev1.Pod
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		h.logf("%s/%s: refused: failed to decode pod: %v", ns, req.Name, err)
		resp.Allowed = false
		resp.Result = &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusBadRequest,
			Reason:  metav1.StatusReasonBadRequest,
			Message: fmt.Sprintf("failed to decode pod: %v", err),
		}
		return resp
	}
	if ns == "" {
		ns = pod.Namespace
	}
	name := pod.Name
	if name == "" {
		name = pod.GenerateName
	}
	saName := pod.Spec.ServiceAccountName
	if saName == "" {
		saName = "default"
	}
	prefix := fmt.Sprintf("%s/%s sa=%s", ns, name, saName)
	if req.DryRun != nil && *req.DryRun {
		prefix += " dry-run"
	}
	if req.Operation != admissionv1.Create {
		h.logf("%s: not mutated: operation %s, only CREATE is mutated", prefix, req.Operation)
		return resp
	}

	ops, reason := h.decide(ctx, ns, saName, &pod)
	if len(ops) == 0 {
		h.logf("%s: not mutated: %s", prefix, reason)
		return resp
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		// Cannot happen for these types; allow the pod unchanged, as failurePolicy Ignore would.
		h.logf("%s: not mutated: failed to encode patch: %v", prefix, err)
		return resp
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	h.logf("%s: mutated: %s", prefix, reason)
	return resp
}

// decide looks the service account up in the cache (fetching it within the grace period
// when the cache does not hold it) and works out the patch.
func (h *Handler) decide(ctx context.Context, ns, saName string, pod *corev1.Pod) ([]PatchOperation, string) {
	entry, known := h.Accounts.Lookup(ns, saName)
	if !known && h.Grace > 0 && h.Fetch != nil {
		fctx, cancel := context.WithTimeout(ctx, h.Grace)
		sa, err := h.Fetch(fctx, ns, saName)
		cancel()
		if err == nil {
			entry, known = h.Config.EntryFor(sa), true
		}
	}
	p, why := h.Config.planFor(pod, entry, known, h.Associations.Has(ns, saName), h.Jitter)
	if p == nil {
		return nil, why
	}
	return h.Config.patch(pod, p)
}

func (h *Handler) logf(format string, args ...any) {
	if h.Log == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, _ = fmt.Fprintf(h.Log, "admission "+format+"\n", args...)
}
