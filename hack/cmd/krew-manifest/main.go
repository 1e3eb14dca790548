// Command krew-manifest renders the krew-release-bot template (.krew.yaml) for a version and
// local release archives, the way the bot renders it for a GitHub release, so that the
// manifest used for local install tests (krew/wi.yaml) comes from the same template and the
// two cannot drift.
//
//	krew-manifest -version v1.2.3 -o krew/wi.yaml dist/kubectl-wi_v1.2.3_*.tar.gz
//
// The template is Go text/template with the bot's functions: {{ .TagName }} is the version,
// and {{addURIAndSha "URL" .TagName}} becomes "uri: URL" and "sha256: HEX" on the next line,
// indented by four spaces (the bot's fixed indent; `| indent N` re-indents, as in the bot).
// URL is itself a template of .TagName. Where the bot downloads URL to hash it, this tool
// hashes the local archive whose file name is URL's last path element.
//
// Every entry needs its archive: a missing one is an error that names the file expected,
// because a manifest with a made-up checksum cannot install anything. Only -missing-sha HEX
// (for tests that build one platform) fills the entries that have no archive with HEX.
// An archive that no entry names is an error too: it was built for another version.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"
)

func main() {
	tmplPath := flag.String("template", ".krew.yaml", "krew-release-bot template")
	version := flag.String("version", "", "release tag, e.g. v1.2.3 (krew wants a semantic version with a leading v)")
	out := flag.String("o", "", "output file (default stdout)")
	missingSHA := flag.String("missing-sha", "", "sha256 for entries with no archive (default: such an entry is an error)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: krew-manifest -version V [-template F] [-o F] [-missing-sha HEX] ARCHIVE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	tmpl, err := os.ReadFile(*tmplPath)
	if err != nil {
		log.Fatal(err)
	}
	shas, err := hashArchives(flag.Args())
	if err != nil {
		log.Fatal(err)
	}
	b, err := render(tmpl, *version, shas, *missingSHA)
	if err != nil {
		log.Fatalf("%s: %v", *tmplPath, err)
	}
	if *out == "" {
		_, err = os.Stdout.Write(b)
	} else {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// hashArchives maps each archive's file name to its sha256.
func hashArchives(paths []string) (map[string]string, error) {
	shas := make(map[string]string, len(paths))
	for _, p := range paths {
		name := filepath.Base(p)
		if _, dup := shas[name]; dup {
			return nil, fmt.Errorf("archive %s given twice", name)
		}
		sum, err := fileSHA256(p)
		if err != nil {
			return nil, err
		}
		shas[name] = sum
	}
	return shas, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("failed to read %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var (
	// versionRE is krew's rule (a semantic version with a leading v), checked here so a bad
	// tag fails at render time and not at install time.
	versionRE = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	sha256RE  = regexp.MustCompile(`^[a-f0-9]{64}$`)
)

// templateData is what the bot passes to the template; only TagName is used by ours. A template
// that refers to a field not here fails to render.
type templateData struct {
	TagName string
}

// render executes the template for version. shas maps archive file names to their sha256;
// missingSHA, when not empty, is used for entries whose archive is not in shas.
func render(tmpl []byte, version string, shas map[string]string, missingSHA string) ([]byte, error) {
	if !versionRE.MatchString(version) {
		return nil, fmt.Errorf("version %q is not a semantic version with a leading v (e.g. v1.2.3)", version)
	}
	if missingSHA != "" && !sha256RE.MatchString(missingSHA) {
		return nil, fmt.Errorf("-missing-sha %q is not 64 lowercase hex digits", missingSHA)
	}
	if missingSHA != "" && !strings.ContainsAny(missingSHA, "abcdef") {
		// Unquoted, as the bot writes it, YAML reads a sha256 of digits only as a number.
		return nil, fmt.Errorf("-missing-sha %q has no letter: YAML would read it as a number", missingSHA)
	}
	used := map[string]bool{}
	var missing []string
	addURIAndSha := func(url, tag string) (string, error) {
		ut, err := template.New("url").Option("missingkey=error").Parse(url)
		if err != nil {
			return "", fmt.Errorf("bad URL template %q: %w", url, err)
		}
		var buf bytes.Buffer
		if err := ut.Execute(&buf, templateData{TagName: tag}); err != nil {
			return "", err
		}
		uri := buf.String()
		name := path.Base(uri)
		sum, ok := shas[name]
		switch {
		case ok:
			used[name] = true
		case missingSHA != "":
			sum = missingSHA
		default:
			missing = append(missing, name)
			sum = strings.Repeat("0", 64)
		}
		return fmt.Sprintf("uri: %s\n    sha256: %s", uri, sum), nil
	}
	t, err := template.New("krew").Option("missingkey=error").Funcs(template.FuncMap{
		"addURIAndSha": addURIAndSha,
		"indent":       indent,
	}).Parse(string(tmpl))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, templateData{TagName: version}); err != nil {
		return nil, err
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("no archive given for %s (pass it, or -missing-sha for a test)", strings.Join(missing, ", ")))
	}
	var unused []string
	for name := range shas {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		errs = append(errs, fmt.Errorf("no template entry for archive %s (built for another version?)", strings.Join(unused, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// indent is the bot's `indent N`: it drops addURIAndSha's fixed four-space indent of the sha256
// line and indents every line after the first by N spaces.
func indent(spaces int, v string) string {
	v = strings.ReplaceAll(v, "    sha256:", "sha256:")
	pad := strings.Repeat(" ", spaces)
	return strings.TrimSpace(pad + strings.ReplaceAll(v, "\n", "\n"+pad))
}
