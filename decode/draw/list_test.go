package draw

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// listRows returns test rows for the list functions: spread, near-uniform
// (large nuclei), ties with zeros, one dominant token, many zeros, and
// short rows, each normalised in float64.
func listRows(rng *rand.Rand) [][]float32 {
	var rows [][]float32
	for trial := 0; trial < 300; trial++ {
		K := []int{5, 16, 63, 64, 65, 200, 1000}[trial%7]
		p := make([]float32, K)
		var z float64
		for v := range p {
			var x float64
			switch (trial / 7) % 5 {
			case 0:
				x = math.Exp(3 * rng.NormFloat64())
			case 1:
				x = 1 + 0.1*rng.Float64()
			case 2:
				x = float64(rng.IntN(4))
			case 3:
				x = rng.Float64() * 1e-3
				if v == K/3 {
					x = 1
				}
			case 4:
				if rng.IntN(3) == 0 {
					x = rng.ExpFloat64()
				}
			}
			p[v] = float32(x)
			z += float64(p[v])
		}
		if z == 0 {
			p[0], z = 1, 1
		}
		for v := range p {
			p[v] = float32(float64(p[v]) / z)
		}
		rows = append(rows, p)
	}
	return rows
}

// TestNucleusListMatchesNucleus checks NucleusList against Nucleus on the
// same row (a copy, cut in place), in either build (both use the same
// threshold): the list must be the cut row's nonzero entries in increasing
// order with the same bits, sum the float64 sum of the cut row in index
// order, bit for bit (within 1e-15 relative where the AVX-512 compaction
// kernel sums in lanes), and changed Nucleus's report; q must not change.
func TestNucleusListMatchesNucleus(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 5))
	for i, p := range listRows(rng) {
		for _, topP := range []float64{0, 0.01, 0.3, 0.9, 0.95, 0.999, 1} {
			K := len(p)
			cut := append([]float32(nil), p...)
			orig := append([]float32(nil), p...)
			wantChanged := Nucleus(cut, topP, make([]float32, K))
			var wantSum float64
			for _, x := range cut {
				wantSum += float64(x)
			}
			ids, vals := make([]int32, K), make([]float32, K)
			qmax := float32(-1) // unknown, or the row's maximum
			if i%2 == 0 {
				qmax = slices.Max(p)
			}
			n, sum, changed := NucleusList(p, qmax, topP, make([]float32, K), ids, vals)
			for v := range p {
				if math.Float32bits(p[v]) != math.Float32bits(orig[v]) {
					t.Fatalf("row %d: q changed at %d", i, v)
				}
			}
			// the compaction kernel sums in float64 lanes: another order,
			// within len·2⁻⁵³ relative (and exact, so the same bits, when
			// the entries span fewer than 2^29, as float32 sums in float64
			// then are)
			sumOK := math.Float64bits(sum) == math.Float64bits(wantSum) ||
				haveCompress && math.Abs(sum-wantSum) <= 1e-15*wantSum
			if changed != wantChanged || !sumOK {
				t.Fatalf("row %d topP %g: changed %v sum %.17g, Nucleus %v %.17g", i, topP, changed, sum, wantChanged, wantSum)
			}
			j := 0
			for v, x := range cut {
				if x == 0 {
					continue
				}
				if j >= n || int(ids[j]) != v || math.Float32bits(vals[j]) != math.Float32bits(x) {
					t.Fatalf("row %d topP %g: list entry %d differs from the cut row's token %d", i, topP, j, v)
				}
				j++
			}
			if j != n {
				t.Fatalf("row %d topP %g: %d list entries, cut row has %d nonzero", i, topP, n, j)
			}
		}
	}
}

