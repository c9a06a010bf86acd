package kernels

import "math"

// chebExpCoeffs returns the Chebyshev coefficients of x ↦ e^{z(x−1)} on
// [−1, 1]: c_0 = e^{−z}I_0(z), c_k = 2e^{−z}I_k(z), truncated at the first N
// with Σ_{k>N} c_k ≤ tol (the coefficients are positive and sum to 1, and
// |T_k| ≤ 1, so the truncation error of the series is at most tol in the
// 2-norm for a symmetric argument). The modified Bessel functions come from
// Miller's backward recurrence I_{k−1} = (2k/z) I_k + I_{k+1}, normalised
// by e^z = I_0 + 2 Σ I_k. dst is reused when large enough.
func chebExpCoeffs(dst []float64, z, tol float64) []float64 {
	if !(z >= 0) || math.IsInf(z, 0) {
		panic("kernels: chebExpCoeffs: z must be finite and ≥ 0")
	}
	if z == 0 {
		return append(dst[:0], 1)
	}
	m := int(12*math.Sqrt(z)+40) + int(math.Min(z, 40))
	if cap(dst) < m+1 {
		dst = make([]float64, m+1)
	}
	dst = dst[:m+1]
	next, cur := 0.0, 1e-300
	dst[m] = cur
	for k := m; k >= 1; k-- {
		prev := (2*float64(k)/z)*cur + next
		next, cur = cur, prev
		dst[k-1] = cur
		if cur > 1e200 {
			for j := k - 1; j <= m; j++ {
				dst[j] *= 1e-200
			}
			next *= 1e-200
			cur *= 1e-200
		}
	}
	var s float64
	for k := m; k >= 1; k-- {
		s += 2 * dst[k]
	}
	s += dst[0]
	dst[0] /= s
	for k := 1; k <= m; k++ {
		dst[k] = 2 * dst[k] / s
	}
	var tail float64
	n := m
	for n > 0 && tail+dst[n] <= tol {
		tail += dst[n]
		n--
	}
	return dst[:n+1]
}
