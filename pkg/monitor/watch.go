package monitor

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	admissionlisters "k8s.io/client-go/listers/admissionregistration/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-wi/kubectl-wi/pkg/identity"
	"github.com/kubectl-wi/kubectl-wi/pkg/inventory"
	"github.com/kubectl-wi/kubectl-wi/pkg/podidentity"
	"github.com/kubectl-wi/kubectl-wi/pkg/verify"
)

// lastApplied is kubectl apply's copy of the object: the informers' caches do without it.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// changes are what the watcher tells the monitor.
type changes struct {
	// account: something that can break the account changed (ns/name).
	account func(key string)
	// inventory: the inventory may have changed (an account, a pod, the webhook, the agent).
	inventory func()
	// probePods: a probe pod of the monitor came or went.
	probePods func()
}

// watcher holds the informers over what the monitor watches: service accounts and pods (in
// each namespace, or all), the mutating webhook configurations, the agent's DaemonSet.
type watcher struct {
	factories  []informers.SharedInformerFactory
	saListers  []corelisters.ServiceAccountLister
	podListers []corelisters.PodLister
	webhooks   admissionlisters.MutatingWebhookConfigurationLister
	agent      appslisters.DaemonSetLister
	synced     []cache.InformerSynced
	probe      labels.Selector // the monitor's own probe pods
}

// newWatcher builds the informers; Start and WaitForCacheSync through start.
func newWatcher(client kubernetes.Interface, namespaces []string, probe labels.Selector, ch changes) (*watcher, error) {
	w := &watcher{probe: probe}
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	strip := informers.WithTransform(stripObject)
	for _, ns := range namespaces {
		f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithNamespace(ns), strip)
		sa, pod := f.Core().V1().ServiceAccounts(), f.Core().V1().Pods()
		if _, err := sa.Informer().AddEventHandler(w.accountHandler(ch)); err != nil {
			return nil, fmt.Errorf("failed to watch service accounts: %w", err)
		}
		if _, err := pod.Informer().AddEventHandler(w.podHandler(ch)); err != nil {
			return nil, fmt.Errorf("failed to watch pods: %w", err)
		}
		w.factories = append(w.factories, f)
		w.saListers, w.podListers = append(w.saListers, sa.Lister()), append(w.podListers, pod.Lister())
		w.synced = append(w.synced, sa.Informer().HasSynced, pod.Informer().HasSynced)
	}
	cluster := informers.NewSharedInformerFactoryWithOptions(client, 0, strip)
	mwc := cluster.Admissionregistration().V1().MutatingWebhookConfigurations()
	kick := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { ch.inventory() },
		UpdateFunc: func(any, any) { ch.inventory() },
		DeleteFunc: func(any) { ch.inventory() },
	}
	if _, err := mwc.Informer().AddEventHandler(kick); err != nil {
		return nil, fmt.Errorf("failed to watch mutating webhook configurations: %w", err)
	}
	agent := informers.NewSharedInformerFactoryWithOptions(client, 0, strip, informers.WithNamespace(podidentity.AgentNamespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", podidentity.AgentDaemonSet).String()
		}))
	ds := agent.Apps().V1().DaemonSets()
	if _, err := ds.Informer().AddEventHandler(kick); err != nil {
		return nil, fmt.Errorf("failed to watch the agent's daemonset: %w", err)
	}
	w.webhooks, w.agent = mwc.Lister(), ds.Lister()
	w.factories = append(w.factories, cluster, agent)
	w.synced = append(w.synced, mwc.Informer().HasSynced, ds.Informer().HasSynced)
	return w, nil
}

// start runs the informers until stop closes and waits for their first LIST; false when stop
// closed first.
func (w *watcher) start(stop <-chan struct{}) bool {
	for _, f := range w.factories {
		f.Start(stop)
	}
	return cache.WaitForCacheSync(stop, w.synced...)
}

// shutdown waits for the informers' goroutines, once stop closed.
func (w *watcher) shutdown() {
	for _, f := range w.factories {
		f.Shutdown()
	}
}

// stripObject drops what no part of the monitor reads from the cached objects: their managed
// fields and kubectl apply's copy, most of a large pod's bytes.
func stripObject(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a[lastApplied] != "" {
			a = maps.Clone(a)
			delete(a, lastApplied)
			m.SetAnnotations(a)
		}
	}
	return obj, nil
}

