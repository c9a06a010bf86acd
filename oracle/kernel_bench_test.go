package oracle

import "testing"

func BenchmarkGemvT(b *testing.B) {
	S, K := 64, 1001
	q, w, e := make([]float32, K), make([]float32, S), make([]float32, S*K)
	for i := range e {
		e[i] = float32(i%7) * 0.1
	}
	for i := range w {
		w[i] = 0.01
	}
	b.SetBytes(int64(4 * S * K))
	for b.Loop() {
		gemvT(q, w, e, S, K)
	}
}

func BenchmarkGemvT64(b *testing.B) {
	S := 64
	y, m, x := make([]float64, S), make([]float64, S*S), make([]float64, S)
	for i := range x {
		x[i] = 0.5
	}
	for b.Loop() {
		gemvT64(y, m, x)
	}
}

func BenchmarkEmitDot(b *testing.B) {
	S, K := 64, 1001
	bb, e, emit, emitT := make([]float64, S), make([]float32, K), make([]float32, S*K), make([]float32, K*S)
	for i := range emit {
		emit[i] = 0.001
		emitT[i] = 0.001
	}
	for i := range e {
		e[i] = 0.5
	}
	for b.Loop() {
		emitDot(bb, emit, emitT, e)
	}
}

func BenchmarkDot32Rows(b *testing.B) {
	S, K := 64, 1001
	bb, e, emit := make([]float64, S), make([]float32, K), make([]float32, S*K)
	for i := range emit {
		emit[i] = 0.001
	}
	for i := range e {
		e[i] = 0.5
	}
	for b.Loop() {
		for s := range bb {
			bb[s] = dot32(emit[s*K:(s+1)*K], e)
		}
	}
}

func BenchmarkGemvT2(b *testing.B) {
	S, K := 64, 1001
	q0, q1, w, e := make([]float32, K), make([]float32, K), make([]float32, S), make([]float32, S*K)
	for i := range e {
		e[i] = float32(i%7) * 0.1
	}
	for i := range w {
		w[i] = 0.01
	}
	for b.Loop() {
		gemvT2(q0, q1, w, w, e, S, K)
	}
}
