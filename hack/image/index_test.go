package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func testSpecs(t *testing.T, platforms ...string) []Spec {
	t.Helper()
	dir := t.TempDir()
	specs := make([]Spec, 0, len(platforms))
	for _, p := range platforms {
		osName, arch, _ := strings.Cut(p, "/")
		bin := filepath.Join(dir, osName+"_"+arch)
		if err := os.WriteFile(bin, []byte("binary for "+p), 0o755); err != nil {
			t.Fatal(err)
		}
		specs = append(specs, Spec{
			Files:      []File{{Source: bin, Path: "/kubectl-wi"}},
			Entrypoint: []string{"/kubectl-wi"},
			User:       "65532:65532",
			OS:         osName,
			Arch:       arch,
		})
	}
	return specs
}

func TestBuildKeepsDockerMediaTypes(t *testing.T) {
	img, err := Build(testSpecs(t, "linux/amd64")[0])
	if err != nil {
		t.Fatal(err)
	}
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	if mt != types.DockerManifestSchema2 {
		t.Errorf("media type = %s, want %s (what the docker-archive of the local node holds)", mt, types.DockerManifestSchema2)
	}
}

func TestBuildIndex(t *testing.T) {
	idx, err := BuildIndex(testSpecs(t, "linux/amd64", "linux/arm64"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex {
		t.Errorf("index media type = %s, want %s", m.MediaType, types.OCIImageIndex)
	}
	var got []string
	for _, d := range m.Manifests {
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("manifest media type = %s, want %s", d.MediaType, types.OCIManifestSchema1)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		im, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if im.Config.MediaType != types.OCIConfigJSON || len(im.Layers) != 1 || im.Layers[0].MediaType != types.OCILayer {
			t.Errorf("%s: config %s, layers %v: want OCI media types", d.Platform, im.Config.MediaType, im.Layers)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if d.Platform.String() != cf.OS+"/"+cf.Architecture {
			t.Errorf("descriptor says %s, config says %s/%s", d.Platform, cf.OS, cf.Architecture)
		}
		if cf.Config.User != "65532:65532" || strings.Join(cf.Config.Entrypoint, " ") != "/kubectl-wi" {
			t.Errorf("%s: user %q entrypoint %q", d.Platform, cf.Config.User, cf.Config.Entrypoint)
		}
		got = append(got, d.Platform.String())
	}
	if strings.Join(got, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("platforms = %v", got)
	}
	sizes, err := IndexSizes(idx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 2 || sizes[0].Platform != "linux/amd64" || sizes[0].Bytes <= 0 {
		t.Errorf("IndexSizes() = %v", sizes)
	}

	if _, err := BuildIndex(testSpecs(t, "linux/amd64", "linux/amd64")); err == nil {
		t.Error("BuildIndex() with one platform twice: no error")
	}
}

func untar(t *testing.T, tarball, dir string) {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWriteLayoutTarball(t *testing.T) {
	idx, err := BuildIndex(testSpecs(t, "linux/amd64", "linux/arm64"))
	if err != nil {
		t.Fatal(err)
	}
	tag := name.MustParseReference("wi.local/kubectl-wi:v1.2.3").(name.Tag)
	dir := t.TempDir()
	out := filepath.Join(dir, "image.tar")
	if err := WriteLayoutTarball(out, tag, idx); err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(dir, "again.tar")
	if err := WriteLayoutTarball(again, tag, idx); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two writes of the same index differ: the tarball is not reproducible")
	}

	unpacked := filepath.Join(dir, "layout")
	untar(t, out, unpacked)
	l, err := layout.ImageIndexFromPath(unpacked)
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("index.json has %d entries, want 1 (the image index)", len(m.Manifests))
	}
	d := m.Manifests[0]
	want, _ := idx.Digest()
	if d.Digest != want || d.MediaType != types.OCIImageIndex {
		t.Errorf("index.json entry = %s %s, want %s %s", d.MediaType, d.Digest, types.OCIImageIndex, want)
	}
	if d.Annotations["org.opencontainers.image.ref.name"] != "v1.2.3" || d.Annotations["io.containerd.image.name"] != "wi.local/kubectl-wi:v1.2.3" {
		t.Errorf("annotations = %v", d.Annotations)
	}
	inner, err := l.ImageIndex(d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := inner.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, pd := range im.Manifests {
		img, err := inner.Image(pd.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := img.Layers(); err != nil {
			t.Fatalf("%s: %v", pd.Platform, err)
		}
		if _, err := img.ConfigFile(); err != nil {
			t.Fatalf("%s: config blob missing from the layout: %v", pd.Platform, err)
		}
	}
}

// TestPush pushes to an in-process registry on 127.0.0.1: no network, no credentials.
func TestPush(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	idx, err := BuildIndex(testSpecs(t, "linux/amd64", "linux/arm64"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/kubectl-wi:v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if err := Push(t.Context(), ref, idx, authn.NewMultiKeychain()); err != nil {
		t.Fatal(err)
	}
	got, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	gd, _ := got.Digest()
	wd, _ := idx.Digest()
	if gd != wd {
		t.Errorf("registry serves %s, pushed %s", gd, wd)
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		plat, _ := v1.ParsePlatform(p)
		img, err := remote.Image(ref, remote.WithPlatform(*plat))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS+"/"+cf.Architecture != p {
			t.Errorf("pulling %s gave %s/%s", p, cf.OS, cf.Architecture)
		}
	}
}
