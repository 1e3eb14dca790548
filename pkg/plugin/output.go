package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/yaml"
)

// printDocument prints a command's report (not a Kubernetes object) as -o asks: json
// (indented), yaml (the same fields), or jsonpath=TEMPLATE over the JSON form, as kubectl
// prints objects.
func printDocument(w io.Writer, output string, doc any) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	switch {
	case output == "json":
		enc := json.NewEncoder(w) // the document's own field order
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	case output == "yaml":
		y, err := yaml.JSONToYAML(b)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	case isJSONPath(output):
		tmpl, _ := strings.CutPrefix(output, "jsonpath=")
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		jp := jsonpath.New("output").AllowMissingKeys(true)
		if err := jp.Parse(tmpl); err != nil {
			return FlagErrorf("-o jsonpath: %v", err)
		}
		if err := jp.Execute(w, v); err != nil {
			return fmt.Errorf("-o jsonpath: %w", err)
		}
		return nil
	}
	return fmt.Errorf("unknown output format %q", output)
}

// checkOutput refuses an -o that is none of allowed ("" for the default) nor a jsonpath
// template that parses.
func checkOutput(output string, allowed ...string) error {
	for _, a := range allowed {
		if output == a {
			return nil
		}
	}
	if isJSONPath(output) {
		tmpl, _ := strings.CutPrefix(output, "jsonpath=")
		if err := jsonpath.New("output").Parse(tmpl); err != nil {
			return FlagErrorf("-o jsonpath: %v", err)
		}
		return nil
	}
	var named []string
	for _, a := range allowed {
		if a != "" {
			named = append(named, a)
		}
	}
	return OutputError(output, append(named, "jsonpath=TEMPLATE")...)
}

// isJSONPath is true for -o jsonpath=TEMPLATE.
func isJSONPath(output string) bool { return strings.HasPrefix(output, "jsonpath=") }
