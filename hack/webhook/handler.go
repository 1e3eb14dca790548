package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// maxBodyBytes bounds an AdmissionReview body; the apiserver's own request limit is 3 MiB.
const maxBodyBytes = 8 << 20

// Handler answers pod admission requests the way the pod identity webhook does.
type Handler struct {
	// Client reads service accounts at admission time.
	Client kubernetes.Interface
	// Config says what to inject.
	Config Config
	// Log receives one line per admission request; nil discards them.
	Log io.Writer

	mu         sync.Mutex // serialises writes to Log
	admissions atomic.Int64
}

// NewHandler returns a Handler that reads service accounts with client and logs to log.
func NewHandler(client kubernetes.Interface, cfg Config, log io.Writer) *Handler {
	return &Handler{Client: client, Config: cfg, Log: log}
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

	d := h.decide(ctx, ns, saName, &pod)
	if len(d.patch) == 0 {
		h.logf("%s: not mutated: %s", prefix, d.reason)
		return resp
	}
	patch, err := json.Marshal(d.patch)
	if err != nil {
		// Cannot happen for these types; allow the pod unchanged, as failurePolicy Ignore would.
		h.logf("%s: not mutated: failed to encode patch: %v", prefix, err)
		return resp
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	h.logf("%s: mutated: %s", prefix, d.reason)
	return resp
}

// decide reads the service account, fresh from the apiserver, and works out the patch.
func (h *Handler) decide(ctx context.Context, ns, saName string, pod *corev1.Pod) decision {
	if why := h.Config.precheck(pod); why != "" {
		return decision{reason: why}
	}
	sa, err := h.Client.CoreV1().ServiceAccounts(ns).Get(ctx, saName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		sa = nil
	case err != nil:
		return decision{reason: fmt.Sprintf("failed to get service account %s/%s: %v", ns, saName, err)}
	}
	return h.Config.mutate(pod, sa)
}

func (h *Handler) logf(format string, args ...any) {
	if h.Log == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, _ = fmt.Fprintf(h.Log, "admission "+format+"\n", args...)
}
