package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Associations is the container credentials (EKS Pod Identity) configuration: the service
// accounts that have an association. EKS writes it as a file for the webhook, which watches it;
// the format is the real one's: {"identities":[{"namespace":"ns","serviceAccount":"sa"}]}.
type Associations struct {
	mu  sync.RWMutex
	set map[string]bool
}

type associationsFile struct {
	Identities []struct {
		Namespace      string `json:"namespace"`
		ServiceAccount string `json:"serviceAccount"`
	} `json:"identities"`
}

// Load replaces the associations with those of content. Empty content clears them, as the real
// webhook does with an emptied file; content that does not parse is an error and changes
// nothing.
func (a *Associations) Load(content []byte) error {
	set := map[string]bool{}
	if len(bytes.TrimSpace(content)) > 0 {
		var f associationsFile
		if err := json.Unmarshal(content, &f); err != nil {
			return fmt.Errorf("failed to parse the container credentials config: %w", err)
		}
		for _, id := range f.Identities {
			set[id.Namespace+"/"+id.ServiceAccount] = true
		}
	}
	a.mu.Lock()
	a.set = set
	a.mu.Unlock()
	return nil
}

// Has says whether namespace/serviceAccount has an association.
func (a *Associations) Has(namespace, serviceAccount string) bool {
	if a == nil {
		return false
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.set[namespace+"/"+serviceAccount]
}

// Watch loads path now, then again whenever its content changes, polling every interval until
// ctx is done. A file that is missing or does not parse later is logged and the last good
// associations are kept.
func (a *Associations) Watch(ctx context.Context, path string, interval time.Duration, logf func(string, ...any)) error {
	last, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("failed to read the container credentials config: %w", err)
	}
	if err := a.Load(last); err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			content, err := os.ReadFile(path)
			if err != nil {
				logf("container credentials config: %v", err)
				continue
			}
			if bytes.Equal(content, last) {
				continue
			}
			last = content
			if err := a.Load(content); err != nil {
				logf("container credentials config: %v", err)
				continue
			}
			logf("container credentials config reloaded from %s", path)
		}
	}()
	return nil
}
