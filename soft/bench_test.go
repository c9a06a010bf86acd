package soft

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the whole-state operations at docs/perf.md's sizes: L = 256
// and 1024 rows over V = 32768, on 1 and 2 workers. SetBytes counts the
// bytes each operation must stream (inputs read once, outputs written
// once), so MB/s compares directly with BenchmarkStream, the bandwidth
// yardstick dst[i] = a·src[i] over the same bytes as the fused softmax.
// bench/run.sh runs them and prints the ratios.

const benchV = 32768

var benchSizes = []int{256, 1024}

func benchLogits(L, K int) []float32 {
	rng := rand.New(rand.NewPCG(11, 12))
	l := make([]float32, L*K)
	for i := range l {
		l[i] = float32(4 * rng.NormFloat64())
	}
	return l
}

func benchEach(b *testing.B, fn func(b *testing.B, L, workers int)) {
	for _, L := range benchSizes {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("L=%d/V=%d/workers=%d", L, benchV, w), func(b *testing.B) { fn(b, L, w) })
		}
	}
}

func BenchmarkSoftmaxEntropyRows(b *testing.B) {
	benchEach(b, func(b *testing.B, L, w int) {
		logits := benchLogits(L, benchV)
		dst := NewDense(L, benchV)
		ent := make([]float64, L)
		b.SetBytes(int64(8 * L * benchV))
		b.ReportAllocs()
		for b.Loop() {
			if err := SoftmaxEntropyRows(dst, ent, logits, w); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStream is the memory-bandwidth yardstick: dst[i] = a·src[i]
// over L×V float32 (read L·V, write L·V, the bytes of the fused softmax),
// with the same row blocks and workers.
func BenchmarkStream(b *testing.B) {
	benchEach(b, func(b *testing.B, L, w int) {
		src := benchLogits(L, benchV)
		dst := make([]float32, L*benchV)
		b.SetBytes(int64(8 * L * benchV))
		b.ReportAllocs()
		for b.Loop() {
			ForBlocks(L, BlockRows, w, func(_, lo, hi int) {
				kern.scale(dst[lo*benchV:hi*benchV], src[lo*benchV:hi*benchV], 0.5)
			})
		}
	})
}

func benchState(L int) *Dense {
	d := NewDense(L, benchV)
	if err := SoftmaxEntropyRows(d, nil, benchLogits(L, benchV), 0); err != nil {
		panic(err)
	}
	return d
}

func BenchmarkMixRows(b *testing.B) {
	benchEach(b, func(b *testing.B, L, w int) {
		a, c := benchState(L), Uniform(L, benchV)
		dst := NewDense(L, benchV)
		b.SetBytes(int64(12 * L * benchV))
		b.ReportAllocs()
		for b.Loop() {
			MixRows(dst, a, c, 0.3, w)
		}
	})
}

func BenchmarkKLRows(b *testing.B) {
	benchEach(b, func(b *testing.B, L, w int) {
		p, q := benchState(L), Uniform(L, benchV)
		dst := make([]float64, L)
		b.SetBytes(int64(8 * L * benchV))
		b.ReportAllocs()
		for b.Loop() {
			KLRows(dst, p, q, w)
		}
	})
}

func BenchmarkSparseTopK(b *testing.B) {
	benchEach(b, func(b *testing.B, L, w int) {
		p := benchState(L)
		s := NewSparse(L, benchV, 64)
		b.SetBytes(int64(4 * L * benchV))
		b.ReportAllocs()
		for b.Loop() {
			SparseTopK(s, p, w)
		}
	})
}

// BenchmarkKernelRow times the exp pass alone on one row of 32768 logits
// that stays in cache, for the Go kernels and the active ones (avx2 in a
// GOEXPERIMENT=simd build): the compute cost without memory traffic.
func BenchmarkKernelRow(b *testing.B) {
	l := benchLogits(1, benchV)
	d := make([]float32, benchV)
	m, _ := maxLogitGo(l)
	for _, k := range []kernels{goKernels, kern} {
		b.Run("exp/"+k.name, func(b *testing.B) {
			b.SetBytes(8 * benchV)
			for b.Loop() {
				k.expSum(d, l, m)
			}
		})
		b.Run("max/"+k.name, func(b *testing.B) {
			b.SetBytes(4 * benchV)
			for b.Loop() {
				k.maxLogit(l)
			}
		})
	}
}

// BenchmarkTopKRow times TopK (k = 64) on one softmax row of 32768 in
// cache, with the Go kernels and the active ones.
func BenchmarkTopKRow(b *testing.B) {
	p := benchState(1).Row(0)
	ids := make([]int32, 64)
	vals := make([]float32, 64)
	active := kern
	defer func() { kern = active }()
	for _, k := range []kernels{goKernels, active} {
		b.Run(k.name, func(b *testing.B) {
			kern = k
			b.SetBytes(4 * benchV)
			for b.Loop() {
				TopK(ids, vals, p)
			}
		})
	}
}