// identityAnnotations are the service account's annotations the webhook reads.
func identityAnnotations(sa *corev1.ServiceAccount) string {
	var out []string
	for k, v := range sa.Annotations {
		if strings.HasPrefix(k, identity.AnnotationPrefix) {
			out = append(out, k+"="+v)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

func (w *watcher) accountHandler(ch changes) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { ch.inventory() },
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*corev1.ServiceAccount)
			n, ok2 := newObj.(*corev1.ServiceAccount)
			if ok1 && ok2 && identityAnnotations(o) != identityAnnotations(n) {
				ch.inventory()
				ch.account(n.Namespace + "/" + n.Name)
			}
		},
		DeleteFunc: func(any) { ch.inventory() },
	}
}

// podIdentity is what the webhook gave a pod, as far as a proof depends on it.
func podIdentity(p *corev1.Pod) string {
	id := identity.InspectPod(p)
	return fmt.Sprintf("%t|%s|%s|%d|%t", id.Injected, id.RoleARN, id.Audience, id.Expiration, id.PodIdentity)
}

func (w *watcher) podHandler(ch changes) cache.ResourceEventHandler {
	isProbe := func(p *corev1.Pod) bool { return w.probe.Matches(labels.Set(p.Labels)) }
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			p, ok := obj.(*corev1.Pod)
			if !ok {
				return
			}
			if isProbe(p) {
				ch.probePods()
				return
			}
			ch.inventory()
			if id := identity.InspectPod(p); !initial && !id.Injected && !id.PodIdentity {
				ch.account(p.Namespace + "/" + p.Spec.ServiceAccountName) // a new pod without the identity
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			o, ok1 := oldObj.(*corev1.Pod)
			n, ok2 := newObj.(*corev1.Pod)
			if !ok1 || !ok2 {
				return
			}
			if isProbe(n) {
				ch.probePods()
				return
			}
			if o.Status.Phase != n.Status.Phase {
				ch.inventory()
			}
			if podIdentity(o) != podIdentity(n) {
				ch.inventory()
				ch.account(n.Namespace + "/" + n.Spec.ServiceAccountName) // its container credentials changed
			}
		},
		DeleteFunc: func(obj any) {
			if p, ok := obj.(*corev1.Pod); ok && isProbe(p) {
				ch.probePods()
				return
			}
			ch.inventory()
		},
	}
}

// probePods counts the monitor's probe pods that have not ended.
func (w *watcher) probePods() int {
	n := 0
	for _, l := range w.podListers {
		pods, _ := l.List(w.probe)
		for _, p := range pods {
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				n++
			}
		}
	}
	return n
}

// inventory is status's report of the cached objects, probe pods (the monitor's, and those
// of someone's verify) left out.
func (w *watcher) inventory(scope inventory.Scope) *inventory.Report {
	var objs inventory.Objects
	for _, l := range w.saListers {
		sas, _ := l.List(labels.Everything())
		objs.ServiceAccounts = append(objs.ServiceAccounts, sas...)
	}
	for _, l := range w.podListers {
		pods, _ := l.List(labels.Everything())
		for _, p := range pods {
			if p.Labels[verify.LabelName] != verify.LabelValue { // a probe pod comes and goes
				objs.Pods = append(objs.Pods, p)
			}
		}
	}
	objs.Webhooks, _ = w.webhooks.List(labels.Everything())
	objs.WebhooksRead = true
	return inventory.FromObjects(scope, objs)
}

// serviceAccount is the cached account, nil when none.
func (w *watcher) serviceAccount(namespace, name string) *corev1.ServiceAccount {
	for _, l := range w.saListers {
		if sa, err := l.ServiceAccounts(namespace).Get(name); err == nil {
			return sa
		}
	}
	return nil
}

// agentReady says whether the agent's DaemonSet exists, and has every desired pod ready
// (and some).
func (w *watcher) agentReady() (exists, ready bool) {
	ds, err := w.agent.DaemonSets(podidentity.AgentNamespace).Get(podidentity.AgentDaemonSet)
	if err != nil {
		return false, false
	}
	return true, podidentity.DaemonSetReady(ds)
}
