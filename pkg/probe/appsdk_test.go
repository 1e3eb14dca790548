package probe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-wi/kubectl-wi/pkg/appsdk"
)

// The probe's paths are appsdk's identities: Judge is asked with the path as is.
func TestPathsAreAppSDKIdentities(t *testing.T) {
	if appsdk.Identity(PathIRSA) != appsdk.IRSA || appsdk.Identity(PathPodIdentity) != appsdk.PodIdentity {
		t.Errorf("paths %q and %q are not appsdk's %q and %q", PathIRSA, PathPodIdentity, appsdk.IRSA, appsdk.PodIdentity)
	}
}

// fakeProcDir is a /proc of one Python process whose image holds botocore at version, as pip
// installs it: <pid>/exe, cwd and root as the kernel's, cmdline and status.
func fakeProcDir(t *testing.T, pid, version string) string {
	t.Helper()
	dir := t.TempDir()
	pd := filepath.Join(dir, pid)
	root := filepath.Join(pd, "root")
	for name, body := range map[string]string{
		"usr/bin/python3.12": "\x7fELF not a Go program",
		"app/main.py":        "import boto3",
		"usr/local/lib/python3.12/site-packages/botocore-" + version + ".dist-info/METADATA": "Metadata-Version: 2.1\nName: botocore\nVersion: " + version + "\n",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, to := range map[string]string{"exe": "/usr/bin/python3.12", "cwd": "/app"} {
		if err := os.Symlink(to, filepath.Join(pd, link)); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{
		"cmdline": "python3.12\x00/app/main.py\x00",
		"status":  "Name:\tpython3.12\nUid:\t1000\t1000\t1000\t1000\n",
	} {
		if err := os.WriteFile(filepath.Join(pd, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSDKScanner(t *testing.T) {
	tests := []struct {
		name       string
		version    string
		path       string
		wantStatus SDKStatus
		wantMin    string
		wantFix    string
	}{
		{name: "Pod Identity, botocore below 1.34.41", version: "1.34.40", path: PathPodIdentity, wantStatus: SDKTooOld, wantMin: "1.34.41", wantFix: "upgrade botocore to 1.34.41 or later"},
		{name: "Pod Identity, botocore at 1.34.41", version: "1.34.41", path: PathPodIdentity, wantStatus: SDKOK, wantMin: "1.34.41"},
		{name: "IRSA, the same botocore is new enough", version: "1.34.40", path: PathIRSA, wantStatus: SDKOK, wantMin: "1.12.200"},
		{name: "no identity path: found, not judged", version: "1.34.40", path: "", wantStatus: SDKNoJudge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := SDKScanner{ProcDir: fakeProcDir(t, "10", tt.version), Self: 1}
			rep := s.Scan(t.Context(), tt.path)
			if len(rep.SDKs) != 1 {
				t.Fatalf("SDKs %+v, skipped %+v: want botocore", rep.SDKs, rep.Skipped)
			}
			got := rep.SDKs[0]
			if got.Name != appsdk.SDKBotocore || got.Version != tt.version || got.PID != 10 || got.Process != "python3.12" ||
				!strings.HasSuffix(got.Where, "botocore-"+tt.version+".dist-info/METADATA") {
				t.Errorf("SDK %+v", got)
			}
			if got.Status != tt.wantStatus || got.Minimum != tt.wantMin || !strings.Contains(got.Fix, tt.wantFix) {
				t.Errorf("judged %s minimum %q fix %q, want %s %q %q", got.Status, got.Minimum, got.Fix, tt.wantStatus, tt.wantMin, tt.wantFix)
			}
		})
	}
}

func TestSDKStatus(t *testing.T) {
	for in, want := range map[appsdk.Status]SDKStatus{
		appsdk.StatusOK: SDKOK, appsdk.StatusTooOld: SDKTooOld, appsdk.StatusUnsupported: SDKUnsupported,
		appsdk.StatusUnknown: SDKUnknown, appsdk.Status("new-in-appsdk"): SDKUnknown,
	} {
		if got := sdkStatus(in); got != want {
			t.Errorf("sdkStatus(%q) = %q, want %q", in, got, want)
		}
	}
}
