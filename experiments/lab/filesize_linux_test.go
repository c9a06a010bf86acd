//go:build linux

package lab

import (
	"syscall"
	"testing"
)

// limitFileSize sets the process's file-size limit (RLIMIT_FSIZE) to zero,
// so that every write of a non-empty regular file fails with EFBIG, for
// root too (the Go runtime ignores SIGXFSZ), and returns the function that
// restores the limit. Tests that use it must not run in parallel.
func limitFileSize(t *testing.T) (restore func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = 0
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Fatal(err)
		}
	}
}
