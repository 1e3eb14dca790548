package sts

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// association is an EKS Pod Identity association.
type association struct {
	ID                 string            `json:"id"`
	ARN                string            `json:"arn"`
	Cluster            string            `json:"cluster"`
	Region             string            `json:"region"`
	Namespace          string            `json:"namespace"`
	ServiceAccount     string            `json:"serviceAccount"`
	RoleARN            string            `json:"roleArn"`
	TargetRoleARN      string            `json:"targetRoleArn,omitempty"`
	ExternalID         string            `json:"externalId,omitempty"`
	DisableSessionTags bool              `json:"disableSessionTags,omitempty"`
	Policy             string            `json:"policy,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	CreatedAt          time.Time         `json:"createdAt"`
	ModifiedAt         time.Time         `json:"modifiedAt"`
}

// requestToken is a clientRequestToken already used: the association it made or changed and a
// digest of the request, so a retry answers the same and a different request with the same
// token is refused.
type requestToken struct {
	AssociationID string `json:"associationId"`
	Request       string `json:"request"`
}

// associationState is the state file's content.
type associationState struct {
	Associations []*association          `json:"associations"`
	Tokens       map[string]requestToken `json:"tokens,omitempty"` // by action + cluster + token
}

// associations holds the Pod Identity associations of every cluster, persisted to a state file
// (when one is given) and pushed to each cluster's webhook file on every change.
type associations struct {
	mu    sync.Mutex
	path  string
	state associationState
}

// WithStateFile names the file the Pod Identity associations are kept in, read when the server
// starts and written on every change; without it they live in memory only.
func WithStateFile(path string) Option {
	return func(s *Server) { s.assoc.path = path }
}

// load reads the state file, if there is one yet.
func (a *associations) load() error {
	a.state = associationState{Tokens: map[string]requestToken{}}
	if a.path == "" {
		return nil
	}
	b, err := os.ReadFile(a.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read the state file: %w", err)
	}
	if err := json.Unmarshal(b, &a.state); err != nil {
		return fmt.Errorf("state file %s does not parse: %w", a.path, err)
	}
	if a.state.Tokens == nil {
		a.state.Tokens = map[string]requestToken{}
	}
	return nil
}

// find returns the association of a cluster by id. Called with mu held.
func (a *associations) find(region, cluster, id string) *association {
	for _, as := range a.state.Associations {
		if as.ID == id && as.Cluster == cluster && as.Region == region {
			return as
		}
	}
	return nil
}

// forAccount returns the association of namespace/serviceAccount in a cluster. Called with mu
// held.
func (a *associations) forAccount(region, cluster, namespace, serviceAccount string) *association {
	for _, as := range a.state.Associations {
		if as.Cluster == cluster && as.Region == region && as.Namespace == namespace && as.ServiceAccount == serviceAccount {
			return as
		}
	}
	return nil
}

// save writes the state file and the webhook files of the clusters. Called with mu held.
func (a *associations) save(clusters []Cluster) error {
	if a.path != "" {
		if err := writeJSONFile(a.path, a.state); err != nil {
			return err
		}
	}
	return a.pushToWebhooks(clusters)
}

// pushToWebhooks writes, for each cluster that names one, the webhook's associations file:
// {"identities":[{"namespace":...,"serviceAccount":...}]}, sorted. Called with mu held.
func (a *associations) pushToWebhooks(clusters []Cluster) error {
	type identity struct {
		Namespace      string `json:"namespace"`
		ServiceAccount string `json:"serviceAccount"`
	}
	var errs []error
	for _, c := range clusters {
		if c.AssociationsFile == "" {
			continue
		}
		ids := []identity{}
		for _, as := range a.state.Associations {
			if as.Cluster == c.Name && as.Region == c.Region {
				ids = append(ids, identity{as.Namespace, as.ServiceAccount})
			}
		}
		sort.Slice(ids, func(i, j int) bool {
			return ids[i].Namespace+"/"+ids[i].ServiceAccount < ids[j].Namespace+"/"+ids[j].ServiceAccount
		})
		if err := writeJSONFile(c.AssociationsFile, map[string]any{"identities": ids}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeJSONFile replaces path with v's JSON at once (a reader never sees half a file).
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("failed to encode %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	return nil
}

// newAssociationID is an id as EKS makes them: "a-" and 17 lower-case letters and digits.
func newAssociationID() string {
	return "a-" + strings.ToLower(rand.Text())[:17]
}

// newExternalID is the id EKS gives an association with a target role, for the target role's
// trust policy to require as sts:ExternalId.
func newExternalID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
