// Package image builds the small scratch images of kubectl-wi (the probe, and the pause and
// idle images of the local node) from static binaries, without a container engine.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is a file copied into the image: Source on disk to Path in the image.
type File struct {
	Source string
	Path   string
}

// Spec describes an image.
type Spec struct {
	Files      []File
	Entrypoint []string
	User       string // numeric, so runAsNonRoot can verify it
	OS, Arch   string
	// OCI gives the image OCI media types (manifest, config, layer) for a multi-platform OCI
	// index; otherwise they are Docker's, which a docker-archive tarball implies.
	OCI bool
}

// Build makes a one-layer image holding the files, a /tmp and an /etc/passwd entry for the user.
func Build(spec Spec) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"etc/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	uid := strings.SplitN(spec.User, ":", 2)[0]
	passwd := fmt.Sprintf("root:x:0:0:root:/:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/:/sbin/nologin\n", uid, uid)
	if err := writeFile(tw, "etc/passwd", 0o644, []byte(passwd)); err != nil {
		return nil, err
	}
	for _, f := range spec.Files {
		b, err := os.ReadFile(f.Source)
		if err != nil {
			return nil, fmt.Errorf("failed to read %s: %w", f.Source, err)
		}
		if err := writeFile(tw, strings.TrimPrefix(f.Path, "/"), 0o755, b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var layerOpts []tarball.LayerOption
	if spec.OCI {
		layerOpts = append(layerOpts, tarball.WithMediaType(types.OCILayer))
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	}, layerOpts...)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = spec.OS, spec.Arch
	cf.Config = v1.Config{Entrypoint: spec.Entrypoint, User: spec.User, Env: []string{"PATH=/"}}
	if spec.OCI {
		img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	return mutate.ConfigFile(img, cf)
}

func writeFile(tw *tar.Writer, path string, mode int64, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: path, Mode: mode, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

// WriteTarball writes img as a docker-archive tarball tagged ref.
func WriteTarball(path string, ref name.Tag, img v1.Image) error {
	return tarball.WriteToFile(path, ref, img)
}

// CompressedSize is the image's size as a registry stores it: config plus compressed layers.
func CompressedSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	total := m.Config.Size
	for _, l := range m.Layers {
		total += l.Size
	}
	return total, nil
}
