package appsdk

import (
	"archive/zip"
	"bytes"
	"testing"
)

// FuzzVersions: parsing never panics; the order is reflexive and antisymmetric; and the judge
// says OK only for a version that parses.
func FuzzVersions(f *testing.F) {
	for _, s := range [][2]string{
		{"1.34.41", "1.34.41.post1"}, {"v1.47.11", "v1.47.11-0.20231114180000-abcdef123456"},
		{"2.15.0rc1", "2.15.0"}, {"3.7.734.0", "3.7.734"}, {"1.0.0-alpha.1", "1.0.0-alpha.beta"},
		{"(devel)", ""}, {"1.29.27+repack", "1.29.27-1"}, {"99999999999999999999.1", "1..2"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, okA := parseVersion(a)
		vb, okB := parseVersion(b)
		if okA && compareVersions(va, va) != 0 {
			t.Fatalf("%q is not equal to itself", a)
		}
		if okA && okB && compareVersions(va, vb) != -compareVersions(vb, va) {
			t.Fatalf("compare(%q, %q) = %d but compare(%q, %q) = %d", a, b, compareVersions(va, vb), b, a, compareVersions(vb, va))
		}
		if v := Judge(SDK{Name: SDKBotocore, Module: ModuleBotocore, Version: a}, PodIdentity); v.Status == StatusOK && !okA {
			t.Fatalf("Judge says ok for %q, which does not parse", a)
		}
	})
}

// FuzzJar: reading any archive as a jar never panics, and whatever it finds is one of the
// SDK packages the table judges.
func FuzzJar(f *testing.F) {
	for _, pairs := range [][]string{
		{pomJava, pom("com.amazonaws", "aws-java-sdk-core", "1.12.0")},
		{pomJavaV2, "version=2.21.30\ngroupId=software.amazon.awssdk\nartifactId=auth\n"},
		{"BOOT-INF/lib/auth-2.20.0.jar", "not a zip"},
		{"software/amazon/awssdk/auth/X.class", ""},
	} {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		for i := 0; i+1 < len(pairs); i += 2 {
			fw, err := w.Create(pairs[i])
			if err != nil {
				f.Fatal(err)
			}
			if _, err := fw.Write([]byte(pairs[i+1])); err != nil {
				f.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes(), "bundle-2.25.0.jar")
	}
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		s := newScan(t.Context(), "", Limits{})
		s.jar(&proc{pid: 1, name: "java", depthSkipped: map[string]bool{}}, "/app/"+name, zr, true)
		for _, sdk := range s.report.SDKs {
			if sdk.Module != ModuleJava && sdk.Module != ModuleJavaV2 {
				t.Fatalf("found %+v, not a package the table judges", sdk)
			}
		}
	})
}
