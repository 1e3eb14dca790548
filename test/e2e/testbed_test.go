//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestTestBedServesListsFromTheWatchCache: a LIST without a resourceVersion, page after page,
// comes from the apiserver's watch cache, as on an apiserver whose etcd answers watch progress
// requests (the default since Kubernetes 1.31). On an etcd that does not (Debian's 3.4.23)
// every page went to etcd, and figures of status -A measured here said nothing of a real
// control plane. Pod templates are listed because nothing else in the test bed lists them, so
// the apiserver's per-resource counters move only for this test.
func TestTestBedServesListsFromTheWatchCache(t *testing.T) {
	t.Parallel()
	e := loadEnv(t)
	c := e.client(t)
	ns := e.namespace(t, c, nil)
	ctx := context.Background()
	const pages = 3
	for i := range pages {
		_, err := c.CoreV1().PodTemplates(ns).Create(ctx, &corev1.PodTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: "t" + strconv.Itoa(i)},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				Containers: []corev1.Container{{Name: "c", Image: e.idleImage}},
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	cacheBefore, storageBefore := podTemplateLists(t, c)
	opts := metav1.ListOptions{Limit: 1}
	got := 0
	for {
		l, err := c.CoreV1().PodTemplates(ns).List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		got++
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	if got < pages {
		t.Fatalf("listed %d pages of one pod template each, want %d", got, pages)
	}
	cacheAfter, storageAfter := podTemplateLists(t, c)
	if cacheAfter-cacheBefore < float64(pages) {
		t.Errorf("%d pages of a LIST: the watch cache served %v of them and etcd %v; want every page from the watch cache (is etcd one that answers watch progress requests? hack/build-etcd.sh)",
			got, cacheAfter-cacheBefore, storageAfter-storageBefore)
	}
}

// podTemplateLists reads the apiserver's counts of pod template LISTs served from its watch
// cache and from etcd.
func podTemplateLists(t *testing.T, c kubernetes.Interface) (cache, storage float64) {
	t.Helper()
	raw, err := c.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("reading the apiserver's metrics: %v", err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `resource="podtemplates"`) {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		switch {
		case strings.HasPrefix(line, `apiserver_cache_list_total{`) && strings.Contains(line, `index=""`):
			cache = v
		case strings.HasPrefix(line, `apiserver_storage_list_total{`):
			storage = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cache, storage
}
