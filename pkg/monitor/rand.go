package monitor

import "math/rand/v2"

// randFloat is the jitter's randomness: it needs no seed and no secrecy.
func randFloat() float64 { return rand.Float64() } //nolint:gosec // jitter, not a secret
