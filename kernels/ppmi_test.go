package kernels

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TestPPMIByHand: sequences [0 1], [0 1], [1 2] with window 1 and α = 1 give
// C(0,1) = 2, C(1,2) = 1 (symmetric), row sums 2, 3, 1, N = 6, so
// PMI(0,1) = log(2·6/(2·3)) = log 2 and PMI(1,2) = log(1·6/(3·1)) = log 2:
// M = log 2·[[0,1,0],[1,0,1],[0,1,0]], singular value √2·log 2 twice (the
// eigenvectors (1, ±√2, 1)/2) and 0. With Dim 2 the embeddings span
// {e0 + e2, e1}: U Uᵀ is the projection [[½,0,½],[0,1,0],[½,0,½]], so after
// scaling rows to unit length tokens 0 and 2 coincide (cosine 1: they have
// the same context) and token 1 is orthogonal to both, whatever rotation
// the SVD picks within the degenerate pair.
func TestPPMIByHand(t *testing.T) {
	emb, err := PPMIEmbeddings([][]int32{{0, 1}, {0, 1}, {1, 2}}, 3, PPMIOptions{Window: 1, Dim: 2, Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	dot := func(i, j int) float64 {
		return float64(emb[2*i])*float64(emb[2*j]) + float64(emb[2*i+1])*float64(emb[2*j+1])
	}
	want := [3][3]float64{{1, 0, 1}, {0, 1, 0}, {1, 0, 1}}
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			if !(math.Abs(dot(i, j)-want[i][j]) <= 1e-6) {
				t.Errorf("cos(%d, %d) = %v, want %v", i, j, dot(i, j), want[i][j])
			}
		}
	}
}

// TestPPMIFullRank: with Dim = n the embeddings before scaling satisfy
// E·(V Σ^{1/2})ᵀ = M; after scaling, the Gram matrix of the rows is
// U Σ Uᵀ normalised. For a symmetric PSD M (here the PPMI of a corpus
// whose M is diagonally dominant) U = V, so cos(i, j) =
// M_ij/√(M_ii M_jj): the reference is computed from the counts by hand
// formulas in float64, independently of the SVD.
func TestPPMIFullRank(t *testing.T) {
	// Each token mostly next to itself: a diagonally dominant M.
	seqs := [][]int32{{0, 0, 0, 1}, {1, 1, 1, 2}, {2, 2, 2, 0}, {0, 0, 1, 1}, {2, 2, 0, 0}}
	const n = 3
	emb, err := PPMIEmbeddings(seqs, n, PPMIOptions{Window: 1, Dim: n, Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	var c [n][n]float64
	for _, x := range seqs {
		for i := 0; i+1 < len(x); i++ {
			c[x[i]][x[i+1]]++
			c[x[i+1]][x[i]]++
		}
	}
	var row [n]float64
	var N float64
	for w := 0; w < n; w++ {
		for v := 0; v < n; v++ {
			row[w] += c[w][v]
		}
		N += row[w]
	}
	var m [n][n]float64
	for w := 0; w < n; w++ {
		for v := 0; v < n; v++ {
			if c[w][v] > 0 {
				m[w][v] = math.Max(0, math.Log(c[w][v]*N/(row[w]*row[v])))
			}
		}
	}
	// Gershgorin: positive definite when each diagonal exceeds its row's
	// other entries (checked, so the premise of the test holds).
	for w := 0; w < n; w++ {
		off := 0.0
		for v := 0; v < n; v++ {
			if v != w {
				off += m[w][v]
			}
		}
		if !(m[w][w] > off) {
			t.Fatalf("test corpus: M is not diagonally dominant at row %d: %v", w, m)
		}
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			var got float64
			for k := 0; k < n; k++ {
				got += float64(emb[i*n+k]) * float64(emb[j*n+k])
			}
			want := m[i][j] / math.Sqrt(m[i][i]*m[j][j])
			if !(math.Abs(got-want) <= 1e-5) {
				t.Errorf("cos(%d, %d) = %v, want M_ij/√(M_ii M_jj) = %v", i, j, got, want)
			}
		}
	}
}

// TestPPMIDeterministic: the same input gives the same bytes.
func TestPPMIDeterministic(t *testing.T) {
	var seqs [][]int32
	for s := 0; s < 200; s++ {
		x := make([]int32, 12)
		for i := range x {
			x[i] = int32((s*7 + i*i*3 + s*i) % 40)
		}
		seqs = append(seqs, x)
	}
	a, err := PPMIEmbeddings(seqs, 40, PPMIOptions{Dim: 8})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := PPMIEmbeddings(seqs, 40, PPMIOptions{Dim: 8})
	if !slices.Equal(a, b) {
		t.Fatal("two calls differ")
	}
}

func TestPPMIErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		seqs [][]int32
		n    int
		opt  PPMIOptions
		msg  string
	}{
		{"one token", [][]int32{{0, 0}}, 1, PPMIOptions{}, "n = 1"},
		{"id out of range", [][]int32{{0, 1}, {1, 5}}, 3, PPMIOptions{Dim: 2}, "sequence 1 position 1"},
		{"negative id", [][]int32{{-1, 1}}, 3, PPMIOptions{Dim: 2}, "sequence 0 position 0"},
		{"dim above n", [][]int32{{0, 1}}, 2, PPMIOptions{Dim: 3}, "Dim"},
		{"alpha above 1", [][]int32{{0, 1}}, 2, PPMIOptions{Alpha: 2}, "Alpha"},
		{"negative window", [][]int32{{0, 1}}, 2, PPMIOptions{Window: -1}, "Window"},
		{"token without context", [][]int32{{0, 1}, {2}}, 3, PPMIOptions{Dim: 2}, "token 2"},
	} {
		_, err := PPMIEmbeddings(c.seqs, c.n, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.msg)
		}
	}
}
