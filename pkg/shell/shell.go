// Package shell writes words for the POSIX shell commands the plugin prints as fixes and next
// steps, so a user can paste them whatever the values hold.
package shell

import (
	"regexp"
	"strings"
)

var safe = regexp.MustCompile(`^[A-Za-z0-9_./:=@,+%-]+$`)

// Quote quotes s for a POSIX shell when it holds anything beyond a safe set.
func Quote(s string) string {
	if safe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
