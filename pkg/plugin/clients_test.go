package plugin

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
)

// TestNewClientsetNotThrottled: the client sends its requests as fast as the server answers.
// With client-go's default limiter (5 per second, burst 10) the 40 GETs below take 6 seconds,
// as enable's 1,000 patches for 500 accounts took over three minutes.
func TestNewClientsetNotThrottled(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig"))
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"app","namespace":"shop"}}`))
	}))
	defer srv.Close()
	cf := genericclioptions.NewConfigFlags(false)
	cf.APIServer = &srv.URL

	c, err := newClientset(cf)
	if err != nil {
		t.Fatal(err)
	}
	cs := c.(*kubernetes.Clientset)
	if rl := cs.CoreV1().RESTClient().GetRateLimiter(); rl != nil {
		t.Errorf("core/v1 client has a client-side rate limiter %T", rl)
	}
	if rl := cs.AppsV1().RESTClient().GetRateLimiter(); rl != nil {
		t.Errorf("apps/v1 client has a client-side rate limiter %T", rl)
	}

	const n = 40
	start := time.Now()
	for range n {
		if _, err := c.CoreV1().ServiceAccounts("shop").Get(t.Context(), "app", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("%d GETs took %s: throttled on the client side", n, took)
	}
	if served.Load() != n {
		t.Errorf("server saw %d requests, want %d", served.Load(), n)
	}
}
