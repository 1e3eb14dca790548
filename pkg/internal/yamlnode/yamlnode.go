// Package yamlnode reads yaml.v3 node trees, which the targets file and the mk8s manifest
// are read as to keep their comments, order and line numbers.
package yamlnode

import "go.yaml.in/yaml/v3"

// Value is the value node of key in the mapping node n; nil when n is not a mapping or has
// no such key.
func Value(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
