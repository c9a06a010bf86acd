package hybrid_test

import (
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/softdiff/softdiff/hybrid"
	"github.com/softdiff/softdiff/soft"
)

// TestRefinementNeverChangesIdentity drives a state with random sequences of
// operations and checks the invariant: only Commit, Release and Jump change
// an identity; writing evidence (Row, MarkEvidence) never does. It also
// checks the evidence rows and the localisation against their definitions.
func TestRefinementNeverChangesIdentity(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		L := rapid.IntRange(1, 6).Draw(t, "L")
		K := rapid.IntRange(2, 6).Draw(t, "K")
		mask := int32(rapid.IntRange(0, K-1).Draw(t, "mask"))
		s := hybrid.New(L, K, mask)
		want := make([]int32, L)
		for i := range want {
			want[i] = soft.NoToken
		}
		tok := func(t *rapid.T) int32 {
			v := int32(rapid.IntRange(0, K-2).Draw(t, "tok"))
			if v >= mask {
				v++
			}
			return v
		}
		ev := make([]float32, K)
		n := rapid.IntRange(1, 40).Draw(t, "ops")
		for range n {
			i := rapid.IntRange(0, L-1).Draw(t, "i")
			switch rapid.IntRange(0, 4).Draw(t, "op") {
			case 0, 1:
				row := s.Row(i)
				for v := range row {
					row[v] += float32(rapid.Float64Range(-5, 5).Draw(t, "d"))
				}
				s.MarkEvidence(i)
			case 2:
				v := tok(t)
				s.Commit(i, v)
				want[i] = v
			case 3:
				s.Release(i)
				want[i] = soft.NoToken
			case 4:
				if want[i] != soft.NoToken {
					v := tok(t)
					s.Jump(i, v)
					want[i] = v
				}
			}
			for j := range want {
				if got := s.Identity(j); got != want[j] {
					t.Fatalf("position %d identity %d, want %d", j, got, want[j])
				}
			}
			// evidence row semantics
			for j := range want {
				if err := s.EvidenceRow(ev, j); err != nil {
					t.Fatal(err)
				}
				switch {
				case want[j] != soft.NoToken:
					if ev[want[j]] != 1 {
						t.Fatalf("committed row %d not one-hot at %d: %v", j, want[j], ev)
					}
				case !s.HasEvidence(j):
					if ev[mask] != 1 {
						t.Fatalf("no-evidence row %d not one-hot MASK: %v", j, ev)
					}
				default:
					if ev[mask] != 0 {
						t.Fatalf("row %d carries MASK mass", j)
					}
					// likelihood ratios equal exp(λ differences) (derivation: softmax).
					lam := s.Row(j)
					a, b := int32(0), int32(K-1)
					if a == mask {
						a++
					}
					if b == mask {
						b--
					}
					got := math.Log(float64(ev[a])) - math.Log(float64(ev[b]))
					wantR := float64(lam[a]) - float64(lam[b])
					if !(math.Abs(got-wantR) <= 1e-3*(1+math.Abs(wantR))) {
						t.Fatalf("row %d log ratio %v, want %v", j, got, wantR)
					}
					// localisation: the largest softmax entry (independent
					// computation from the row just written).
					var top float64
					for v, x := range ev {
						if int32(v) != mask {
							top = math.Max(top, float64(x))
						}
					}
					if loc := s.Localisation(j); !(math.Abs(loc-top) <= 1e-5) {
						t.Fatalf("row %d localisation %v, max softmax %v", j, loc, top)
					}
				}
			}
		}
	})
}

func TestEvidenceRejectsNonFinite(t *testing.T) {
	s := hybrid.New(2, 3, 2)
	s.Row(1)[0] = float32(math.NaN())
	s.MarkEvidence(1)
	if err := s.EvidenceRow(make([]float32, 3), 1); err == nil {
		t.Fatal("NaN log-evidence accepted")
	}
	// The MASK column is ignored: +Inf there is not an error.
	s.MarkEvidence(0)
	s.Row(0)[2] = float32(math.Inf(1))
	if err := s.EvidenceRow(make([]float32, 3), 0); err != nil {
		t.Fatal(err)
	}
}
