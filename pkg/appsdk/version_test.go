package appsdk

import "testing"

func TestParseVersion(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   version
		wantOK bool
	}{
		{name: "semver", in: "2.21.30", want: version{nums: []int{2, 21, 30}}, wantOK: true},
		{name: "go module", in: "v1.47.11", want: version{nums: []int{1, 47, 11}}, wantOK: true},
		{name: "go pseudo-version", in: "v1.25.1-0.20231114180000-abcdef123456", want: version{nums: []int{1, 25, 1}, pre: "0.20231114180000-abcdef123456"}, wantOK: true},
		{name: "go incompatible", in: "v2.0.0+incompatible", want: version{nums: []int{2, 0, 0}}, wantOK: true},
		{name: "nuget four numbers", in: "3.7.734.0", want: version{nums: []int{3, 7, 734, 0}}, wantOK: true},
		{name: "python post-release", in: "1.34.41.post1", want: version{nums: []int{1, 34, 41}, post: true}, wantOK: true},
		{name: "python rc without separator", in: "2.0.0rc1", want: version{nums: []int{2, 0, 0}, pre: "rc1"}, wantOK: true},
		{name: "python dev", in: "1.35.0.dev3", want: version{nums: []int{1, 35, 0}, pre: "dev3"}, wantOK: true},
		{name: "debian local version", in: "1.29.27+repack", want: version{nums: []int{1, 29, 27}}, wantOK: true},
		{name: "debian revision as post", in: "1.29.27-1", want: version{nums: []int{1, 29, 27}, post: true}, wantOK: true},
		{name: "maven Final", in: "1.2.3.Final", want: version{nums: []int{1, 2, 3}}, wantOK: true},
		{name: "maven snapshot", in: "2.21.30-SNAPSHOT", want: version{nums: []int{2, 21, 30}, pre: "SNAPSHOT"}, wantOK: true},
		{name: "npm prerelease", in: "3.458.0-beta.1", want: version{nums: []int{3, 458, 0}, pre: "beta.1"}, wantOK: true},
		{name: "empty", in: "", wantOK: false},
		{name: "go devel", in: "(devel)", wantOK: false},
		{name: "word", in: "latest", wantOK: false},
		{name: "release tag", in: "release-2023-11-14", wantOK: false},
		{name: "junk after number", in: "1.2.3!x", wantOK: false},
		{name: "trailing dot", in: "1.2.", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseVersion(tt.in)
			if ok != tt.wantOK {
				t.Fatalf("parseVersion(%q) ok = %v, want %v", tt.in, ok, tt.wantOK)
			}
			if !ok {
				return
			}
			if compareVersions(got, tt.want) != 0 || got.pre != tt.want.pre || got.post != tt.want.post || len(got.nums) != len(tt.want.nums) {
				t.Errorf("parseVersion(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want int
	}{
		{name: "equal", a: "1.34.41", b: "1.34.41", want: 0},
		{name: "v prefix ignored", a: "v1.47.11", b: "1.47.11", want: 0},
		{name: "missing numbers are zero", a: "3.7.734", b: "3.7.734.0", want: 0},
		{name: "numeric not lexical", a: "1.34.9", b: "1.34.41", want: -1},
		{name: "major wins", a: "2.0.0", b: "1.999.999", want: 1},
		{name: "pre-release before release", a: "2.15.0rc1", b: "2.15.0", want: -1},
		{name: "post-release after release", a: "1.34.41.post1", b: "1.34.41", want: 1},
		{name: "pseudo-version after previous release", a: "v1.25.1-0.20231114180000-abcdef123456", b: "v1.25.0", want: 1},
		{name: "pseudo-version before its release", a: "v1.25.1-0.20231114180000-abcdef123456", b: "v1.25.1", want: -1},
		{name: "numeric pre identifiers by value", a: "1.0.0-beta.2", b: "1.0.0-beta.11", want: -1},
		{name: "number before word", a: "1.0.0-0.3", b: "1.0.0-alpha", want: -1},
		{name: "longer pre list after its prefix", a: "1.0.0-alpha", b: "1.0.0-alpha.1", want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, okA := parseVersion(tt.a)
			b, okB := parseVersion(tt.b)
			if !okA || !okB {
				t.Fatalf("parse %q, %q: %v, %v", tt.a, tt.b, okA, okB)
			}
			if got := compareVersions(a, b); got != tt.want {
				t.Errorf("compareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := compareVersions(b, a); got != -tt.want {
				t.Errorf("compareVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}
