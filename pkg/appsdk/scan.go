package appsdk

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits bound one scan, so it ends in a few seconds on a big image. A zero field takes its
// default.
type Limits struct {
	// MaxDepth is how many directories deep the scan goes below each place it searches.
	MaxDepth int
	// MaxFiles is how many directory entries and archive entries the whole scan examines.
	MaxFiles int
	// Deadline ends the scan; zero is DefaultTimeout from its start.
	Deadline time.Time
}

// The defaults of Limits.
const (
	DefaultMaxDepth = 8
	DefaultMaxFiles = 200_000
	DefaultTimeout  = 5 * time.Second
)

// Skip is something the scan could not read, and why.
type Skip struct {
	PID    int
	Path   string
	Reason string
}

// Report is what a scan found and what it could not read.
type Report struct {
	SDKs    []SDK
	Skipped []Skip
}

// ScanProcesses finds the AWS SDKs of every process under procDir but self (kernel threads
// and the pod's pause process aside, and processes that share the scanner's own root): the
// Go build info of each executable, then the SDKs' files in the process's root near its
// working directory, its script and jar arguments and the well-known app directories. Every
// process's own places are searched before any well-known directory, so one large image
// cannot use up the limits of the others. What it could not read is a Skip with the reason.
func ScanProcesses(ctx context.Context, procDir string, self int, lim Limits) Report {
	s := newScan(ctx, procDir, lim)
	pids, err := listPIDs(procDir)
	if err != nil {
		s.skip(0, procDir, fmt.Sprintf("cannot list processes: %v", err))
		return s.report
	}
	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.root.Close()
		}
	}()
	for _, pid := range pids {
		if pid == self {
			continue
		}
		if s.stop() {
			s.skip(pid, "", "not scanned: "+s.stopped)
			continue
		}
		if p := s.open(pid, self); p != nil {
			procs = append(procs, p)
			s.goBuildInfo(p, filepath.Join(procDir, strconv.Itoa(pid), "exe"))
			s.searchOwnPlaces(p)
		}
	}
	for _, p := range procs {
		if s.stopAt(p, "") {
			break
		}
		s.searchWellKnown(p)
	}
	if len(procs) == 0 && len(s.report.Skipped) == 0 {
		s.skip(0, procDir, "no process to scan but the scanner itself: it does not share the app's process namespace")
	}
	return s.report
}

// scan is the state of one ScanProcesses.
type scan struct {
	ctx     context.Context
	procDir string
	lim     Limits
	files   int
	// stopped is why the scan stopped early ("" while it runs).
	stopped string
	report  Report
	// roots are the distinct root directories seen, so processes of one container share
	// their findings; visited and found are keyed by root index and path.
	roots   []fs.FileInfo
	visited map[string]bool
	found   map[string]bool
}

func newScan(ctx context.Context, procDir string, lim Limits) *scan {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultMaxDepth
	}
	if lim.MaxFiles <= 0 {
		lim.MaxFiles = DefaultMaxFiles
	}
	if lim.Deadline.IsZero() {
		lim.Deadline = time.Now().Add(DefaultTimeout)
	}
	return &scan{ctx: ctx, procDir: procDir, lim: lim, visited: map[string]bool{}, found: map[string]bool{}}
}

func (s *scan) skip(pid int, p, reason string) {
	s.report.Skipped = append(s.report.Skipped, Skip{PID: pid, Path: p, Reason: reason})
}

// stop says whether the scan must end: cancelled, past its deadline, or out of files.
func (s *scan) stop() bool {
	if s.stopped != "" {
		return true
	}
	switch {
	case s.ctx.Err() != nil:
		s.stopped = fmt.Sprintf("the scan was cancelled: %v", s.ctx.Err())
	case time.Now().After(s.lim.Deadline):
		s.stopped = "the scan's deadline was reached"
	case s.files >= s.lim.MaxFiles:
		s.stopped = fmt.Sprintf("the scan's limit of %d files was reached", s.lim.MaxFiles)
	}
	return s.stopped != ""
}

