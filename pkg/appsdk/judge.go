package appsdk

import (
	"fmt"
	"strings"
)

// SDK is one AWS SDK found in an app's process.
type SDK struct {
	// Name is the canonical SDK id (SDKGo, SDKBotocore, ...).
	Name string
	// Module is the package whose version was read: a Go module path, an npm package, a Maven
	// group:artifact, a NuGet, gem, composer or Python package name (the Module* constants).
	Module  string
	Version string
	// Path is where it was found, as the app sees it; a file inside an archive is
	// "archive!/entry".
	Path string
	// PID is the process it was found for, Process that process's executable's base name.
	PID     int
	Process string
}

// Status is the judge's answer for one SDK.
type Status string

// Statuses. Only OK means the SDK is known to be recent enough.
const (
	StatusOK          Status = "ok"
	StatusTooOld      Status = "too-old"     // below the documented minimum
	StatusUnsupported Status = "unsupported" // no version of this SDK supports the identity
	StatusUnknown     Status = "unknown"     // the version or the package could not be judged
)

// Verdict is an SDK judged against the documented minimum for an identity.
type Verdict struct {
	Status Status
	// Minimum is the version the SDK's package was compared with; empty when none was.
	Minimum string
	// Fix is the upgrade that makes it OK; empty when there is none to give.
	Fix string
	// Doc is where AWS documents the minimum.
	Doc string
	// Reason says why the status is Unknown, or what else the documentation asks for.
	Reason string
}

// Judge compares s with the documented minimum for id. A version that does not parse, or a
// package the table has no minimum for, is Unknown: never OK.
func Judge(s SDK, id Identity) Verdict {
	r, ok := Minimum(s.Name, id)
	if !ok {
		return Verdict{Status: StatusUnknown, Reason: fmt.Sprintf("no documented minimum for %s with %s", s.Name, id)}
	}
	v := Verdict{Doc: r.Doc, Reason: r.Note}
	switch {
	case r.Unsupported:
		v.Status, v.Fix = StatusUnsupported, r.Instead
		return v
	case r.AllVersions:
		v.Status = StatusOK
		return v
	}
	have, ok := parseVersion(s.Version)
	if !ok {
		v.Status, v.Reason = StatusUnknown, fmt.Sprintf("version %q of %s cannot be compared", s.Version, s.Module)
		return v
	}
	want, ok := minimumFor(r.Minimums, s.Module, have)
	if !ok {
		v.Status, v.Reason = StatusUnknown, fmt.Sprintf("%s does not carry the credential chain; the minimum is for %s", s.Module, modules(r.Minimums))
		return v
	}
	v.Minimum = want.Version
	if compareVersions(have, mustParse(want.Version)) < 0 {
		v.Status, v.Fix = StatusTooOld, fmt.Sprintf("upgrade %s to %s or later", want.Module, want.Version)
		return v
	}
	v.Status = StatusOK
	return v
}

// minimumFor picks module's minimum for have: the one of have's major line (the AWS CLI has
// one for 1.x and one for 2.x), else the lowest, so a major line older than every listed one
// is below it and a newer one above.
func minimumFor(mins []ModuleVersion, module string, have version) (ModuleVersion, bool) {
	var lowest ModuleVersion
	found := false
	for _, m := range mins {
		if m.Module != module {
			continue
		}
		w := mustParse(m.Version)
		if at(w.nums, 0) == at(have.nums, 0) {
			return m, true
		}
		if !found || compareVersions(w, mustParse(lowest.Version)) < 0 {
			lowest, found = m, true
		}
	}
	return lowest, found
}

func modules(mins []ModuleVersion) string {
	var names []string
	for _, m := range mins {
		if len(names) == 0 || names[len(names)-1] != m.Module {
			names = append(names, m.Module)
		}
	}
	return strings.Join(names, " and ")
}

// mustParse reads a version of the table, which its test proves parse.
func mustParse(s string) version {
	v, ok := parseVersion(s)
	if !ok {
		panic("appsdk: unparseable minimum " + s)
	}
	return v
}
