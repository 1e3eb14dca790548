// Command mkimage builds a one-layer image from static binaries, with no container engine and
// no registry, and writes it as a docker-archive tarball that `ctr images import` loads.
//
//	mkimage -ref wi.local/kubectl-wi:dev -out probe.tar -entrypoint /kubectl-wi bin/kubectl-wi:/kubectl-wi
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kubectl-wi/kubectl-wi/hack/image"
)

func main() {
	ref := flag.String("ref", "", "image reference, e.g. wi.local/kubectl-wi:dev")
	out := flag.String("out", "", "output docker-archive tarball")
	entrypoint := flag.String("entrypoint", "", "entrypoint path inside the image")
	platform := flag.String("platform", "linux/amd64", "OS/ARCH of the binaries")
	user := flag.String("user", "65532:65532", "numeric user the image runs as")
	flag.Parse()
	if *ref == "" || *out == "" || *entrypoint == "" || flag.NArg() == 0 {
		log.Fatal("usage: mkimage -ref REF -out FILE -entrypoint PATH SRC[:DST]...")
	}
	files := make([]image.File, 0, flag.NArg())
	for _, a := range flag.Args() {
		src, dst, ok := strings.Cut(a, ":")
		if !ok {
			dst = "/" + src[strings.LastIndex(src, "/")+1:]
		}
		files = append(files, image.File{Source: src, Path: dst})
	}
	osName, arch, _ := strings.Cut(*platform, "/")
	img, err := image.Build(image.Spec{Files: files, Entrypoint: []string{*entrypoint}, User: *user, OS: osName, Arch: arch})
	if err != nil {
		log.Fatal(err)
	}
	tag, err := name.NewTag(*ref)
	if err != nil {
		log.Fatal(err)
	}
	if err := image.WriteTarball(*out, tag, img); err != nil {
		log.Fatal(err)
	}
	size, _ := image.CompressedSize(img)
	fmt.Fprintf(os.Stderr, "wrote %s (%s, %d bytes compressed)\n", *out, tag, size)
}
