package decode

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/softdiff/softdiff/decode/draw"
	"github.com/softdiff/softdiff/soft"
)

// dreamFilteredOld is dreamRun.filtered before filteredList (commit
// d3e49dc), verbatim but for the receiver's fields passed in: the
// reference for TestDreamListMatches.
func dreamFilteredOld(d *dreamRun, p []float32) {
	q := d.q
	if d.Temperature > 0 && d.Temperature != 1 {
		draw.Sharpen(q, p, d.Temperature)
	} else {
		copy(q, p)
	}
	changed := false
	if d.ord != nil {
		K := len(q)
		k := min(16, K)
		ids, vals := d.ord[:k], d.oval[:k]
		soft.TopK(ids, vals, q)
		var c float64
		keep := -1
		for j, x := range vals {
			if c > d.TopP {
				keep = j
				break
			}
			c += float64(x)
		}
		switch {
		case keep >= 0: // the nucleus lies within the top 16
			clear(q)
			for j, v := range ids[:keep] {
				q[v] = vals[j]
			}
			changed = true
		case k < K: // a larger nucleus: weighted selection, O(K)
			changed = draw.Nucleus(q, d.TopP, d.oval)
		}
	}
	if d.kids != nil {
		soft.TopK(d.kids, d.kval, q)
		clear(q)
		for a, v := range d.kids {
			q[v] = d.kval[a]
		}
		changed = true
	}
	if changed {
		var sum float64
		for _, x := range q {
			sum += float64(x)
		}
		inv := float32(1 / sum)
		for v := range q {
			q[v] *= inv
		}
	}
}

