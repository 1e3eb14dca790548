package appsdk

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
)

// The SDKs' Maven descriptors: maven-built jars carry
// META-INF/maven/<group>/<artifact>/pom.properties, and shaded jars keep those of what they
// shade. The SDK for Java 2.x's uber-jar (software.amazon.awssdk:bundle) and 1.x's
// (aws-java-sdk-bundle) strip them: their file name and classes say what they are.
const (
	pomJava   = "META-INF/maven/com.amazonaws/aws-java-sdk-core/pom.properties"
	pomJavaV2 = "META-INF/maven/software.amazon.awssdk/auth/pom.properties"
)

var (
	javaJarName   = regexp.MustCompile(`^aws-java-sdk-(?:core|bundle)-(\d[0-9A-Za-z.+-]*)\.jar$`)
	javaV2JarName = regexp.MustCompile(`^bundle-(\d[0-9A-Za-z.+-]*)\.jar$`)
	// nestedSDKJar are the jar names in a fat jar (Spring Boot's BOOT-INF/lib, a war's
	// WEB-INF/lib) that may be an SDK's: only those are opened.
	nestedSDKJar = regexp.MustCompile(`^(?:aws-java-sdk-(?:core|bundle)|auth|bundle)-\d[^/]*\.jar$`)
)

// maxNestedJar bounds a jar read from inside another into memory.
const maxNestedJar = 32 << 20

// javaArchive reads a jar, war or ear: its SDK descriptors, and the SDK jars nested in it.
func (s *scan) javaArchive(p *proc, file string) {
	f, resolved, err := p.root.open(file)
	if err != nil {
		s.skip(p.pid, file, unreadable(err, -1))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.skip(p.pid, resolved, unreadable(err, -1))
		return
	}
	zr, err := zip.NewReader(f, fi.Size())
	if err != nil {
		s.skip(p.pid, resolved, "not a readable archive: "+err.Error())
		return
	}
	s.jar(p, resolved, zr, true)
}

// jar reads one archive, shown as where; nested archives are read one level deep.
func (s *scan) jar(p *proc, where string, zr *zip.Reader, outer bool) {
	s.count(len(zr.File))
	described := false
	for _, zf := range zr.File {
		switch zf.Name {
		case pomJava, pomJavaV2:
			described = true
			s.pomProperties(p, where, zf)
		default:
			if outer && nestedSDKJar.MatchString(path.Base(zf.Name)) {
				s.nestedJar(p, where, zf)
			}
		}
	}
	if described {
		return
	}
	name := path.Base(where)
	if m := javaJarName.FindStringSubmatch(name); m != nil && hasEntryUnder(zr, "com/amazonaws/auth/") {
		s.add(p, where, SDK{Name: SDKJava, Module: ModuleJava, Version: m[1], Path: where})
	}
	if m := javaV2JarName.FindStringSubmatch(name); m != nil && hasEntryUnder(zr, "software/amazon/awssdk/auth/") {
		s.add(p, where, SDK{Name: SDKJavaV2, Module: ModuleJavaV2, Version: m[1], Path: where})
	}
}

// pomProperties records the version a Maven descriptor of the SDK declares.
func (s *scan) pomProperties(p *proc, where string, zf *zip.File) {
	rc, err := zf.Open()
	if err != nil {
		s.skip(p.pid, where+"!/"+zf.Name, err.Error())
		return
	}
	defer rc.Close()
	props := map[string]string{}
	sc := bufio.NewScanner(io.LimitReader(rc, maxManifest))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && !strings.HasPrefix(k, "#") {
			props[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	module := props["groupId"] + ":" + props["artifactId"]
	switch module {
	case ModuleJava:
		s.add(p, where, SDK{Name: SDKJava, Module: module, Version: props["version"], Path: where})
	case ModuleJavaV2:
		s.add(p, where, SDK{Name: SDKJavaV2, Module: module, Version: props["version"], Path: where})
	}
}

// nestedJar reads a jar stored inside another, shown as outer!/entry.
func (s *scan) nestedJar(p *proc, outer string, zf *zip.File) {
	where := outer + "!/" + zf.Name
	if zf.UncompressedSize64 > maxNestedJar {
		// The 1.x SDK's names are its own; 2.x's bundle-X.jar could be anyone's.
		if m := javaJarName.FindStringSubmatch(path.Base(zf.Name)); m != nil {
			s.add(p, where, SDK{Name: SDKJava, Module: ModuleJava, Version: m[1], Path: where})
			return
		}
		s.skip(p.pid, where, fmt.Sprintf("nested archive larger than %d MiB: not read", maxNestedJar>>20))
		return
	}
	rc, err := zf.Open()
	if err != nil {
		s.skip(p.pid, where, err.Error())
		return
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxNestedJar))
	if err != nil {
		s.skip(p.pid, where, err.Error())
		return
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		s.skip(p.pid, where, "not a readable archive: "+err.Error())
		return
	}
	s.jar(p, where, zr, false)
}

func hasEntryUnder(zr *zip.Reader, prefix string) bool {
	for _, zf := range zr.File {
		if strings.HasPrefix(zf.Name, prefix) {
			return true
		}
	}
	return false
}
