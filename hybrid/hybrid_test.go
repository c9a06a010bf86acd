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
// an identity; Refine, SetEvidence and ClearEvidence never do.
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
		delta := make([]float32, K)
		ev := make([]float32, K)
		n := rapid.IntRange(1, 40).Draw(t, "ops")
		for range n {
			i := rapid.IntRange(0, L-1).Draw(t, "i")
			switch rapid.IntRange(0, 5).Draw(t, "op") {
			case 0:
				for v := range delta {
					delta[v] = float32(rapid.Float64Range(-5, 5).Draw(t, "d"))
				}
				s.Refine(i, delta, float32(rapid.Float64Range(0, 2).Draw(t, "scale")))
			case 1:
				s.SetEvidence(i, delta)
			case 2:
				s.ClearEvidence(i)
			case 3:
				v := tok(t)
				s.Commit(i, v)
				want[i] = v
			case 4:
				s.Release(i)
				want[i] = soft.NoToken
			case 5:
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
				}
			}
		}
	})
}

func TestEvidenceRejectsNonFinite(t *testing.T) {
	s := hybrid.New(2, 3, 2)
	s.SetEvidence(1, []float32{float32(math.NaN()), 0, 0})
	d := soft.NewDense(2, 3)
	if err := s.Evidence(d); err == nil {
		t.Fatal("NaN log-evidence accepted")
	}
}

func TestEmbeddingProjection(t *testing.T) {
	s := hybrid.New(2, 3, 2)
	s.EnableEmbedding(1)
	s.Commit(0, 1)
	s.SetEvidence(1, []float32{0, 0, 9}) // MASK column is ignored: uniform over tokens 0 and 1
	emb := []float32{2, 4, 100}
	if err := s.ProjectEmbedding(emb, make([]float32, 3)); err != nil {
		t.Fatal(err)
	}
	// position 0 is token 1 (embedding 4); position 1 is ½·2 + ½·4 = 3.
	if !(math.Abs(float64(s.EmbeddingRow(0)[0])-4) <= 1e-6 && math.Abs(float64(s.EmbeddingRow(1)[0])-3) <= 1e-6) {
		t.Fatalf("embeddings %v", s.Emb)
	}
}
