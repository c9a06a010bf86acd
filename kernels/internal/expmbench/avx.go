package main

import "github.com/softdiff/softdiff/internal/simdgemm"

// avx names the micro-kernel the kNN build runs on.
func avx() string {
	if simdgemm.Micro6x16Vec != nil {
		return "archsimd avx2+fma"
	}
	return "pure Go"
}