// TestDreamListMatches checks filteredList against the old row filter
// (dreamFilteredOld, verbatim) on rows with ties, zeros, one dominant
// token, near-uniform rows (large nuclei) and short rows (K ≤ 16), at
// several temperatures and top-p values: the list must hold exactly the
// old row's nonzero entries with the same float32 bits (kept zeros
// allowed), −1 must mean the old row was left unnormalised and equals
// d.q, soft.Sample on the list must draw the old row's token from the same
// random stream, and draw.EntropyList must equal draw.Entropy of the old
// row bit for bit in the default build (within entropyVec's 1e-6·max(1, H)
// in the simd build, where Entropy has a vector kernel).
func TestDreamListMatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 3))
	lists, rows, big := 0, 0, 0
	for trial := 0; trial < 600; trial++ {
		K := []int{3, 16, 17, 40, 200, 1000}[trial%6]
		p := make([]float32, K)
		kind := (trial / 6) % 5
		var z float64
		for v := range p {
			var x float64
			switch kind {
			case 0: // spread
				x = math.Exp(3 * rng.NormFloat64())
			case 1: // near uniform: a large nucleus
				x = 1 + 0.1*rng.Float64()
			case 2: // ties: few distinct values, zeros
				x = float64(rng.IntN(4))
			case 3: // one dominant token
				x = rng.Float64() * 1e-3
				if v == K/2 {
					x = 1
				}
			case 4: // many zeros
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
		T := []float64{0.2, 0.5, 1, 2, math.Inf(1)}[rng.IntN(5)]
		topP := []float64{0.01, 0.3, 0.9, 0.95, 0.999}[rng.IntN(5)]
		mk := func() *dreamRun {
			return &dreamRun{Dream: Dream{Temperature: T, TopP: topP}, q: make([]float32, K),
				ord: make([]int32, K), oval: make([]float32, K), lid: make([]int32, K), lval: make([]float32, K)}
		}
		dOld, dNew := mk(), mk()
		dreamFilteredOld(dOld, p)
		old := dOld.q
		n := dNew.filteredList(p, slices.Max(p))
		if n < 0 {
			rows++
			for v := range old {
				if math.Float32bits(old[v]) != math.Float32bits(dNew.q[v]) {
					t.Fatalf("trial %d: -1 but row %d: %g vs old %g", trial, v, dNew.q[v], old[v])
				}
			}
			continue
		}
		lists++
		if n > 16 {
			big++
		}
		ids, vals := dNew.lid[:n], dNew.lval[:n]
		j := 0
		for v, x := range old {
			if j < n && int(ids[j]) == v {
				if math.Float32bits(vals[j]) != math.Float32bits(x) {
					t.Fatalf("trial %d (K %d T %g topP %g): token %d: %g vs old %g", trial, K, T, topP, v, vals[j], x)
				}
				j++
				continue
			}
			if x != 0 {
				t.Fatalf("trial %d (K %d T %g topP %g): token %d (%g) missing from the list", trial, K, T, topP, v, x)
			}
		}
		if j != n {
			t.Fatalf("trial %d: list not increasing or out of range: %v", trial, ids)
		}
		for s := uint64(0); s < 4; s++ {
			r1, r2 := rand.New(rand.NewPCG(s, 9)), rand.New(rand.NewPCG(s, 9))
			if a, b := soft.Sample(r1, old), ids[soft.Sample(r2, vals)]; a != b {
				t.Fatalf("trial %d: list draws %d, old row %d", trial, b, a)
			}
		}
		hOld, hNew := draw.Entropy(old), draw.EntropyList(ids, vals, K)
		// both within 1e-6·max(1, H) of the table version in the simd build
		if hOld != hNew && !(simdBuild && math.Abs(hOld-hNew) <= 2e-6*max(1, hOld)) {
			t.Fatalf("trial %d: entropy %.17g vs old %.17g", trial, hNew, hOld)
		}
	}
	t.Logf("%d lists (%d of more than 16 tokens), %d rows", lists, big, rows)
	if lists < 200 || rows < 20 || big < 50 {
		t.Fatalf("cases not exercised: %d lists, %d rows", lists, rows)
	}
}

// BenchmarkDreamFilter compares, per row, Dream's old top-p path (the row
// filter, dreamFilteredOld, then soft.Sample and draw.Entropy on the whole
// row) with the new one (filteredList, then Sample and EntropyList on the
// kept list), at DreamDefaults (T 0.2, top-p 0.95), on rows of K = 1000
// that are near uniform (a nucleus of most tokens, as in BenchmarkOverhead's
// HMM) and peaked (a nucleus within the top 16).
//
//	GOEXPERIMENT=simd go test ./decode -run '^$' -bench '^BenchmarkDreamFilter$'
func BenchmarkDreamFilter(b *testing.B) {
	const K = 1000
	for _, kind := range []struct {
		name   string
		spread float64
	}{{"flat", 0.3}, {"peaked", 6}} {
		rng := rand.New(rand.NewPCG(5, 5))
		rows := make([][]float32, 64)
		for r := range rows {
			p := make([]float32, K)
			var z float64
			for v := range p {
				p[v] = float32(math.Exp(kind.spread * rng.NormFloat64()))
				z += float64(p[v])
			}
			for v := range p {
				p[v] = float32(float64(p[v]) / z)
			}
			rows[r] = p
		}
		m := DreamDefaults()
		d := &dreamRun{Dream: m, q: make([]float32, K), ord: make([]int32, K), oval: make([]float32, K),
			lid: make([]int32, K), lval: make([]float32, K)}
		var sink float64
		b.Run(kind.name+"/old", func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			for b.Loop() {
				for _, p := range rows {
					dreamFilteredOld(d, p)
					sink += float64(soft.Sample(r, d.q)) + draw.Entropy(d.q)
				}
			}
		})
		b.Run(kind.name+"/new", func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			for b.Loop() {
				for _, p := range rows {
					if n := d.filteredList(p, slices.Max(p)); n >= 0 {
						sink += float64(d.lid[soft.Sample(r, d.lval[:n])]) + draw.EntropyList(d.lid[:n], d.lval[:n], K)
					}
				}
			}
		})
		_ = sink
	}
}
