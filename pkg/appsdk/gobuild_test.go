package appsdk

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

func TestGoSDKs(t *testing.T) {
	mod := func(path, version string) *debug.Module { return &debug.Module{Path: path, Version: version} }
	tests := []struct {
		name string
		deps []*debug.Module
		want []SDK
		// wantPodIdentity is the verdict of each wanted SDK for Pod Identity.
		wantPodIdentity []Status
	}{
		{
			name:            "go v1 below pod identity's minimum",
			deps:            []*debug.Module{mod("golang.org/x/net", "v0.20.0"), mod(ModuleGo, "v1.47.10")},
			want:            []SDK{{Name: SDKGo, Module: ModuleGo, Version: "v1.47.10"}},
			wantPodIdentity: []Status{StatusTooOld},
		},
		{
			name: "go v2 judged by config and credentials, not the core",
			deps: []*debug.Module{mod(ModuleGoV2, "v1.22.0"), mod(ModuleGoV2Config, "v1.25.0"), mod(ModuleGoV2Creds, "v1.15.2"), mod(ModuleGoV2+"/service/s3", "v1.40.0")},
			want: []SDK{
				{Name: SDKGoV2, Module: ModuleGoV2Config, Version: "v1.25.0"},
				{Name: SDKGoV2, Module: ModuleGoV2Creds, Version: "v1.15.2"},
			},
			wantPodIdentity: []Status{StatusOK, StatusTooOld},
		},
		{
			name:            "go v2 without its credential chain: the core, which cannot be judged",
			deps:            []*debug.Module{mod(ModuleGoV2, "v1.30.0"), mod(ModuleGoV2+"/service/s3", "v1.50.0")},
			want:            []SDK{{Name: SDKGoV2, Module: ModuleGoV2, Version: "v1.30.0"}},
			wantPodIdentity: []Status{StatusUnknown},
		},
		{
			name:            "a replacement's version counts",
			deps:            []*debug.Module{{Path: ModuleGo, Version: "v1.40.0", Replace: mod("github.com/fork/aws-sdk-go", "v1.50.0")}},
			want:            []SDK{{Name: SDKGo, Module: ModuleGo, Version: "v1.50.0"}},
			wantPodIdentity: []Status{StatusOK},
		},
		{
			name:            "a replacement by a directory has no version",
			deps:            []*debug.Module{{Path: ModuleGo, Version: "v1.50.0", Replace: mod("../aws-sdk-go", "")}},
			want:            []SDK{{Name: SDKGo, Module: ModuleGo, Version: "replaced by ../aws-sdk-go"}},
			wantPodIdentity: []Status{StatusUnknown},
		},
		{
			name: "no AWS SDK",
			deps: []*debug.Module{mod("golang.org/x/net", "v0.20.0"), mod("github.com/aws/smithy-go", "v1.20.0")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := goSDKs(&debug.BuildInfo{GoVersion: "go1.22.0", Path: "example.com/app", Deps: tt.deps})
			if g, w := sdkLines(got), sdkLines(tt.want); !slices.Equal(g, w) {
				t.Fatalf("goSDKs() = %q, want %q", g, w)
			}
			for i, s := range got {
				if v := Judge(s, PodIdentity); v.Status != tt.wantPodIdentity[i] {
					t.Errorf("Judge(%s %s, pod identity) = %+v, want %s", s.Module, s.Version, v, tt.wantPodIdentity[i])
				}
			}
		})
	}
}

// TestScanGoExecutable builds a real Go program that links the SDK's default credential chain
// (testdata/goapp; a test binary's own build info lists no dependencies) and scans it through
// <pid>/exe as an app's. What it must find is what the module graph selects, as go list says.
func TestScanGoExecutable(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "goapp")
	build := exec.Command("go", "build", "-o", exe, "./testdata/goapp")
	build.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	list := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{.Version}}", ModuleGoV2Config, ModuleGoV2Creds)
	list.Env = build.Env
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var want []SDK
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		module, v, _ := strings.Cut(line, " ")
		want = append(want, SDK{Name: SDKGoV2, Module: module, Version: v, Path: exe, PID: 3, Process: "goapp"})
	}
	procDir := fakeProc(t, fakeProcess{pid: 3, exe: exe, cwd: "/", files: map[string]string{}})
	got := ScanProcesses(t.Context(), procDir, selfPID, Limits{})
	if g, w := sdkLines(got.SDKs), sdkLines(want); !slices.Equal(g, w) {
		t.Errorf("SDKs:\ngot  %s\nwant %s", strings.Join(g, "\n     "), strings.Join(w, "\n     "))
	}
	if len(got.Skipped) != 0 {
		t.Errorf("Skipped = %+v, want none", got.Skipped)
	}
	for _, s := range got.SDKs {
		if v := Judge(s, PodIdentity); v.Status != StatusOK {
			t.Errorf("Judge(%s %s, pod identity) = %+v, want ok: the module's go.mod requires more than the minimum", s.Module, s.Version, v)
		}
	}
}
