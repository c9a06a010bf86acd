//go:build !linux

package lab

import "testing"

// limitFileSize is Linux-only (RLIMIT_FSIZE); elsewhere the test that
// needs it as root is skipped.
func limitFileSize(t *testing.T) (restore func()) {
	t.Helper()
	t.Skip("running as root without RLIMIT_FSIZE support: no way to make a write fail")
	return func() {}
}