// entropyScalarRef is Entropy's pure-Go path (fastmath.go), verbatim: the
// reference for TestEntropyList.
func entropyScalarRef(p []float32) float64 {
	var h0, h1, h2, h3 float64
	n := len(p) &^ 3
	for j := 0; j < n; j += 4 {
		q := p[j : j+4 : j+4]
		h0 += plogp(q[0])
		h1 += plogp(q[1])
		h2 += plogp(q[2])
		h3 += plogp(q[3])
	}
	for _, x := range p[n:] {
		h0 += plogp(x)
	}
	return -((h0 + h1) + (h2 + h3))
}

// TestEntropyList checks EntropyList on the nonzero entries of a row
// against Entropy's pure-Go path on the whole row: the same bits in the
// default build; in the simd build (vector kernel for 8 or more entries)
// within 2e-6·max(1, H), twice entropyVec's documented tolerance to the
// table version, and against a float64 math.Log reference within 1e-5·max(1, H)
// (the table's 2e-7 nats plus the kernel's).
func TestEntropyList(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 6))
	for i, p := range listRows(rng) {
		var ids []int32
		var vals []float32
		var ref float64
		for v, x := range p {
			if x != 0 {
				ids, vals = append(ids, int32(v)), append(vals, x)
				ref -= float64(x) * math.Log(float64(x))
			}
		}
		got, want := EntropyList(ids, vals, len(p)), entropyScalarRef(p)
		if haveFMA && len(vals) >= 8 {
			if !(math.Abs(got-want) <= 2e-6*max(1, want)) || !(math.Abs(got-ref) <= 1e-5*max(1, ref)) {
				t.Fatalf("row %d: EntropyList %.17g, Go path %.17g, reference %.17g", i, got, want, ref)
			}
			continue
		}
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("row %d: EntropyList %.17g, Entropy %.17g", i, got, want)
		}
	}
}

// TestSharpenMax checks SharpenMax against Sharpen: the same dst bits, and
// the returned value the largest entry of dst (slices.Max), on the list
// test rows at several temperatures, in either build.
func TestSharpenMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 7))
	for i, p := range listRows(rng) {
		for _, T := range []float64{0.05, 0.2, 1, 3, math.Inf(1)} {
			a, b := make([]float32, len(p)), make([]float32, len(p))
			Sharpen(a, p, T)
			mx := SharpenMax(b, p, T, slices.Max(p))
			for v := range a {
				if math.Float32bits(a[v]) != math.Float32bits(b[v]) {
					t.Fatalf("row %d T %g: entry %d: %g vs Sharpen %g", i, T, v, b[v], a[v])
				}
			}
			if mx != slices.Max(a) {
				t.Fatalf("row %d T %g: max %g, dst's %g", i, T, mx, slices.Max(a))
			}
		}
	}
}

// TestSharpenIntegerPowers checks Sharpen at temperatures whose inverse is
// an integer (the simd kernel's repeated-squaring path, sharpenPow; the
// logarithm path elsewhere) against math.Pow in float64: within 1e-5
// relative for results above 1e-30 (Sharpen's documented tolerance), 1e-30
// absolute below, on rows with zeros and a wide spread; and equal entries
// (the maximum, and another value, in the vector part and in the tail)
// must give equal results, as the top-k tie rule needs.
func TestSharpenIntegerPowers(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 9))
	for _, n := range []int{8, 64, 1000, 1003} {
		for _, T := range []float64{0.5, 1.0 / 3, 0.25, 0.2, 0.1, 0.0625} {
			p, dst := make([]float32, n), make([]float32, n)
			var z, mx float64
			for v := range p {
				if rng.IntN(7) != 0 {
					p[v] = float32(math.Exp(2 * rng.NormFloat64()))
				}
				z += float64(p[v])
			}
			for v := range p {
				p[v] = float32(float64(p[v]) / z)
				mx = max(mx, float64(p[v]))
			}
			ref := make([]float64, n)
			var s float64
			for v, x := range p {
				if x >= 0x1p-126 {
					ref[v] = math.Pow(float64(x)/mx, 1/T)
				}
				s += ref[v]
			}
			// ties at the maximum and elsewhere, in the vector part and in
			// the tail: equal entries must give equal results
			p[0], p[n-1] = float32(mx), float32(mx)
			p[1], p[n-2] = p[2], p[2]
			ref[0], ref[n-1], ref[1], ref[n-2] = 1, 1, ref[2], ref[2]
			s = 0
			for _, r := range ref {
				s += r
			}
			Sharpen(dst, p, T)
			if dst[0] != dst[n-1] || dst[1] != dst[n-2] || dst[1] != dst[2] {
				t.Fatalf("n=%d T=%v: equal entries differ: %v %v, %v %v %v", n, T, dst[0], dst[n-1], dst[1], dst[2], dst[n-2])
			}
			for v := range p {
				want := ref[v] / s
				tol := 1e-5 * want
				if want < 1e-30 {
					tol = 1e-30
				}
				if !(math.Abs(float64(dst[v])-want) <= tol) {
					t.Fatalf("n=%d T=%v entry %d: %v, want %v", n, T, v, dst[v], want)
				}
			}
		}
	}
}

