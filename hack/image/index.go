package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BuildIndex builds one image per spec, with OCI media types, and an OCI image index that
// names each by its platform: the multi-platform image a registry serves under one tag.
func BuildIndex(specs []Spec) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	adds := make([]mutate.IndexAddendum, 0, len(specs))
	seen := map[string]bool{}
	for _, s := range specs {
		p := s.OS + "/" + s.Arch
		if seen[p] {
			return nil, fmt.Errorf("platform %s given twice", p)
		}
		seen[p] = true
		s.OCI = true
		img, err := Build(s)
		if err != nil {
			return nil, fmt.Errorf("failed to build the %s image: %w", p, err)
		}
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: s.OS, Architecture: s.Arch}},
		})
	}
	return mutate.AppendManifests(idx, adds...), nil
}

// WriteLayoutTarball writes idx as a tarball of an OCI image layout whose index.json holds
// one entry, idx, annotated with ref: `ctr images import` loads it (all platforms with
// --all-platforms), and once unpacked `crane push DIR REF` pushes it.
func WriteLayoutTarball(path string, ref name.Tag, idx v1.ImageIndex) error {
	dir, err := os.MkdirTemp("", "oci-layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.TagStr(), // the OCI spec's form: the tag alone
		"io.containerd.image.name":          ref.Name(),   // containerd's: the full reference
	})); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := tarDir(tmp, dir); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// tarDir writes the regular files and directories under dir to a tarball, in lexical order,
// with fixed owners and times so the same layout gives the same bytes.
func tarDir(out, dir string) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Name: rel + "/", Typeflag: tar.TypeDir, Mode: 0o755, Format: tar.FormatPAX})
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: rel, Typeflag: tar.TypeReg, Mode: 0o644, Size: info.Size(), Format: tar.FormatPAX}); err != nil {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// Push writes idx and its images to a registry as ref, with the credentials keychain finds
// for it (authn.DefaultKeychain reads the docker config and its credential helpers).
func Push(ctx context.Context, ref name.Reference, idx v1.ImageIndex, keychain authn.Keychain) error {
	if err := remote.WriteIndex(ref, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain)); err != nil {
		return fmt.Errorf("failed to push %s: %w", ref, err)
	}
	return nil
}

// PlatformSize is one platform image's size as a registry stores it.
type PlatformSize struct {
	Platform string
	Bytes    int64
}

// IndexSizes is each platform image's compressed size (config plus layers), in index order.
func IndexSizes(idx v1.ImageIndex) ([]PlatformSize, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	sizes := make([]PlatformSize, 0, len(m.Manifests))
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		n, err := CompressedSize(img)
		if err != nil {
			return nil, err
		}
		p := d.Digest.String()
		if d.Platform != nil {
			p = d.Platform.String()
		}
		sizes = append(sizes, PlatformSize{Platform: p, Bytes: n})
	}
	return sizes, nil
}
