//go:build !linux

package decode_test

import "time"

// threadCPU is unavailable off Linux; the benchmark then reports wall time only.
func threadCPU() (time.Duration, bool) { return 0, false }