// BenchmarkNucleusList compares LRD's old soft-input nucleus (copy the
// row, Nucleus, sum the cut row) with NucleusList (the kept list and its
// sum, q left as it is: Dream's path), and the old soft-input row with
// NucleusWeights (LRD's path), on a near-uniform row of K = 1000 at top-p
// 0.9 (LRD's default; most tokens kept).
//
//	GOEXPERIMENT=simd go test ./decode/draw -run '^$' -bench '^BenchmarkNucleusList$'
func BenchmarkNucleusList(b *testing.B) {
	const K = 1000
	rng := rand.New(rand.NewPCG(6, 6))
	p := make([]float32, K)
	var z float64
	for v := range p {
		p[v] = float32(math.Exp(0.5 * rng.NormFloat64()))
		z += float64(p[v])
	}
	for v := range p {
		p[v] = float32(float64(p[v]) / z)
	}
	row, scratch := make([]float32, K), make([]float32, K)
	ids, vals := make([]int32, K), make([]float32, K)
	var sink float64
	b.Run("old", func(b *testing.B) {
		for b.Loop() {
			copy(row, p)
			Nucleus(row, 0.9, scratch)
			var c float64
			for _, x := range row {
				c += float64(x)
			}
			sink += c
		}
	})
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			_, c, _ := NucleusList(p, slices.Max(p), 0.9, scratch, ids, vals)
			sink += c
		}
	})
	// LRD's whole soft-input row: old (copy, Nucleus, sum, scale) and new
	// (NucleusWeights)
	b.Run("row-old", func(b *testing.B) {
		for b.Loop() {
			copy(row, p)
			Nucleus(row, 0.9, scratch)
			var c float64
			for _, x := range row {
				c += float64(x)
			}
			sc := 0.4 / c
			for v, x := range row {
				row[v] = float32(float64(x) * sc)
			}
			sink += c
		}
	})
	b.Run("row-new", func(b *testing.B) {
		for b.Loop() {
			sink += NucleusWeights(row, p, slices.Max(p), 0.9, 0.4, scratch)
		}
	})
	_ = sink
}

// BenchmarkSharpenPow compares Sharpen at T = 0.2 (1/T = 5: the simd
// kernel's repeated squaring) with T = 0.2·(1 + 1e-9) (not an integer
// inverse: the logarithm–exponential path, the old cost at T = 0.2) on
// rows of K = 1000. Both run the same path in the default build.
//
//	GOEXPERIMENT=simd go test ./decode/draw -run '^$' -bench '^BenchmarkSharpenPow$'
func BenchmarkSharpenPow(b *testing.B) {
	const K = 1000
	rng := rand.New(rand.NewPCG(6, 7))
	p, dst := make([]float32, K), make([]float32, K)
	for v := range p {
		p[v] = float32(rng.ExpFloat64() / K)
	}
	b.Run("log", func(b *testing.B) {
		for b.Loop() {
			Sharpen(dst, p, 0.2*(1+1e-9))
		}
	})
	b.Run("pow", func(b *testing.B) {
		for b.Loop() {
			Sharpen(dst, p, 0.2)
		}
	})
}

