package appsdk

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScanShowsNoSecrets: what the app's environment and command line hold never reaches the
// report. The scan reads no environment, and a command-line argument that names no file is
// not a path to report.
func TestScanShowsNoSecrets(t *testing.T) {
	secrets := []string{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"}
	procDir := fakeProc(t, fakeProcess{pid: 6, exe: "/usr/local/bin/python3", cwd: "/app",
		args: []string{"python3", "/app/main.py/" + secrets[0], "--secret=" + secrets[1], "s3://bucket/" + secrets[2], secrets[1] + ".jar"},
		files: map[string]string{
			"app/main.py": "import boto3",
			"app/botocore-1.34.41.dist-info/METADATA": metadata("botocore", "1.34.41"),
		}})
	env := "AWS_ACCESS_KEY_ID=" + secrets[0] + "\x00AWS_SECRET_ACCESS_KEY=" + secrets[1] + "\x00AWS_SESSION_TOKEN=" + secrets[2] + "\x00"
	if err := os.WriteFile(filepath.Join(procDir, "6", "environ"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	got := ScanProcesses(t.Context(), procDir, selfPID, Limits{})
	if len(got.SDKs) != 1 {
		t.Errorf("SDKs = %v, want botocore only", sdkLines(got.SDKs))
	}
	out := fmt.Sprintf("%+v", got)
	for _, sdk := range got.SDKs {
		out += fmt.Sprintf("%+v", Judge(sdk, PodIdentity))
	}
	for _, secret := range secrets {
		if strings.Contains(out, secret) {
			t.Errorf("the report shows %q:\n%s", secret, out)
		}
	}
}
