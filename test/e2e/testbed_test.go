//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"os/exec"
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

// TestTestBedBridgeKeepsItsAddress: the pod bridge keeps one MAC address while pods come and
// go. A Linux bridge whose address was never set takes the lowest address among its ports, so
// it changed whenever a pod's veth with a lower one came or went. Pods that had resolved the
// gateway kept sending to the old address, the bridge flooded those frames to the other pods
// instead of taking them, and a pod's connection to the host (STS, a proxy, the agent) hung
// until its ARP entry aged out, long after a probe's 30 s step gave up. The test adds a port
// with the lowest address a local port can have. It is not parallel: if the bridge did follow
// its ports, the pods of every other test would lose the gateway while the port is there.
func TestTestBedBridgeKeepsItsAddress(t *testing.T) {
	e := loadEnv(t)
	bridge := bridgeOf(t, e)
	before := bridge.HardwareAddr.String()

	const port, peer, lowest = "wi-lowmac", "wi-lowmac-peer", "02:00:00:00:00:00"
	t.Cleanup(func() { _ = exec.Command("ip", "link", "delete", port).Run() })
	for _, args := range [][]string{
		{"link", "add", port, "type", "veth", "peer", "name", peer},
		{"link", "set", port, "address", lowest},
		{"link", "set", port, "master", bridge.Name},
		{"link", "set", port, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	after, err := net.InterfaceByName(bridge.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.HardwareAddr.String(); got != before {
		t.Fatalf("the bridge %s changed its address from %s to %s when a port with %s joined it: give it a fixed address where the test bed creates it (hack/node-up.sh)",
			bridge.Name, before, got, lowest)
	}
}

// bridgeOf is the host interface that holds the pods' gateway, where the STS stand-in listens.
func bridgeOf(t *testing.T, e env) *net.Interface {
	t.Helper()
	u, err := url.Parse(e.stsEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	gateway := net.ParseIP(u.Hostname())
	ifaces, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for i := range ifaces {
		addrs, err := ifaces[i].Addrs()
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.Equal(gateway) {
				return &ifaces[i]
			}
		}
	}
	t.Fatalf("no interface of this host holds the pods' gateway %s", gateway)
	return nil
}
