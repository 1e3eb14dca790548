// Command mkimage builds a one-layer image from static binaries, with no container engine and
// no registry, and writes it as a docker-archive tarball that `ctr images import` loads.
//
//	mkimage -ref wi.local/kubectl-wi:dev -out probe.tar -entrypoint /wi-probe bin/wi-probe:/wi-probe
//
// A SRC that is a directory is copied with everything under it, so one image holds a program
// and the files an app would have (the test bed's app images, hack/testapps-up.sh):
//
//	mkimage -ref wi.local/node-sdk:v1 -out node.tar -entrypoint /pause -workdir /app \
//	  bin/pause:/pause layout/app:/app
//
// With -format oci it builds one image per -platform (comma-separated) and an OCI image index
// over them, written as a tarball of an OCI image layout; {os} and {arch} in a SRC stand for
// each platform's. -push REF also pushes that index to a registry, with the credentials of
// the docker config (release use only):
//
//	mkimage -format oci -platform linux/amd64,linux/arm64 -ref wi.local/kubectl-wi:v1.2.3 \
//	  -out dist/kubectl-wi-image_v1.2.3.tar -entrypoint /wi-probe 'dist/build/{os}_{arch}/wi-probe:/wi-probe'
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kubectl-wi/kubectl-wi/hack/image"
)

func main() {
	ref := flag.String("ref", "", "image reference in the tarball, e.g. wi.local/kubectl-wi:dev")
	out := flag.String("out", "", "output tarball")
	entrypoint := flag.String("entrypoint", "", "entrypoint path inside the image")
	platforms := flag.String("platform", "linux/amd64", "OS/ARCH of the binaries; with -format oci, a comma-separated list")
	format := flag.String("format", "docker", "docker (docker-archive, one platform) or oci (OCI layout tarball of an image index)")
	push := flag.String("push", "", "with -format oci, also push the index to this registry reference")
	user := flag.String("user", "65532:65532", "numeric user the image runs as")
	workdir := flag.String("workdir", "", "working directory of the image's process (default: the runtime's, /)")
	flag.Parse()
	if *entrypoint == "" || flag.NArg() == 0 || (*out == "" && *push == "") || (*out != "" && *ref == "") {
		log.Fatal("usage: mkimage [-format docker|oci] [-platform OS/ARCH[,...]] -ref REF -out FILE [-push REF] -entrypoint PATH [-workdir DIR] SRC[:DST]...")
	}
	plats := strings.Split(*platforms, ",")
	specs := make([]image.Spec, 0, len(plats))
	for _, p := range plats {
		osName, arch, ok := strings.Cut(p, "/")
		if !ok || osName == "" || arch == "" {
			log.Fatalf("bad platform %q: want OS/ARCH", p)
		}
		specs = append(specs, image.Spec{
			Files:      files(flag.Args(), osName, arch),
			Entrypoint: []string{*entrypoint},
			User:       *user,
			WorkingDir: *workdir,
			OS:         osName,
			Arch:       arch,
		})
	}
	switch *format {
	case "docker":
		if len(specs) != 1 || *push != "" {
			log.Fatal("-format docker takes one -platform and no -push; use -format oci")
		}
		writeDocker(*ref, *out, specs[0])
	case "oci":
		writeOCI(*ref, *out, *push, specs)
	default:
		log.Fatalf("bad -format %q: want docker or oci", *format)
	}
}

// files turns SRC[:DST] arguments (a file or a directory each) into image files; DST defaults
// to /basename(SRC).
func files(args []string, osName, arch string) []image.File {
	r := strings.NewReplacer("{os}", osName, "{arch}", arch)
	fs := make([]image.File, 0, len(args))
	for _, a := range args {
		src, dst, ok := strings.Cut(r.Replace(a), ":")
		if !ok {
			dst = "/" + src[strings.LastIndex(src, "/")+1:]
		}
		fs = append(fs, image.File{Source: src, Path: dst})
	}
	return fs
}

func writeDocker(ref, out string, spec image.Spec) {
	img, err := image.Build(spec)
	if err != nil {
		log.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		log.Fatal(err)
	}
	if err := image.WriteTarball(out, tag, img); err != nil {
		log.Fatal(err)
	}
	size, _ := image.CompressedSize(img)
	fmt.Fprintf(os.Stderr, "wrote %s (%s, %d bytes compressed)\n", out, tag, size)
}

func writeOCI(ref, out, push string, specs []image.Spec) {
	idx, err := image.BuildIndex(specs)
	if err != nil {
		log.Fatal(err)
	}
	sizes, err := image.IndexSizes(idx)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range sizes {
		fmt.Fprintf(os.Stderr, "%s: %d bytes compressed\n", s.Platform, s.Bytes)
	}
	if out != "" {
		tag, err := name.NewTag(ref)
		if err != nil {
			log.Fatal(err)
		}
		if err := image.WriteLayoutTarball(out, tag, idx); err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "wrote %s (%s, OCI image layout)\n", out, tag)
	}
	if push != "" {
		dst, err := name.ParseReference(push)
		if err != nil {
			log.Fatal(err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		err = image.Push(ctx, dst, idx, authn.DefaultKeychain)
		stop()
		if err != nil {
			log.Fatal(err)
		}
		d, _ := idx.Digest()
		fmt.Fprintf(os.Stderr, "pushed %s@%s\n", dst, d)
	}
}
