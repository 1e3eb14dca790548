package webhook

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Accounts is the webhook's view of service accounts.
type Accounts interface {
	// Lookup returns what the webhook knows of namespace/name, and whether it knows the
	// account at all.
	Lookup(namespace, name string) (Entry, bool)
}

// Cache is the service account cache the real webhook admits pods from: an informer, so an
// account created or annotated a moment before its pod may not be seen yet, and the pod is then
// admitted as if the account had no role. Lag delays every change by a fixed time on top of
// the informer's own delay, so tests can make that window wide enough to hit on purpose (EKS's
// webhook runs far from the apiserver and lags more than a local one).
type Cache struct {
	cfg Config
	lag time.Duration

	// live is set once the informer's initial list is in: only later changes lag.
	live atomic.Bool

	mu      sync.RWMutex
	entries map[string]Entry
	applied map[string]uint64 // sequence number of the last change applied per key
	next    uint64
}

// NewCache returns an empty cache that parses accounts with cfg and applies each change lag
// after the informer delivers it.
func NewCache(cfg Config, lag time.Duration) *Cache {
	return &Cache{cfg: cfg, lag: lag, entries: map[string]Entry{}, applied: map[string]uint64{}}
}

// Run feeds the cache from an informer on every namespace's service accounts until ctx is
// done. It returns once the informer's initial list has reached the cache, so the accounts that
// existed at start are known at once; later changes lag.
func (c *Cache) Run(ctx context.Context, client kubernetes.Interface, resync time.Duration) error {
	factory := informers.NewSharedInformerFactory(client, resync)
	inf := factory.Core().V1().ServiceAccounts().Informer()
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observe(obj, false) },
		UpdateFunc: func(_, obj any) { c.observe(obj, false) },
		DeleteFunc: func(obj any) { c.observe(obj, true) },
	})
	if err != nil {
		return fmt.Errorf("failed to watch service accounts: %w", err)
	}
	factory.Start(ctx.Done())
	// The registration has synced once its handler got every object of the initial list.
	if !cache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
		return fmt.Errorf("service account cache did not sync: %w", ctx.Err())
	}
	c.live.Store(true)
	return nil
}

func (c *Cache) observe(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return
	}
	if deleted {
		c.change(sa.Namespace, sa.Name, nil)
		return
	}
	e := c.cfg.EntryFor(sa)
	c.change(sa.Namespace, sa.Name, &e)
}

// change records entry (nil: the account is gone) for namespace/name once the lag has passed.
// Changes to one account apply in the order they were observed.
func (c *Cache) change(namespace, name string, entry *Entry) {
	c.mu.Lock()
	c.next++
	seq := c.next
	c.mu.Unlock()
	apply := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		k := namespace + "/" + name
		if seq < c.applied[k] {
			return
		}
		c.applied[k] = seq
		if entry == nil {
			delete(c.entries, k)
			return
		}
		c.entries[k] = *entry
	}
	if c.lag <= 0 || !c.live.Load() {
		apply()
		return
	}
	time.AfterFunc(c.lag, apply)
}

// Add puts sa in the cache at once, bypassing the lag: what the real webhook does with an
// account it fetched from the apiserver during a lookup grace period.
func (c *Cache) Add(sa *corev1.ServiceAccount) {
	e := c.cfg.EntryFor(sa)
	c.mu.Lock()
	c.next++
	k := sa.Namespace + "/" + sa.Name
	c.applied[k] = c.next
	c.entries[k] = e
	c.mu.Unlock()
}

// Lookup implements Accounts.
func (c *Cache) Lookup(namespace, name string) (Entry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[namespace+"/"+name]
	return e, ok
}
