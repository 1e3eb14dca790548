//go:build !benchprofile

package main

// startProfile does nothing: only a bench build (-tags benchprofile) profiles itself.
func startProfile() func() { return func() {} }
