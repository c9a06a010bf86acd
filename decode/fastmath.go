package decode

import "math"

// logTab[i] = log(1 + i/4096) and logDif[i] = logTab[i+1] − logTab[i], for
// i < 4096: the table of log32.
var logTab, logDif [4096]float64

func init() {
	for i := range logTab {
		logTab[i] = math.Log1p(float64(i) / 4096)
		logDif[i] = math.Log1p(float64(i+1)/4096) - logTab[i]
	}
}

// log32 returns log(x) for a positive normal float32 x by linear
// interpolation in a 4096-entry table of log(1 + i/4096) over the mantissa:
// x = (1 + (i + f)/4096)·2^e, log x ≈ e·ln 2 + T_i + f·(T_{i+1} − T_i), with
// absolute error below h²/8·max|log”| = 2^−27 ≈ 7.5e-9 (h = 1/4096). It is
// several times cheaper than math.Log and serves the per-step entropies,
// where float32 beliefs carry 6e-8 relative error anyway.
func log32(x float32) float64 {
	b := math.Float32bits(x)
	e := int(b>>23&0xff) - 127
	m := b & 0x7fffff
	i := m >> 11
	f := float64(m&0x7ff) * (1.0 / 2048)
	return float64(e)*math.Ln2 + logTab[i] + f*logDif[i]
}

// entropy returns −Σ p log p in nats for a float32 distribution, with
// log32; entries below the smallest normal float32 count as 0.
func entropy(p []float32) float64 {
	var h float64
	for _, x := range p {
		if x >= 0x1p-126 {
			h -= float64(x) * log32(x)
		}
	}
	return h
}
