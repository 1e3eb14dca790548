package probe

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-wi/kubectl-wi/pkg/check"
)

// Check names of the in-pod probe's look at the app (Config.InPod).
const (
	CheckAppProcesses = "app.processes" // info: the app's processes that carry an AWS SDK
	CheckAppSDK       = "app.sdk"       // one per AWS SDK found, judged against the path's minimum
)

// SDKStatus is how an SDK's version compares with the minimum of the pod's identity path.
type SDKStatus string

// SDK statuses.
const (
	SDKOK          SDKStatus = "ok"          // at or above the minimum
	SDKTooOld      SDKStatus = "too_old"     // below it: the SDK does not know the path's credentials
	SDKUnsupported SDKStatus = "unsupported" // no version of this SDK supports the path
	SDKUnknown     SDKStatus = "unknown"     // the version could not be judged
	SDKNoJudge     SDKStatus = "no_judge"    // the pod has no identity path to judge it against
)

// AppSDK is one AWS SDK an app process carries, judged for the pod's identity path.
type AppSDK struct {
	Name    string // the SDK: botocore, aws-sdk-go-v2, aws-sdk-js-v3
	Module  string // the package whose version was read: github.com/aws/aws-sdk-go-v2/config
	Version string
	PID     int
	Process string // the process's executable's base name
	Where   string // the file the version was read from, as the app sees it
	Status  SDKStatus
	// Minimum is the path's minimum version, Fix the upgrade (or what to move to), Doc where
	// AWS documents the minimum, Reason why the status is unknown or what else the
	// documentation asks; empty when not known.
	Minimum, Fix, Doc, Reason string
}

// AppSkip is what a scan could not read, and why.
type AppSkip struct {
	PID    int // 0 when no one process
	Path   string
	Reason string
}

// AppReport is what an AppScanner found.
type AppReport struct {
	SDKs []AppSDK
	// Skipped is what could not be read, and why: a process of another user, a file that
	// does not parse, a limit reached.
	Skipped []AppSkip
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
		r.check(CheckAppSDK, check.StatusSkip, "this build of the probe cannot read the app's AWS SDKs", "", nil)
		return
	}
	rep := r.deps.App.Scan(r.ctx, r.sum.Path)
	var procs []string
	for _, s := range rep.SDKs {
		if p := fmt.Sprintf("%d (%s)", s.PID, s.Process); !slices.Contains(procs, p) {
			procs = append(procs, p)
		}
	}
	if len(procs) > 0 {
		r.info(CheckAppProcesses, fmt.Sprintf("AWS SDKs found in %d process(es) of the app: %s", len(procs), strings.Join(procs, ", ")), map[string]any{"processes": procs})
	}
	for _, s := range rep.SDKs {
		r.sdkCheck(s)
	}
	for _, g := range groupSkips(rep.Skipped) {
		r.check(CheckAppSDK, check.StatusSkip, "not read: "+g.text, "", map[string]any{"skipped": g.reason, "count": g.count})
	}
	if len(rep.SDKs) == 0 && len(rep.Skipped) == 0 {
		r.check(CheckAppSDK, check.StatusSkip, "no AWS SDK found in the app's processes", "", nil)
	}
}

// skipGroup is the skips of one reason.
type skipGroup struct {
	reason, text string
	count        int
}

// maxSkipWhere bounds the places one skip event names: the rest are counted.
const maxSkipWhere = 3

// groupSkips folds the skips of one reason into one, naming a few of their places: a scan
// that meets a hundred processes of another user says so once.
func groupSkips(skips []AppSkip) []skipGroup {
	var order []string
	where := map[string][]string{}
	for _, s := range skips {
		if _, seen := where[s.Reason]; !seen {
			order = append(order, s.Reason)
		}
		w := s.Path
		if s.PID > 0 {
			w = strings.TrimSpace(fmt.Sprintf("process %d %s", s.PID, s.Path))
		}
		where[s.Reason] = append(where[s.Reason], w)
	}
	out := make([]skipGroup, 0, len(order))
	for _, reason := range order {
		ws := slices.DeleteFunc(slices.Clone(where[reason]), func(w string) bool { return w == "" })
		text := reason
		if len(ws) > 0 {
			shown := ws[:min(len(ws), maxSkipWhere)]
			text = strings.Join(shown, ", ")
			if more := len(ws) - len(shown); more > 0 {
				text += fmt.Sprintf(" and %d more", more)
			}
			text += ": " + reason
		}
		out = append(out, skipGroup{reason: reason, text: text, count: len(where[reason])})
	}
	return out
}

// sdkCheck is one SDK's app.sdk check.
func (r *runner) sdkCheck(s AppSDK) {
	who := fmt.Sprintf("process %d (%s) uses %s %s", s.PID, s.Process, s.Name, s.Version)
	if s.Module != "" && s.Module != s.Name {
		who += " (" + s.Module + ")"
	}
	data := map[string]any{"sdk": s.Name, "module": s.Module, "version": s.Version, "pid": s.PID, "process": s.Process, "status": string(s.Status)}
	for k, v := range map[string]string{"file": s.Where, "minimum": s.Minimum, "doc": s.Doc, "reason": s.Reason} {
		if v != "" {
			data[k] = v
		}
	}
	path := pathName(r.sum.Path)
	doc := ""
	if s.Doc != "" {
		doc = " (" + s.Doc + ")"
	}
	switch s.Status {
	case SDKOK:
		msg := who
		if s.Minimum != "" {
			msg += fmt.Sprintf(", at or above %s, the minimum for %s", s.Minimum, path)
		} else {
			msg += ", which supports " + path
		}
		r.check(CheckAppSDK, check.StatusPass, msg, "", data)
	case SDKTooOld:
		r.check(CheckAppSDK, check.StatusFail,
			fmt.Sprintf("%s, below %s, the minimum for %s: it does not find the credentials %s gives the pod%s", who, s.Minimum, path, path, doc),
			s.Fix+" in the app's image, then roll out the new image", data)
	case SDKUnsupported:
		r.check(CheckAppSDK, check.StatusFail, fmt.Sprintf("%s: no version of it supports %s%s", who, path, doc), s.Fix, data)
	case SDKUnknown:
		r.check(CheckAppSDK, check.StatusSkip, fmt.Sprintf("%s: not judged against the minimum for %s: %s", who, path, orPlaceholder(s.Reason, "unknown version")), "", data)
	case SDKNoJudge:
		r.check(CheckAppSDK, check.StatusSkip, who+": not judged, the pod has no identity path", "", data)
	default:
		r.check(CheckAppSDK, check.StatusSkip, fmt.Sprintf("%s: unknown status %q", who, s.Status), "", data)
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
