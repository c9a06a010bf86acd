package main

import "github.com/softdiff/softdiff/internal/simdgemm"

// avx names the micro-kernel the kNN build runs on.
func avx() string {
	if simdgemm.Vector {
		return "archsimd avx2+fma"
	}
	return "pure Go"
}
