package yamlnode

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestValue(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: 1\nb:\n  c: two\nlist: [x]\n"), &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	tests := []struct {
		name string
		n    *yaml.Node
		key  string
		want string // the scalar found; "<nil>" for none
	}{
		{name: "a key of the mapping", n: root, key: "a", want: "1"},
		{name: "a nested mapping", n: Value(root, "b"), key: "c", want: "two"},
		{name: "a missing key", n: root, key: "z", want: "<nil>"},
		{name: "a sequence is no mapping", n: Value(root, "list"), key: "x", want: "<nil>"},
		{name: "a nil node", n: nil, key: "a", want: "<nil>"},
		{name: "a document node is no mapping", n: &doc, key: "a", want: "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := "<nil>"
			if v := Value(tt.n, tt.key); v != nil {
				got = v.Value
			}
			if got != tt.want {
				t.Errorf("Value(%q) = %s, want %s", tt.key, got, tt.want)
			}
		})
	}
}
