package probe

import (
	"context"
	"fmt"
	"strings"
)

// Check names of the in-pod probe's look at the app (Config.InPod).
const (
	CheckAppProcesses = "app.processes" // info: the app's processes the probe sees
	CheckAppSDK       = "app.sdk"       // one per AWS SDK found, judged against the path's minimum
)

// SDKStatus is how an SDK's version compares with the minimum of the pod's identity path.
type SDKStatus string

// SDK statuses.
const (
	SDKOK      SDKStatus = "ok"       // at or above the minimum
	SDKTooOld  SDKStatus = "too_old"  // below it: the SDK does not know the path's credentials
	SDKUnknown SDKStatus = "unknown"  // the version could not be judged
	SDKNoJudge SDKStatus = "no_judge" // the pod has no identity path to judge it against
)

// AppProcess is one process of the app.
type AppProcess struct {
	PID     int
	Command string
	UID     int // -1 when unknown
}

// AppSDK is one AWS SDK an app process carries, judged for the pod's identity path.
type AppSDK struct {
	Name    string // as the SDK calls itself: botocore, aws-sdk-go-v2, @aws-sdk/client-sts
	Version string
	PID     int
	Command string // the process's command
	Where   string // the file the version was read from
	Status  SDKStatus
	// Minimum is the path's minimum version, Fix the upgrade, Doc where AWS documents the
	// minimum; empty when not known.
	Minimum, Fix, Doc string
}

// AppReport is what an AppScanner found.
type AppReport struct {
	Processes []AppProcess
	SDKs      []AppSDK
	// Skipped says what could not be read, and why: a process of another user, one that
	// ended, a limit reached.
	Skipped []string
}

// AppScanner reads the app's processes, which the in-pod probe sees through the process
// namespace it shares with the app's container, and the AWS SDKs they carry, judged against
// the minimum version of path (PathIRSA or PathPodIdentity; empty when the pod has neither).
type AppScanner interface {
	Scan(ctx context.Context, path string) AppReport
}

// app reports the app's processes and SDKs: one app.sdk check per SDK, a skip for what
// could not be read.
func (r *runner) app() {
	if r.deps.App == nil {
		r.check(CheckAppSDK, StatusSkip, "this build of the probe cannot read the app's AWS SDKs", "", nil)
		return
	}
	rep := r.deps.App.Scan(r.ctx, r.sum.Path)
	if len(rep.Processes) > 0 {
		procs := make([]string, 0, len(rep.Processes))
		data := make([]map[string]any, 0, len(rep.Processes))
		for _, p := range rep.Processes {
			procs = append(procs, fmt.Sprintf("%d (%s)", p.PID, p.Command))
			data = append(data, map[string]any{"pid": p.PID, "command": p.Command, "uid": p.UID})
		}
		r.info(CheckAppProcesses, fmt.Sprintf("%d process(es) of the app: %s", len(procs), strings.Join(procs, ", ")), map[string]any{"processes": data})
	}
	for _, s := range rep.SDKs {
		r.sdkCheck(s)
	}
	for _, why := range rep.Skipped {
		r.check(CheckAppSDK, StatusSkip, "not read: "+why, "", map[string]any{"skipped": why})
	}
	if len(rep.SDKs) == 0 && len(rep.Skipped) == 0 {
		r.check(CheckAppSDK, StatusSkip, fmt.Sprintf("no AWS SDK found in the app's %d process(es)", len(rep.Processes)), "", nil)
	}
}

// sdkCheck is one SDK's app.sdk check.
func (r *runner) sdkCheck(s AppSDK) {
	who := fmt.Sprintf("process %d (%s) uses %s %s", s.PID, s.Command, s.Name, s.Version)
	data := map[string]any{"sdk": s.Name, "version": s.Version, "pid": s.PID, "command": s.Command, "status": string(s.Status)}
	if s.Where != "" {
		data["file"] = s.Where
	}
	if s.Minimum != "" {
		data["minimum"] = s.Minimum
	}
	if s.Doc != "" {
		data["doc"] = s.Doc
	}
	path := pathName(r.sum.Path)
	switch s.Status {
	case SDKOK:
		msg := who
		if s.Minimum != "" {
			msg += fmt.Sprintf(", at or above %s, the minimum for %s", s.Minimum, path)
		}
		r.check(CheckAppSDK, StatusPass, msg, "", data)
	case SDKTooOld:
		msg := fmt.Sprintf("%s, below %s, the minimum for %s: it does not find the credentials %s gives the pod", who, s.Minimum, path, path)
		if s.Doc != "" {
			msg += " (" + s.Doc + ")"
		}
		r.check(CheckAppSDK, StatusFail, msg, s.Fix, data)
	case SDKUnknown:
		r.check(CheckAppSDK, StatusSkip, who+": its version cannot be judged against the minimum for "+path, "", data)
	case SDKNoJudge:
		r.check(CheckAppSDK, StatusSkip, who+": not judged, the pod has no identity path", "", data)
	default:
		r.check(CheckAppSDK, StatusSkip, fmt.Sprintf("%s: unknown status %q", who, s.Status), "", data)
	}
}

// pathName words an identity path for messages.
func pathName(path string) string {
	switch path {
	case PathIRSA:
		return "IRSA (web identity)"
	case PathPodIdentity:
		return "EKS Pod Identity"
	}
	return "no identity path"
}
