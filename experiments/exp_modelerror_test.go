package experiments

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

func TestMeStats(t *testing.T) {
	// Exact p = (½, ½, 0); network q = (¼, ¾, 0) given as logits with a
	// shift of 3 and −Inf. By hand: KL = ½ log 2 + ½ log(2/3), CE of token 1
	// = −log ¾, H = log 2; top token 1 with confidence ¾ (bin 7), correct.
	var s meStats
	inf := float32(math.Inf(-1))
	s.add([]float32{0.5, 0.5, 0}, []float32{float32(math.Log(0.25)) + 3, float32(math.Log(0.75)) + 3, inf}, 1)
	wantKL := 0.5*math.Log(2) + 0.5*math.Log(2.0/3)
	if !(math.Abs(s.kl[0]-wantKL) <= 1e-6) || !(math.Abs(s.ce+math.Log(0.75)) <= 1e-6) || !(math.Abs(s.h-math.Log(2)) <= 1e-12) {
		t.Errorf("kl %v (want %v), ce %v (want %v), h %v", s.kl[0], wantKL, s.ce, -math.Log(0.75), s.h)
	}
	if s.calN[7] != 1 || s.calOK[7] != 1 || !(math.Abs(s.calConf[7]-0.75) <= 1e-6) {
		t.Errorf("calibration bins %v %v %v", s.calN, s.calOK, s.calConf)
	}
	// ECE of one position with confidence ¾ that is right: |1 − ¾| = ¼.
	if e := s.ece(); !(math.Abs(e-0.25) <= 1e-6) {
		t.Errorf("ece %v, want 0.25", e)
	}
	// 99th percentile of 1..100 is 99 (the ⌈0.99 n⌉-th smallest).
	var q meStats
	for i := 100; i >= 1; i-- {
		q.kl = append(q.kl, float64(i))
	}
	if p := q.p99(); p != 99 {
		t.Errorf("p99 = %v, want 99", p)
	}
	if m := q.meanKL(); m != 50.5 {
		t.Errorf("mean = %v, want 50.5", m)
	}
}

func TestChannelRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	row, lam := make([]float32, 6), make([]float32, 6)
	var hits int
	for rep := 0; rep < 200; rep++ {
		channelRow(row, lam, 2, 5, 30, rng)
		var sum float64
		for _, x := range row {
			sum += float64(x)
		}
		if row[5] != 0 || !(math.Abs(sum-1) <= 1e-5) {
			t.Fatalf("row %v: MASK mass %v, sum %v", row, row[5], sum)
		}
		if row[2] > 0.5 {
			hits++
		}
	}
	// At SNR 30 the true token wins against 4 others with log-odds ~ N(30, 60):
	// P(any other above it) < 4·Φ(−30/√60) ≈ 2e-4.
	if hits < 195 {
		t.Errorf("true token dominant in %d of 200 rows at SNR 30", hits)
	}
}

func TestIsTokenRow(t *testing.T) {
	for _, c := range []struct {
		row  []float32
		want bool
	}{{[]float32{0, 1, 0}, true}, {[]float32{0, 0, 1}, false}, {[]float32{0.5, 0.5, 0}, false}, {[]float32{0, 0, 0}, false}, {[]float32{0, 2.5, 0}, true}} {
		if got := isTokenRow(c.row, 2); got != c.want {
			t.Errorf("isTokenRow(%v) = %v", c.row, got)
		}
	}
}

func TestModelErrorUnit(t *testing.T) {
	// One evidence unit of a shipped model end to end: every masking bin
	// gives a row, mean KL is finite and ≥ 0, and at rate 1 every position is
	// evaluated.
	rows, err := meEvidenceRows(context.Background(), "agreement-pcfg-mdlm", procMask, 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(meMaskRates) {
		t.Fatalf("%d rows, want %d", len(rows), len(meMaskRates))
	}
	for _, r := range rows {
		if kl := r.Values["kl"].X; !(kl >= 0) || math.IsInf(kl, 1) {
			t.Errorf("bin %s: kl %v", r.Labels[4], kl)
		}
	}
	if n := rows[len(rows)-1].Values["positions"].X; n != 14 {
		t.Errorf("rate 1: %v positions evaluated, want 2·7", n)
	}
}
