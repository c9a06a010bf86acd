package simdgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the products of the HMM oracle (emission likelihoods
// (rows×K)·(K×S) and token posteriors (rows×S)·(S×K), K = 1000, S = 64,
// rows = 64·256) and of a small transformer (M = batch·L up to 2048 rows,
// widths 64…1024, attention scores Q·Kᵀ per sequence, the K×d output head).
// bench/gemm.py times numpy's sgemm on the same list.
var benchShapes = []struct {
	name    string
	tB      bool
	m, n, k int
}{
	{"hmm-emit", false, 16384, 64, 1000},
	{"hmm-post", false, 16384, 1000, 64},
	{"attn-qk", true, 64, 64, 64},
	{"proj-64", false, 2048, 64, 64},
	{"proj-128", false, 2048, 128, 128},
	{"proj-256", false, 2048, 256, 256},
	{"proj-512", false, 2048, 512, 512},
	{"mlp-up", false, 2048, 1024, 256},
	{"mlp-down", false, 2048, 256, 1024},
	{"head-1000", true, 2048, 1000, 256},
	{"head-3000", true, 2048, 3000, 128},
	{"small-32", false, 32, 256, 256},
}

// BenchmarkSgemm reports GFLOP/s (2·m·n·k per product) of the active path
// with one and two workers.
func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		a := fillN(rng, s.m*s.k)
		bm := fillN(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		ldb := s.n
		if s.tB {
			ldb = s.k
		}
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s_m%d_n%d_k%d/workers=%d", s.name, s.m, s.n, s.k, w), func(b *testing.B) {
				ctx := Context{Workers: w}
				for b.Loop() {
					ctx.Sgemm(false, s.tB, s.m, s.n, s.k, 1, a, s.k, bm, ldb, 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkKernel times each micro-kernel this build and CPU have on one
// tile with A and B in L1 (kc = 256), GFLOP/s of the tile's 2·MR·32·kc.
func BenchmarkKernel(b *testing.B) {
	old := path
	defer func() { path = old }()
	rng := rand.New(rand.NewPCG(2, 2))
	a, bp := fillN(rng, 4*(kc+3)), fillN(rng, kc*nr)
	c := make([]float32, 4*nr)
	for _, p := range available {
		b.Run(p.String(), func(b *testing.B) {
			mr := pathMR[p]
			for b.Loop() {
				kern(p, kc, a, kc+3, bp, c, nr, 1, 0, false)
			}
			b.ReportMetric(2*float64(mr*nr*kc)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkSgemmOrders times each shape of benchShapes on one worker with
// gemmPart's and macro's loop orders as chosen (order=default) and with
// the rows-outer sweep and the k-blocks-innermost order turned off
// (order=original, the loops before they were added), adjacently, so
// that the two see about the same machine load (results are identical;
// TestSgemmLoopOrders).
func BenchmarkSgemmOrders(b *testing.B) {
	oldRO, oldSI := rowsOuterK, sumInnerMax
	defer func() { rowsOuterK, sumInnerMax = oldRO, oldSI }()
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		a := fillN(rng, s.m*s.k)
		bm := fillN(rng, s.k*s.n)
		c := make([]float32, s.m*s.n)
		ldb := s.n
		if s.tB {
			ldb = s.k
		}
		for _, o := range []struct {
			name   string
			ro, si int
		}{{"original", 0, 0}, {"default", oldRO, oldSI}} {
			b.Run(fmt.Sprintf("%s_m%d_n%d_k%d/order=%s", s.name, s.m, s.n, s.k, o.name), func(b *testing.B) {
				rowsOuterK, sumInnerMax = o.ro, o.si
				var ctx Context
				for b.Loop() {
					ctx.Sgemm(false, s.tB, s.m, s.n, s.k, 1, a, s.k, bm, ldb, 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