// TestSampleList checks SampleList against soft.Sample with equal random
// streams: the same index and the same state afterwards (one variate), on
// the list test rows (normalised: the vector path where it runs), on
// their positive entries only, on rows with an entry below 2⁻²⁹ and on
// unnormalised rows with a total above 2 (both outside the exact case:
// soft.Sample is called), and on rows of equal entries (every boundary a
// tie of running sums).
func TestSampleList(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 11))
	var cases [][]float32
	for _, p := range listRows(rng) {
		cases = append(cases, p)
		var pos []float32
		for _, x := range p {
			if x > 0 {
				pos = append(pos, x)
			}
		}
		cases = append(cases, pos)
		tiny := append([]float32(nil), p...)
		tiny[len(tiny)/2] = 1e-12
		cases = append(cases, tiny)
		big := append([]float32(nil), p...)
		for v := range big {
			big[v] *= 3
		}
		cases = append(cases, big)
	}
	for _, n := range []int{64, 100, 1000} {
		eq := make([]float32, n)
		for v := range eq {
			eq[v] = 1 / float32(n)
		}
		cases = append(cases, eq)
	}
	if haveFMA { // the vector path must serve the exact case
		if _, ok := sampleListVec(rand.New(rand.NewPCG(1, 1)), cases[len(cases)-1]); !ok {
			t.Fatalf("equal entries: the vector path declined")
		}
	}
	for c, p := range cases {
		for s := uint64(0); s < 20; s++ {
			r1, r2 := rand.New(rand.NewPCG(s, 3)), rand.New(rand.NewPCG(s, 3))
			a, b := int(soft.Sample(r1, p)), SampleList(r2, p)
			if a != b || r1.Uint64() != r2.Uint64() {
				t.Fatalf("case %d seed %d: SampleList %d, soft.Sample %d (or a different stream)", c, s, b, a)
			}
		}
	}
}

// TestNucleusWeights checks NucleusWeights against LRD's old soft-input
// procedure, verbatim (copy q, Nucleus, sum the cut row in index order,
// scale every entry by a/c): the same bits and the same c in the default
// build; in the simd build c within 1e-15 relative and each entry within
// one float32 ulp (the product of the same value by a scale within 1e-15;
// the same bits when c is), on the list test rows with and without a
// known maximum, at several top-p values.
func TestNucleusWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 12))
	for i, p := range listRows(rng) {
		K := len(p)
		for _, topP := range []float64{0, 0.01, 0.3, 0.9, 0.95, 0.999, 1} {
			a := 0.3 + 0.1*float64(i%5)
			row := append([]float32(nil), p...)
			Nucleus(row, topP, make([]float32, K))
			var c float64
			for _, x := range row {
				c += float64(x)
			}
			sc := a / c
			for v, x := range row {
				row[v] = float32(float64(x) * sc)
			}
			qmax := float32(-1)
			if i%2 == 1 {
				qmax = slices.Max(p)
			}
			dst := make([]float32, K)
			for v := range dst {
				dst[v] = 7 // every entry must be written
			}
			got := NucleusWeights(dst, p, qmax, topP, a, make([]float32, K))
			exact := math.Float64bits(got) == math.Float64bits(c)
			if !exact && !(haveFMA && math.Abs(got-c) <= 1e-15*c) {
				t.Fatalf("row %d topP %g: c %.17g, old %.17g", i, topP, got, c)
			}
			for v := range dst {
				same := math.Float32bits(dst[v]) == math.Float32bits(row[v])
				if !same && (exact || !(math.Abs(float64(dst[v]-row[v])) <= float64(row[v])*0x1p-23)) {
					t.Fatalf("row %d topP %g entry %d: %g, old %g", i, topP, v, dst[v], row[v])
				}
			}
		}
	}
}
