// Package layering holds no code: its test checks that the library's
// imports point the one way docs/design.md states,
//
//	soft → kernels, oracle, hybrid → decode → degrade, nn → experiments (with experiments/lab) → cmd/softdiff,
//
// with the leaves data and internal/simdgemm importing nothing of softdiff.
package layering
