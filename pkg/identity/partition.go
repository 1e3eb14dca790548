package identity

import "sort"

// KnownPartition reports whether p is an AWS partition that has IAM roles, the same set
// ParseRoleARN accepts.
func KnownPartition(p string) bool { return partitions[p] }

// Partitions lists the partitions ParseRoleARN accepts, sorted, for help and error messages.
func Partitions() []string {
	out := make([]string, 0, len(partitions))
	for p := range partitions {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
