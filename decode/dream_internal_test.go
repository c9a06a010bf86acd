package decode

import (
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestDreamFilterMatchesSort checks Dream's temperature, top-p and top-k
// filter against a direct reference: sort the tempered distribution, keep
// a token while the mass before it is ≤ top-p, then keep the top-k,
// renormalise (Dream's top_p_logits and top_k_logits).
func TestDreamFilterMatchesSort(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		K := rapid.IntRange(2, 300).Draw(t, "K")
		p := make([]float32, K)
		var z float64
		for v := range p {
			p[v] = float32(rapid.Float64Range(0, 1).Draw(t, "p"))
			if rapid.IntRange(0, 3).Draw(t, "zero") == 0 {
				p[v] = 0
			}
			z += float64(p[v])
		}
		if z == 0 {
			p[0], z = 1, 1
		}
		for v := range p {
			p[v] = float32(float64(p[v]) / z)
		}
		m := Dream{Temperature: rapid.SampledFrom([]float64{0, 0.5, 1, 2}).Draw(t, "T"),
			TopP: rapid.SampledFrom([]float64{0, 0.3, 0.9, 0.99}).Draw(t, "topp"),
			TopK: rapid.IntRange(0, K).Draw(t, "topk")}
		d := &dreamRun{Dream: m, q: make([]float32, K)}
		if m.TopP > 0 {
			d.ord, d.oval = make([]int32, K), make([]float32, K)
		}
		if m.TopK > 0 && m.TopK < K {
			d.kids, d.kval = make([]int32, m.TopK), make([]float32, m.TopK)
		}
		d.filtered(p)
		// reference
		q := make([]float64, K)
		var zq float64
		for v, x := range p {
			q[v] = float64(x)
			if m.Temperature > 0 && x > 0 {
				q[v] = math.Pow(float64(x), 1/m.Temperature)
			}
			zq += q[v]
		}
		for v := range q {
			q[v] /= zq
		}
		ord := make([]int, K)
		for v := range ord {
			ord[v] = v
		}
		slices.SortStableFunc(ord, func(a, b int) int {
			switch {
			case q[a] > q[b]:
				return -1
			case q[a] < q[b]:
				return 1
			}
			return 0
		})
		keep := make([]bool, K)
		var c float64
		n := 0
		for _, v := range ord {
			if m.TopP > 0 && m.TopP < 1 && c > m.TopP {
				break
			}
			if m.TopK > 0 && n >= m.TopK {
				break
			}
			keep[v] = true
			c += q[v]
			n++
		}
		var zk float64
		for v := range q {
			if !keep[v] {
				q[v] = 0
			}
			zk += q[v]
		}
		for v := range q {
			want := q[v] / zk
			if !(math.Abs(float64(d.q[v])-want) <= 1e-5) {
				t.Fatalf("token %d: filtered %v, reference %v (p %v, %+v)", v, d.q[v], want, p, m)
			}
		}
	})
}
