package probe

import (
	"context"

	"github.com/kubectl-wi/kubectl-wi/pkg/appsdk"
)

// SDKScanner is the probe's AppScanner: pkg/appsdk over the processes of ProcDir, which in an
// ephemeral container targeting the app's container are the app's.
type SDKScanner struct {
	ProcDir string // "/proc"
	Self    int    // the probe's own PID, left out
	Limits  appsdk.Limits
}

// Scan implements AppScanner: it scans, and judges each SDK for path.
func (s SDKScanner) Scan(ctx context.Context, path string) AppReport {
	rep := appsdk.ScanProcesses(ctx, s.ProcDir, s.Self, s.Limits)
	var out AppReport
	for _, sdk := range rep.SDKs {
		a := AppSDK{Name: sdk.Name, Module: sdk.Module, Version: sdk.Version, PID: sdk.PID, Process: sdk.Process, Where: sdk.Path, Status: SDKNoJudge}
		if path != "" {
			v := appsdk.Judge(sdk, appsdk.Identity(path))
			a.Status, a.Minimum, a.Fix, a.Doc, a.Reason = sdkStatus(v.Status), v.Minimum, v.Fix, v.Doc, v.Reason
		}
		out.SDKs = append(out.SDKs, a)
	}
	for _, sk := range rep.Skipped {
		out.Skipped = append(out.Skipped, AppSkip{PID: sk.PID, Path: sk.Path, Reason: sk.Reason})
	}
	return out
}

// sdkStatus is the judge's status as the probe reports it.
func sdkStatus(s appsdk.Status) SDKStatus {
	switch s {
	case appsdk.StatusOK:
		return SDKOK
	case appsdk.StatusTooOld:
		return SDKTooOld
	case appsdk.StatusUnsupported:
		return SDKUnsupported
	case appsdk.StatusUnknown:
	}
	return SDKUnknown
}
