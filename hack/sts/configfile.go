package sts

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"sigs.k8s.io/yaml"
)

// configFile is the file the configuration came from. Tests edit it (add a role) and the
// running server reads it again before its next request; IAM's writes (UpdateAssumeRolePolicy)
// go back into it, so the file and the server never disagree and a restart keeps them.
type configFile struct {
	path string

	mu       sync.Mutex // held across a check and a reload, and across a write
	modTime  time.Time
	size     int64
	watching bool
}

// WithConfigFile names the file the configuration was loaded from: the server reads it again
// when it changes and writes IAM's changes to it.
func WithConfigFile(path string) Option {
	return func(s *Server) {
		s.configFile.path = path
		if fi, err := os.Stat(path); err == nil {
			s.configFile.modTime, s.configFile.size = fi.ModTime(), fi.Size()
		}
		s.configFile.watching = true
	}
}

// reloadIfChanged loads the file again when its time or size changed since it was last read
// or written (size too: file times are coarse, two quick writes can share one). A
// configuration that does not load is reported and the previous one kept.
func (f *configFile) reloadIfChanged(s *Server) {
	if !f.watching {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil || (fi.ModTime().Equal(f.modTime) && fi.Size() == f.size) {
		return
	}
	f.modTime, f.size = fi.ModTime(), fi.Size()
	cfg, err := LoadConfig(f.path)
	if err == nil {
		err = s.Reload(cfg)
	}
	if err != nil {
		s.logf("reload %s: %v (keeping the previous configuration)", f.path, err)
		return
	}
	s.logf("reloaded %s", f.path)
}

// update applies change to a copy of the running configuration, checks it, makes it the
// running one and, with a config file, writes it there. Updates are serialised, so two
// concurrent writes both land.
func (s *Server) update(change func(*Config) error) error {
	f := &s.configFile
	f.mu.Lock()
	defer f.mu.Unlock()
	next := s.config.Load().cfg.clone()
	if err := change(next); err != nil {
		return err
	}
	if err := s.Reload(next); err != nil {
		return err
	}
	if !f.watching {
		return nil
	}
	out, err := yaml.Marshal(next)
	if err != nil {
		return fmt.Errorf("failed to encode the configuration: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(f.path), ".sts-*.yaml")
	if err != nil {
		return fmt.Errorf("failed to write the configuration: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("failed to write the configuration: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to write the configuration: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("failed to write the configuration: %w", err)
	}
	if fi, err := os.Stat(f.path); err == nil {
		f.modTime, f.size = fi.ModTime(), fi.Size()
	}
	return nil
}

// clone copies the configuration deeply enough for update to change a role, a user or a
// cluster without touching the running one.
func (c *Config) clone() *Config {
	out := *c
	out.Providers = append([]Provider(nil), c.Providers...)
	out.Roles = append([]Role(nil), c.Roles...)
	out.Users = append([]User(nil), c.Users...)
	out.Clusters = append([]Cluster(nil), c.Clusters...)
	out.EKSAuthFaults = append([]EKSAuthFault(nil), c.EKSAuthFaults...)
	return &out
}
