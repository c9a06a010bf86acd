package nn

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/softdiff/softdiff/data/models"
	"github.com/softdiff/softdiff/internal/simdgemm"
	"github.com/softdiff/softdiff/soft"
)

// forwardFLOPs counts the multiply-adds ×2 of one forward over B sequences
// of length L: the input mixture, the dense layers, attention and the head.
func forwardFLOPs(c Config, L, B int) float64 {
	rows := float64(L * B)
	d, f, K := float64(c.Hidden), float64(c.Intermediate), float64(c.VocabSize)
	dense := rows * (3*d*d + d*d + 2*d*f)
	attn := float64(B) * 2 * float64(L*L) * d
	return 2 * (rows*K*d + float64(c.Layers)*(dense+attn) + rows*d*K)
}

// benchEvidence tiles the first sequence of a checkpoint's parity fixture
// B times (the inputs bench/nn.py times too).
func benchEvidence(b *testing.B, fsys fs.FS, name string, B int) []*soft.Dense {
	raw, err := fs.ReadFile(fsys, name+"/"+ParityFile)
	if err != nil {
		b.Fatal(err)
	}
	st, err := ParseSafetensors(raw)
	if err != nil {
		b.Fatal(err)
	}
	ev := st.Tensors["evidence"]
	L, K := ev.Shape[1], ev.Shape[2]
	out := make([]*soft.Dense, B)
	for i := range out {
		out[i] = &soft.Dense{L: L, K: K, Data: append([]float32(nil), ev.Data[:L*K]...)}
	}
	return out
}

// BenchmarkForward times DenoiseBatch of the shipped models at B = 1 and
// 32 on one goroutine (bench/nn.sh compares it with PyTorch on the same
// weights and inputs).
func BenchmarkForward(b *testing.B) {
	for _, name := range ShippedNames() {
		m, err := Shipped(name)
		if err != nil {
			b.Fatal(err)
		}
		for _, B := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/B=%d", name, B), func(b *testing.B) {
				evs := benchEvidence(b, models.FS, name, B)
				dst := make([]*soft.Dense, B)
				for i := range dst {
					dst[i] = soft.NewDense(evs[i].L, evs[i].K)
				}
				ts := make([]float64, B)
				if err := m.DenoiseBatch(dst, evs, ts); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					m.DenoiseBatch(dst, evs, ts)
				}
				fl := forwardFLOPs(m.cfg, evs[0].L, B)
				b.ReportMetric(fl/1e6, "MFLOP/op")
				b.ReportMetric(fl*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkSgemmPeak is the matrix-multiply rate of the product the
// forward uses, at a size where it is at its best (n×n×n, one goroutine).
func BenchmarkSgemmPeak(b *testing.B) {
	for _, n := range []int{256, 512} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			a, c, o := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
			for i := range a {
				a[i], c[i] = float32(i%7)-3, float32(i%5)-2
			}
			var ctx simdgemm.Context
			for b.Loop() {
				ctx.Sgemm(false, true, n, n, n, 1, a, n, c, n, 0, o, n)
			}
			b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
