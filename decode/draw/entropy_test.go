package draw

import (
	"math"
	"math/rand/v2"
	"testing"
)

// entropyRow fills p with a normalised row of the given shape: flat,
// peaked (log-normal weights with spread s), with exact zeros, subnormal
// entries, or one-hot.
func entropyRow(rng *rand.Rand, p []float32, shape int) {
	var z float64
	for v := range p {
		switch shape % 6 {
		case 0:
			p[v] = 1
		case 1:
			p[v] = float32(rng.ExpFloat64())
		case 2:
			p[v] = float32(math.Exp(rng.NormFloat64() * 6))
		case 3:
			p[v] = float32(math.Exp(rng.NormFloat64() * 2))
			if rng.IntN(3) == 0 {
				p[v] = 0
			}
		case 4:
			p[v] = float32(rng.Float64())
			if rng.IntN(10) == 0 {
				p[v] = 0x1p-140
			}
		case 5:
			p[v] = 0
		}
		z += float64(p[v])
	}
	if z == 0 {
		p[rng.IntN(len(p))], z = 1, 1
	}
	for v := range p {
		p[v] = float32(float64(p[v]) / z)
	}
}

// entropyKernels are the vector entropy kernels this CPU runs.
func entropyKernels() map[string]func([]float32) float64 {
	k := map[string]func([]float32) float64{}
	if haveFMA {
		k["tab"] = entropyTab
	}
	if haveEntropy512 {
		k["tab512"] = entropyTab512
	}
	return k
}

// TestEntropyTabAccuracy: each vector kernel (entropyTab, entropyTab512) against −Σ p log p
// computed in float64 with math.Log (entropyF64, an independent
// reference), within 1e-6·max(1, H) nats, over every length 8..70 (all tail
// cases of the 16-entry loop, the 8-entry vector and the scalar rest) and
// longer rows, in six shapes. One-hot rows give |H| ≤ 1e-7 (the
// polynomial's log 1 is within its 2e-8 error of 0) and all-zero rows 0.
func TestEntropyTabAccuracy(t *testing.T) {
	if !haveFMA {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	for name, entropyTab := range entropyKernels() {
		testEntropyTab(t, name, entropyTab)
	}
}

func testEntropyTab(t *testing.T, name string, entropyTab func([]float32) float64) {
	rng := rand.New(rand.NewPCG(11, 11))
	lens := []int{1000, 1003, 4099, 32000}
	for n := 8; n <= 70; n++ {
		lens = append(lens, n)
	}
	for _, n := range lens {
		p := make([]float32, n)
		for shape := range 12 {
			entropyRow(rng, p, shape)
			want := entropyF64(p)
			got := entropyTab(p)
			if !(math.Abs(got-want) <= 1e-6*max(1, want)) {
				t.Fatalf("%s n=%d shape %d: %v, float64 %v", name, n, shape, got, want)
			}
		}
		clear(p)
		if h := entropyTab(p); h != 0 {
			t.Fatalf("%s n=%d zero row: %v", name, n, h)
		}
		p[rng.IntN(n)] = 1
		if h := entropyTab(p); !(math.Abs(h) <= 1e-7) {
			t.Fatalf("%s n=%d one-hot row: %v", name, n, h)
		}
	}
}

// TestEntropyTabLog: the kernel's logarithm, read off one-entry sums: for
// a row of 8 equal entries x and 24 zeros (so the widest loop runs), each
// kernel returns −8·x·log x; over x spread across the float32 range the
// implied log x is within 3e-7·max(1, |log x|) of math.Log.
func TestEntropyTabLog(t *testing.T) {
	if !haveFMA {
		t.Skip("no vector kernel in this build or on this CPU")
	}
	for name, entropyTab := range entropyKernels() {
		rng := rand.New(rand.NewPCG(12, 12))
		p := make([]float32, 32)
		for range 20000 {
			x := float32(math.Exp(-rng.Float64() * 80))
			for v := range 8 {
				p[v] = x
			}
			got := -entropyTab(p) / (8 * float64(x))
			want := math.Log(float64(x))
			if !(math.Abs(got-want) <= 3e-7*max(1, math.Abs(want))) {
				t.Fatalf("%s: log %v: %v, want %v", name, x, got, want)
			}
		}
	}
}

// BenchmarkEntropyKernels compares, on a 1000-entry row, the simd build's
// kernels: tab512 and tab (entropyTab512, entropyTab: the current ones),
// cephes (entropyVec, the previous one), and the default build's table
// path: go (entropyTable, with plogpTab) and go-old (entropyGo, the code of
// before).
func BenchmarkEntropyKernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	p := make([]float32, 1000)
	entropyRow(rng, p, 1)
	if haveEntropy512 {
		b.Run("tab512", func(b *testing.B) {
			for b.Loop() {
				entropyTab512(p)
			}
		})
	}
	if haveFMA {
		b.Run("tab", func(b *testing.B) {
			for b.Loop() {
				entropyTab(p)
			}
		})
		b.Run("cephes", func(b *testing.B) {
			for b.Loop() {
				entropyVec(p)
			}
		})
	}
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			entropyTable(p)
		}
	})
	b.Run("go-old", func(b *testing.B) {
		for b.Loop() {
			entropyGo(p)
		}
	})
}

// TestPlogpTabUnchanged: plogpTab, the default build's entropy term, is
// plogp (x·log32 x) bit for bit: over 10⁶ random float32 bit patterns of
// non-negative values (every exponent, subnormals included) and the
// special values 0, −0, the smallest subnormal, the smallest normal, 1,
// the largest float32 and +Inf.
func TestPlogpTabUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	check := func(x float32) {
		if a, b := plogpTab(x), plogp(x); math.Float64bits(a) != math.Float64bits(b) && !(math.IsNaN(a) && math.IsNaN(b)) {
			t.Fatalf("plogpTab(%v) = %v, plogp %v", x, a, b)
		}
	}
	for _, x := range []float32{0, float32(math.Copysign(0, -1)), 0x1p-149, 0x1p-126, 1, math.MaxFloat32, float32(math.Inf(1))} {
		check(x)
	}
	for range 1000000 {
		check(math.Float32frombits(uint32(rng.Uint64()) & 0x7fffffff))
	}
}

// TestEntropyDefaultUnchanged: the table path entropyTable (all of Entropy
// in the default build) is the code of before (entropyGo: the four
// accumulators over plogp, verbatim) bit for bit, on 3000 random rows of
// the shapes of entropyRow and lengths 1..1003.
func TestEntropyDefaultUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	for trial := range 3000 {
		p := make([]float32, 1+rng.IntN(1003))
		entropyRow(rng, p, trial)
		if a, b := entropyTable(p), entropyGo(p); math.Float64bits(a) != math.Float64bits(b) {
			t.Fatalf("trial %d (n=%d): entropyTable %v, before %v", trial, len(p), a, b)
		}
		if a, b := Entropy(p), entropyGo(p); !haveFMA && math.Float64bits(a) != math.Float64bits(b) {
			t.Fatalf("trial %d (n=%d): Entropy %v, before %v", trial, len(p), a, b)
		}
	}
}
