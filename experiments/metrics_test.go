package experiments

import (
	"math"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

func TestSampleStatsTV(t *testing.T) {
	// True distribution over three sequences: a 0.5, b 0.3, c 0.2. Samples:
	// a ×6, b ×4, never c. TV computed by hand: ½(|0.6−0.5| + |0.4−0.3| +
	// 0.2) = 0.2.
	s := NewSampleStats()
	for i := 0; i < 6; i++ {
		s.Add([]int32{0, 0}, math.Log(0.5), soft.NoToken)
	}
	for i := 0; i < 4; i++ {
		s.Add([]int32{0, 1}, math.Log(0.3), soft.NoToken)
	}
	s.Add([]int32{1, 1}, math.Inf(-1), soft.NoToken)
	// With one invalid sample of 11: ½(|6/11−.5|+|4/11−.3|+1/11+0.2).
	want := 0.5 * (math.Abs(6.0/11-0.5) + math.Abs(4.0/11-0.3) + 1.0/11 + 0.2)
	if got := s.TV(); !(math.Abs(got-want) <= 1e-12) {
		t.Fatalf("TV = %v, want %v", got, want)
	}
	if s.Invalid != 1 || !(math.Abs(s.Distinct()-3.0/11) <= 1e-12) {
		t.Fatalf("invalid %d distinct %v", s.Invalid, s.Distinct())
	}
	// Adjacent repeats: pairs (0,0)×6 repeat, (0,1)×4 no, (1,1) repeat.
	if s.Repeats != 7 || s.Pairs != 11 {
		t.Fatalf("repeats %d of %d, want 7 of 11", s.Repeats, s.Pairs)
	}
	wantNLL := (6*-math.Log(0.5) + 4*-math.Log(0.3)) / 10
	if !(math.Abs(s.NLL()-wantNLL) <= 1e-12) {
		t.Fatalf("NLL = %v, want %v", s.NLL(), wantNLL)
	}
}
