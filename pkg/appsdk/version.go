package appsdk

import (
	"regexp"
	"strconv"
	"strings"
)

// version is a release number as the SDKs' ecosystems write them: semver and Go module
// versions (v1.47.11, v1.25.1-0.20231114-abcdef), Python's (1.34.41, 1.34.41.post1, 2.0.0rc1),
// Maven's, NuGet's four numbers (3.7.734.0) and npm's.
type version struct {
	nums []int
	// pre is the pre-release tag ("rc1", "0.20231114-abcdef"): such a version sorts before the
	// release it leads to.
	pre string
	// post marks a post-release ("1.0.post1", Debian's "1.0-1"): it sorts after its release.
	post bool
}

var (
	// Python's post-release forms (PEP 440): .post1, -post1, post1, -1, rev1, r1.
	postRelease = regexp.MustCompile(`(?i)^(?:[-._]?(?:post|rev|r)[-._]?\d*|-\d+)$`)
	// Python's pre-release forms, whose separator may be missing (1.0rc1, 1.0.dev3).
	pythonPre = regexp.MustCompile(`(?i)^[._]?(?:a|alpha|b|beta|c|rc|pre|preview|dev)[-._]?\d*(?:[-._]?dev\d*)?$`)
	// Suffixes Maven releases carried before semver (1.2.3.Final, 1.2.3.RELEASE): releases.
	releaseWord = regexp.MustCompile(`(?i)^[.-](?:final|release|ga)$`)
)

// parseVersion reads s, or says it cannot: an empty string, "(devel)", "latest" and anything
// else without a leading number are not versions. A leading v and build metadata or a local
// version (+incompatible, +repack, +dfsg) are dropped.
func parseVersion(s string) (version, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	var v version
	i := 0
	for {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return version{}, false
		}
		n, err := strconv.Atoi(s[i:j])
		if err != nil {
			return version{}, false
		}
		v.nums = append(v.nums, n)
		i = j
		if i+1 < len(s) && s[i] == '.' && s[i+1] >= '0' && s[i+1] <= '9' {
			i++
			continue
		}
		break
	}
	rest := s[i:]
	switch {
	case rest == "", releaseWord.MatchString(rest):
	case postRelease.MatchString(rest):
		v.post = true
	case pythonPre.MatchString(rest):
		v.pre = strings.TrimLeft(rest, "-._")
	case strings.HasPrefix(rest, "-") && len(rest) > 1:
		v.pre = rest[1:]
	default:
		return version{}, false
	}
	return v, true
}

// compareVersions orders a and b: -1, 0 or 1. Missing numbers count as zero, so 3.7.734 equals
// 3.7.734.0.
func compareVersions(a, b version) int {
	for i := 0; i < max(len(a.nums), len(b.nums)); i++ {
		x, y := at(a.nums, i), at(b.nums, i)
		if x != y {
			return sign(x - y)
		}
	}
	if c := stage(a) - stage(b); c != 0 {
		return sign(c)
	}
	if a.pre != "" {
		return comparePre(a.pre, b.pre)
	}
	return 0
}

func at(nums []int, i int) int {
	if i < len(nums) {
		return nums[i]
	}
	return 0
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// stage is 0 for a pre-release, 1 for the release, 2 for a post-release.
func stage(v version) int {
	switch {
	case v.pre != "":
		return 0
	case v.post:
		return 2
	}
	return 1
}

// comparePre orders two pre-release tags the way semver orders identifiers: numbers by value,
// below words; words by bytes; a shorter list of equal identifiers first.
func comparePre(a, b string) int {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' || r == '_' })
	}
	x, y := split(a), split(b)
	for i := 0; i < min(len(x), len(y)); i++ {
		n, errN := strconv.Atoi(x[i])
		m, errM := strconv.Atoi(y[i])
		switch {
		case errN == nil && errM == nil:
			if n != m {
				return sign(n - m)
			}
		case errN == nil:
			return -1
		case errM == nil:
			return 1
		default:
			if c := strings.Compare(x[i], y[i]); c != 0 {
				return c
			}
		}
	}
	return sign(len(x) - len(y))
}
