package kernels

import (
	"math"
	"testing"
)

func TestChebExpCoeffs(t *testing.T) {
	// Reference values e^{−z} I_k(z): scipy.special.ive(k, z), recorded from
	// the closed forms I_0(1) = 1.2660658777520082, I_1(1) = 0.5651591039924851,
	// I_0(10)e^{−10} = 0.1278333371634286 (Abramowitz & Stegun table 9.8).
	c := chebExpCoeffs(nil, 1, 1e-16)
	if !(math.Abs(c[0]-1.2660658777520082*math.Exp(-1)) <= 1e-14) || !(math.Abs(c[1]-2*0.5651591039924851*math.Exp(-1)) <= 1e-14) {
		t.Errorf("z=1: c0=%v c1=%v", c[0], c[1])
	}
	c = chebExpCoeffs(nil, 10, 1e-16)
	if !(math.Abs(c[0]-0.1278333371634286) <= 1e-13) {
		t.Errorf("z=10: c0=%v", c[0])
	}
	for _, z := range []float64{1e-8, 0.3, 5, 100, 3000} {
		c = chebExpCoeffs(nil, z, 1e-10)
		var s float64
		for _, x := range c {
			if !(x >= 0) {
				t.Fatalf("z=%v: negative coefficient", z)
			}
			s += x
		}
		if !(math.Abs(s-1) <= 1e-10) {
			t.Errorf("z=%v: coefficients sum to %v", z, s)
		}
		// e^{z(x−1)} at x = cos θ equals Σ c_k cos kθ.
		for _, th := range []float64{0.3, 1.7, 3} {
			var v float64
			for k, x := range c {
				v += x * math.Cos(float64(k)*th)
			}
			if want := math.Exp(z * (math.Cos(th) - 1)); !(math.Abs(v-want) <= 2e-10) {
				t.Errorf("z=%v θ=%v: series %v exact %v", z, th, v, want)
			}
		}
	}
}
