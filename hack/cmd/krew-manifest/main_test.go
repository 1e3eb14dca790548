package main

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var (
	shaA = strings.Repeat("a", 64)
	shaB = strings.Repeat("b", 64)
	shaF = strings.Repeat("f", 64)
)

const twoEntries = `spec:
  version: {{ .TagName }}
  platforms:
  - bin: x
    {{addURIAndSha "https://example.invalid/{{ .TagName }}/x_{{ .TagName }}_linux_amd64.tar.gz" .TagName }}
  - bin: x
    {{addURIAndSha "https://example.invalid/{{ .TagName }}/x_{{ .TagName }}_darwin_arm64.tar.gz" .TagName }}
`

func TestRender(t *testing.T) {
	tests := []struct {
		name       string
		tmpl       string
		version    string
		shas       map[string]string
		missingSHA string
		want       string
		wantErr    string
	}{
		{
			name:    "version and uri/sha for every entry",
			tmpl:    twoEntries,
			version: "v1.2.3",
			shas:    map[string]string{"x_v1.2.3_linux_amd64.tar.gz": shaA, "x_v1.2.3_darwin_arm64.tar.gz": shaB},
			want: `spec:
  version: v1.2.3
  platforms:
  - bin: x
    uri: https://example.invalid/v1.2.3/x_v1.2.3_linux_amd64.tar.gz
    sha256: ` + shaA + `
  - bin: x
    uri: https://example.invalid/v1.2.3/x_v1.2.3_darwin_arm64.tar.gz
    sha256: ` + shaB + `
`,
		},
		{
			name:    "an entry with no archive is an error naming the file",
			tmpl:    twoEntries,
			version: "v1.2.3",
			shas:    map[string]string{"x_v1.2.3_linux_amd64.tar.gz": shaA},
			wantErr: "no archive given for x_v1.2.3_darwin_arm64.tar.gz",
		},
		{
			name:       "missing-sha fills only the entries with no archive",
			tmpl:       twoEntries,
			version:    "v1.2.3",
			shas:       map[string]string{"x_v1.2.3_linux_amd64.tar.gz": shaA},
			missingSHA: shaF,
			want: `spec:
  version: v1.2.3
  platforms:
  - bin: x
    uri: https://example.invalid/v1.2.3/x_v1.2.3_linux_amd64.tar.gz
    sha256: ` + shaA + `
  - bin: x
    uri: https://example.invalid/v1.2.3/x_v1.2.3_darwin_arm64.tar.gz
    sha256: ` + shaF + `
`,
		},
		{
			name:    "an archive of another version is an error",
			tmpl:    twoEntries,
			version: "v1.2.3",
			shas: map[string]string{
				"x_v1.2.3_linux_amd64.tar.gz": shaA, "x_v1.2.3_darwin_arm64.tar.gz": shaB,
				"x_v1.2.2_linux_amd64.tar.gz": shaA,
			},
			wantErr: "no template entry for archive x_v1.2.2_linux_amd64.tar.gz",
		},
		{
			name:    "indent re-indents as the bot does",
			tmpl:    "  - a: b\n      {{addURIAndSha \"https://example.invalid/{{ .TagName }}/x.tgz\" .TagName | indent 6 }}\n",
			version: "v0.1.0-rc.1",
			shas:    map[string]string{"x.tgz": shaA},
			want:    "  - a: b\n      uri: https://example.invalid/v0.1.0-rc.1/x.tgz\n      sha256: " + shaA + "\n",
		},
		{
			name:    "a version krew refuses is an error",
			tmpl:    twoEntries,
			version: "1.2.3",
			wantErr: "not a semantic version",
		},
		{
			name:    "a git describe version is an error",
			tmpl:    twoEntries,
			version: "561fde5-dirty",
			wantErr: "not a semantic version",
		},
		{
			name:       "a malformed missing-sha is an error",
			tmpl:       twoEntries,
			version:    "v1.2.3",
			missingSHA: "abc",
			wantErr:    "not 64 lowercase hex digits",
		},
		{
			name:       "a missing-sha YAML would read as a number is an error",
			tmpl:       twoEntries,
			version:    "v1.2.3",
			missingSHA: strings.Repeat("0", 64),
			wantErr:    "YAML would read it as a number",
		},
		{
			name:    "a template that does not parse is an error",
			tmpl:    "version: {{ .TagName ",
			version: "v1.2.3",
			wantErr: "unclosed action",
		},
		{
			name:    "a field the bot would not know is an error",
			tmpl:    "version: {{ .Version }}",
			version: "v1.2.3",
			wantErr: "can't evaluate field Version",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := render([]byte(tt.tmpl), tt.version, tt.shas, tt.missingSHA)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("render() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("render() error = %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("render() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestHashArchives(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x_v1.0.0_linux_amd64.tar.gz")
	if err := os.WriteFile(p, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := hashArchives([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	// sha256sum of "hello\n"
	want := "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	if got["x_v1.0.0_linux_amd64.tar.gz"] != want {
		t.Errorf("hashArchives() = %v, want %s", got, want)
	}
	if _, err := hashArchives([]string{p, p}); err == nil {
		t.Error("hashArchives() of the same archive twice: no error")
	}
	if _, err := hashArchives([]string{filepath.Join(dir, "absent.tar.gz")}); err == nil {
		t.Error("hashArchives() of a missing file: no error")
	}
}

// manifest is the part of a krew plugin manifest that the checks below read.
type manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
		} `json:"platforms"`
	} `json:"spec"`
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKrewTemplate renders the real .krew.yaml for a release and checks what krew-index
// reviewers and krew's validation ask of it.
func TestKrewTemplate(t *testing.T) {
	const version = "v1.10.0"
	platforms := []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64", "windows/amd64"}
	shas := map[string]string{}
	for i, p := range platforms {
		shas["kubectl-wi_"+version+"_"+strings.ReplaceAll(p, "/", "_")+".tar.gz"] = strings.Repeat(string("abcde"[i]), 64)
	}
	b, err := render(readFile(t, ".krew.yaml"), version, shas, "")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.UnmarshalStrict(b, &m); err != nil {
		// Strict: a field our struct lacks is fine in krew, but here it would mean a typo.
		t.Fatalf("rendered template is not the expected YAML: %v\n%s", err, b)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "wi" {
		t.Errorf("apiVersion/kind/name = %s/%s/%s", m.APIVersion, m.Kind, m.Metadata.Name)
	}
	if m.Spec.Version != version {
		t.Errorf("version = %q, want %q", m.Spec.Version, version)
	}
	if m.Spec.Homepage != "https://github.com/kubectl-wi/kubectl-wi" {
		t.Errorf("homepage = %q", m.Spec.Homepage)
	}
	if n := len(m.Spec.ShortDescription); n == 0 || n > 50 {
		t.Errorf("shortDescription is %d characters, want 1..50: %q", n, m.Spec.ShortDescription)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if len(l) > 80 && !strings.Contains(l, "uri: ") {
			t.Errorf("line longer than 80 columns (%d): %q", len(l), l)
		}
	}
	if !strings.Contains(m.Spec.Caveats, "--image") || !strings.Contains(m.Spec.Caveats, "kubectl-wi:"+version) {
		t.Errorf("caveats do not say how to override the probe image with --image:\n%s", m.Spec.Caveats)
	}
	if !strings.Contains(m.Spec.Caveats, "store/wi/"+version+"/kubectl_complete-wi") {
		t.Errorf("caveats do not say how to link the completion script:\n%s", m.Spec.Caveats)
	}
	if len(m.Spec.Platforms) != len(platforms) {
		t.Fatalf("%d platforms, want %d", len(m.Spec.Platforms), len(platforms))
	}
	for i, p := range m.Spec.Platforms {
		want := platforms[i]
		got := p.Selector.MatchLabels["os"] + "/" + p.Selector.MatchLabels["arch"]
		if got != want || len(p.Selector.MatchLabels) != 2 {
			t.Errorf("platform %d selects %v, want %s", i, p.Selector.MatchLabels, want)
		}
		archive := "kubectl-wi_" + version + "_" + strings.ReplaceAll(want, "/", "_") + ".tar.gz"
		if wantURI := "https://github.com/kubectl-wi/kubectl-wi/releases/download/" + version + "/" + archive; p.URI != wantURI {
			t.Errorf("platform %s uri = %s, want %s", want, p.URI, wantURI)
		}
		if p.SHA256 != shas[archive] {
			t.Errorf("platform %s sha256 = %s, want %s", want, p.SHA256, shas[archive])
		}
		bin := "kubectl-wi"
		if strings.HasPrefix(want, "windows/") {
			bin += ".exe"
		}
		if p.Bin != bin {
			t.Errorf("platform %s bin = %s, want %s", want, p.Bin, bin)
		}
		var from []string
		for _, f := range p.Files {
			from = append(from, f.From)
		}
		comp := "kubectl_complete-wi"
		if strings.HasPrefix(want, "windows/") {
			comp += ".cmd"
		}
		if strings.Join(from, ",") != bin+","+comp+",LICENSE" {
			t.Errorf("platform %s files = %v, want the binary, the completion script and LICENSE", want, from)
		}
	}
}

var (
	uriSHARE  = regexp.MustCompile(`(?m)^ *uri: (\S+)\n *sha256: ([a-f0-9]{64})$`)
	versionRe = regexp.MustCompile(`(?m)^  version: (\S+)$`)
)

// TestCommittedManifestMatchesTemplate re-renders .krew.yaml with krew/wi.yaml's own version
// and checksums and wants krew/wi.yaml byte for byte: an edit to either file alone fails here.
// `make krew` regenerates krew/wi.yaml.
func TestCommittedManifestMatchesTemplate(t *testing.T) {
	committed := readFile(t, "krew/wi.yaml")
	v := versionRe.FindSubmatch(committed)
	if v == nil {
		t.Fatal("krew/wi.yaml: no spec.version")
	}
	shas := map[string]string{}
	for _, m := range uriSHARE.FindAllSubmatch(committed, -1) {
		shas[path.Base(string(m[1]))] = string(m[2])
	}
	got, err := render(readFile(t, ".krew.yaml"), string(v[1]), shas, "")
	if err != nil {
		t.Fatalf("krew/wi.yaml no longer fits .krew.yaml (run make krew): %v", err)
	}
	if string(got) != string(committed) {
		a, b := strings.Split(string(committed), "\n"), strings.Split(string(got), "\n")
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		line := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "(end of file)"
		}
		t.Errorf("krew/wi.yaml differs from .krew.yaml rendered for %s with its checksums (run make krew); line %d:\nkrew/wi.yaml: %q\nrendered:     %q",
			v[1], i+1, line(a), line(b))
	}
}
