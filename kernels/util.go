package kernels

import "sort"

func sortIdx(idx []int, less func(a, b int) bool) {
	sort.SliceStable(idx, func(i, j int) bool { return less(idx[i], idx[j]) })
}

// isProduct reports whether length = n·d for n, d ≥ 1, without overflow.
func isProduct(length, n, d int) bool {
	return n >= 1 && d >= 1 && length%d == 0 && length/d == n
}
