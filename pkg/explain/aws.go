package explain

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/kubectl-wi/kubectl-wi/pkg/awsread"
)

// counted counts the calls made through an AWS, by action.
type counted struct {
	awsread.Reader
	mu    sync.Mutex
	calls map[string]*atomic.Int64
}

func newCounted(a awsread.Reader) *counted {
	return &counted{Reader: a, calls: map[string]*atomic.Int64{}}
}

func (c *counted) add(action string) {
	c.mu.Lock()
	n, ok := c.calls[action]
	if !ok {
		n = new(atomic.Int64)
		c.calls[action] = n
	}
	c.mu.Unlock()
	n.Add(1)
}

// Calls is the number of calls by action.
func (c *counted) Calls() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int64{}
	for k, v := range c.calls {
		out[k] = v.Load()
	}
	return out
}

func (c *counted) GetRole(ctx context.Context, name string) (awsread.Role, error) {
	c.add(awsread.ActionGetRole)
	return c.Reader.GetRole(ctx, name)
}

func (c *counted) ListOpenIDConnectProviders(ctx context.Context) ([]string, error) {
	c.add(awsread.ActionListOpenIDConnectProviders)
	return c.Reader.ListOpenIDConnectProviders(ctx)
}

func (c *counted) GetOpenIDConnectProvider(ctx context.Context, arn string) (awsread.OIDCProvider, error) {
	c.add(awsread.ActionGetOpenIDConnectProvider)
	return c.Reader.GetOpenIDConnectProvider(ctx, arn)
}

func (c *counted) DescribeCluster(ctx context.Context, name string) (awsread.Cluster, error) {
	c.add(awsread.ActionDescribeCluster)
	return c.Reader.DescribeCluster(ctx, name)
}

func (c *counted) ListPodIdentityAssociations(ctx context.Context, cluster, namespace, serviceAccount string) ([]awsread.AssociationRef, error) {
	c.add(awsread.ActionListPodIdentityAssociations)
	return c.Reader.ListPodIdentityAssociations(ctx, cluster, namespace, serviceAccount)
}

func (c *counted) DescribePodIdentityAssociation(ctx context.Context, cluster, id string) (awsread.Association, error) {
	c.add(awsread.ActionDescribePodIdentityAssociation)
	return c.Reader.DescribePodIdentityAssociation(ctx, cluster, id)
}

// memo runs a read once per key, concurrent callers of one key waiting for the first.
type memo[V any] struct {
	mu sync.Mutex
	m  map[string]*memoEntry[V]
}

type memoEntry[V any] struct {
	done chan struct{}
	v    V
	err  error
}

func (m *memo[V]) get(key string, read func() (V, error)) (V, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]*memoEntry[V]{}
	}
	e, ok := m.m[key]
	if !ok {
		e = &memoEntry[V]{done: make(chan struct{})}
		m.m[key] = e
		m.mu.Unlock()
		e.v, e.err = read()
		close(e.done)
		return e.v, e.err
	}
	m.mu.Unlock()
	<-e.done
	return e.v, e.err
}
