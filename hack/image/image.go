// Package image builds the small scratch images of kubectl-wi (the probe, and the pause, idle
// and app images of the local node) from static binaries and files, without a container engine.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is copied into the image: Source on disk to Path in the image. A file named directly
// is a program and gets mode 0755; a directory is copied with everything under it, its files
// 0755 when executable on disk and 0644 otherwise.
type File struct {
	Source string
	Path   string
}

// Spec describes an image.
type Spec struct {
	Files      []File
	Entrypoint []string
	User       string // numeric, so runAsNonRoot can verify it
	WorkingDir string // the process's directory; empty is the runtime's default, /
	OS, Arch   string
	// OCI gives the image OCI media types (manifest, config, layer) for a multi-platform OCI
	// index; otherwise they are Docker's, which a docker-archive tarball implies.
	OCI bool
}

// Build makes a one-layer image holding the files, a /tmp and an /etc/passwd entry for the user.
func Build(spec Spec) (v1.Image, error) {
	var buf bytes.Buffer
	lw := &layerWriter{tw: tar.NewWriter(&buf), dirs: map[string]bool{}}
	for _, d := range []string{"etc", "tmp"} {
		if err := lw.dir(d); err != nil {
			return nil, err
		}
	}
	uid := strings.SplitN(spec.User, ":", 2)[0]
	passwd := fmt.Sprintf("root:x:0:0:root:/:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/:/sbin/nologin\n", uid, uid)
	if err := lw.file("etc/passwd", 0o644, []byte(passwd)); err != nil {
		return nil, err
	}
	for _, f := range spec.Files {
		if err := lw.copy(f.Source, strings.TrimPrefix(path.Clean(f.Path), "/")); err != nil {
			return nil, err
		}
	}
	if err := lw.tw.Close(); err != nil {
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
	cf.Config = v1.Config{Entrypoint: spec.Entrypoint, User: spec.User, WorkingDir: spec.WorkingDir, Env: []string{"PATH=/"}}
	if spec.OCI {
		img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	return mutate.ConfigFile(img, cf)
}

// layerWriter writes a layer's tar stream, each directory once, before anything in it.
type layerWriter struct {
	tw   *tar.Writer
	dirs map[string]bool
}

// dir writes the directory p (slash-separated, relative to the root) and its parents.
func (lw *layerWriter) dir(p string) error {
	if p == "." || p == "" || lw.dirs[p] {
		return nil
	}
	if err := lw.dir(path.Dir(p)); err != nil {
		return err
	}
	lw.dirs[p] = true
	return lw.tw.WriteHeader(&tar.Header{Name: p + "/", Typeflag: tar.TypeDir, Mode: 0o755})
}

func (lw *layerWriter) file(p string, mode int64, b []byte) error {
	if err := lw.dir(path.Dir(p)); err != nil {
		return err
	}
	if err := lw.tw.WriteHeader(&tar.Header{Name: p, Mode: mode, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := lw.tw.Write(b)
	return err
}

// copy writes src at dst: a file as a program, a directory with everything under it, in
// lexical order so the same tree always gives the same layer.
func (lw *layerWriter) copy(src, dst string) error {
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("failed to read %s: %w", src, err)
	}
	if !info.IsDir() {
		b, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("failed to read %s: %w", src, err)
		}
		return lw.file(dst, 0o755, b)
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("failed to read %s: %w", p, err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := path.Join(dst, filepath.ToSlash(rel))
		switch {
		case d.IsDir():
			return lw.dir(target)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("failed to read %s: %w", p, err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("failed to read %s: %w", p, err)
			}
			mode := int64(0o644)
			if fi.Mode()&0o111 != 0 {
				mode = 0o755
			}
			return lw.file(target, mode, b)
		default:
			return fmt.Errorf("%s is neither a file nor a directory: the image holds only those", p)
		}
	})
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