// stopAt is stop, recording once where the scan stopped.
func (s *scan) stopAt(p *proc, where string) bool {
	if s.stopped != "" {
		return true
	}
	if s.stop() {
		s.skip(p.pid, where, s.stopped+": the rest was not read")
		return true
	}
	return false
}

// count adds n examined entries.
func (s *scan) count(n int) { s.files += n }

// proc is one process being scanned.
type proc struct {
	pid int
	// exe is its executable as the process sees it, name that file's base name.
	exe, name string
	cwd       string
	args      []string
	root      *appRoot
	rootIndex int
	// depthSkipped records the search roots whose depth limit was already reported.
	depthSkipped map[string]bool
}

// open reads what /proc says of one process and opens its root; nil when it is not one to
// scan or cannot be.
func (s *scan) open(pid, self int) *proc {
	dir := filepath.Join(s.procDir, strconv.Itoa(pid))
	exe, err := os.Readlink(filepath.Join(dir, "exe"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // a kernel thread, or a process that has just exited
	case err != nil:
		s.skip(pid, filepath.Join(dir, "exe"), unreadable(err, processUID(dir)))
		return nil
	}
	exe = strings.TrimSuffix(exe, " (deleted)")
	p := &proc{pid: pid, exe: exe, name: path.Base(exe), depthSkipped: map[string]bool{}}
	if p.name == "pause" {
		return nil // the pod's sandbox
	}
	rootDir := filepath.Join(dir, "root")
	fi, err := os.Stat(rootDir)
	if err != nil {
		s.skip(pid, rootDir, unreadable(err, processUID(dir)))
		return nil
	}
	if own, err := os.Stat(filepath.Join(s.procDir, strconv.Itoa(self), "root")); err == nil && os.SameFile(fi, own) {
		return nil // a process of the scanner's own container
	}
	if p.root, err = openAppRoot(rootDir); err != nil {
		s.skip(pid, rootDir, unreadable(err, processUID(dir)))
		return nil
	}
	p.rootIndex = s.rootIndex(fi)
	if cwd, err := os.Readlink(filepath.Join(dir, "cwd")); err == nil {
		p.cwd = cwd
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil {
		p.args = splitCmdline(b)
	}
	return p
}

func (s *scan) rootIndex(fi fs.FileInfo) int {
	for i, r := range s.roots {
		if os.SameFile(r, fi) {
			return i
		}
	}
	s.roots = append(s.roots, fi)
	return len(s.roots) - 1
}

// add records an SDK found for p at the resolved path where, once per root.
func (s *scan) add(p *proc, where string, sdk SDK) {
	key := fmt.Sprintf("%d|%s|%s|%s", p.rootIndex, where, sdk.Module, sdk.Version)
	if s.found[key] {
		return
	}
	s.found[key] = true
	sdk.PID, sdk.Process = p.pid, p.name
	s.report.SDKs = append(s.report.SDKs, sdk)
}

// unreadable says why a process's file could not be read, naming the users when they differ:
// the usual cause is a process of another user, which /proc does not open to the scanner.
func unreadable(err error, procUID int) string { return unreadableAs(err, procUID, os.Geteuid()) }

func unreadableAs(err error, procUID, me int) string {
	if errors.Is(err, fs.ErrPermission) {
		if procUID >= 0 && procUID != me {
			return fmt.Sprintf("permission denied: the process runs as uid %d and the scanner as uid %d; run the scanner as uid %d", procUID, me, procUID)
		}
		return fmt.Sprintf("permission denied: %v", err)
	}
	return err.Error()
}

// processUID reads the real uid of a process from its status file; -1 when it cannot.
func processUID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Uid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if uid, err := strconv.Atoi(f[0]); err == nil {
					return uid
				}
			}
		}
	}
	return -1
}

func listPIDs(procDir string) ([]int, error) {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// splitCmdline splits /proc/<pid>/cmdline, whose arguments each end in a NUL.
func splitCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}
