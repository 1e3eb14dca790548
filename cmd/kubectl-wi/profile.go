//go:build benchprofile

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of the whole run to $WI_CPUPROFILE, in a binary built
// with -tags benchprofile (make bench-status BENCH_PROFILE=FILE); the released binary has
// no such code.
func startProfile() func() {
	path := os.Getenv("WI_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "WI_CPUPROFILE: %v\n", err)
		os.Exit(1)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "WI_CPUPROFILE: %v\n", err)
		}
	}
}
