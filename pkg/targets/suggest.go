package targets

import (
	"fmt"
	"sort"
	"strings"
)

// CheckArgs refuses kubectl's TYPE NAME form, which TARGET does not take: `enable deployment
// web` would otherwise name two service accounts, "deployment" and "web", and --create would
// create them. A bare argument that is a kind's alias is refused too, since it is far more
// likely a kind than an account's name; serviceaccount/NAME names such an account.
func (r *Registry) CheckArgs(args []string) error {
	for i, arg := range args {
		if strings.Contains(arg, "/") {
			continue
		}
		kind := r.lookup(arg)
		if kind == nil {
			continue
		}
		if i+1 < len(args) && !strings.Contains(args[i+1], "/") {
			return fmt.Errorf("%q: TARGET is KIND/NAME or NAME, not KIND NAME: write %s/%s", arg+" "+args[i+1], strings.ToLower(arg), args[i+1])
		}
		return fmt.Errorf("%q is a kind, not a name: TARGET is KIND/NAME (e.g. %s/NAME) or NAME; a service account named %q is serviceaccount/%s", arg, strings.ToLower(arg), arg, arg)
	}
	return nil
}

// Suggest returns the name among candidates closest to name, for "did you mean": within an
// edit distance of 2 (a swap of two neighbouring letters counts as one edit) and less than the
// name's length, or one that starts with name. "" when none is close, or when name is one of
// them.
func Suggest(name string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	best, bestDist := "", 3
	for _, c := range sorted {
		if c == name {
			return ""
		}
		d := editDistance(name, c)
		if d >= len(name) && !strings.HasPrefix(c, name) {
			continue
		}
		if strings.HasPrefix(c, name) && d > 2 {
			d = 2
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// SuggestValue is Suggest for a long value, such as an audience or a host name: within a
// quarter of its length in edits (at least 2), never by prefix. "" when none is close, or
// when value is one of them.
func SuggestValue(value string, candidates []string) string {
	best, bestDist := "", max(2, len(value)/4)+1
	for _, c := range candidates {
		if c == value {
			return ""
		}
		if d := editDistance(value, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions, deletions, substitutions
// and transpositions of adjacent bytes each cost one.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
