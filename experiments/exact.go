package experiments

import (
	"math"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// lladaCounts returns LLaDA's tokens per step for L masked positions in S
// steps: ⌊L/S⌋ each, one more in the first L mod S steps.
func lladaCounts(L, S int) []int {
	c := make([]int, S)
	for i := range c {
		c[i] = L / S
		if i < L%S {
			c[i]++
		}
	}
	return c
}

// randomOrderValid returns the exact probability that random-order parallel
// decoding yields a valid sequence: at step k a uniformly random set of
// counts[k] masked positions is committed, each position's token drawn
// independently from den's belief given the tokens committed so far (LLaDA
// with random remasking at temperature 1). It enumerates every subset and
// token tuple of positive probability, so it is meant for small testbeds. An
// assignment the exact model tb rules out can never become valid and is cut.
func randomOrderValid(tb *testbed, den decode.Denoiser, counts []int) (float64, error) {
	L, K := tb.m.Len(), tb.m.Vocab().Size()
	mask := tb.m.Vocab().Mask()
	memo := map[string]float64{}
	assign := make([]int32, L)
	for i := range assign {
		assign[i] = mask
	}
	var rec func(step int) (float64, error)
	rec = func(step int) (float64, error) {
		key := SeqKey(assign) + string(rune(step))
		if p, ok := memo[key]; ok {
			return p, nil
		}
		if step == len(counts) {
			p := 0.0
			if tb.m.Valid(assign) {
				p = 1
			}
			return p, nil
		}
		ev := soft.AllMask(L, K, mask)
		for i, v := range assign {
			if v != mask {
				row := ev.Row(i)
				row[mask], row[v] = 0, 1
			}
		}
		chk := soft.NewDense(L, K)
		if err := tb.m.Denoise(chk, ev, 0); err != nil {
			memo[key] = 0 // impossible under the data: never valid
			return 0, nil
		}
		bel := soft.NewDense(L, K)
		if err := den.Denoise(bel, ev, 0); err != nil {
			return 0, err
		}
		var free []int
		for i, v := range assign {
			if v == mask {
				free = append(free, i)
			}
		}
		c := counts[step]
		nsub := binom(len(free), c)
		total := 0.0
		var err error
		forSubsets(len(free), c, func(sub []int) {
			if err != nil {
				return
			}
			pos := make([]int, len(sub))
			for k, s := range sub {
				pos[k] = free[s]
			}
			var tuples func(k int, p float64)
			tuples = func(k int, p float64) {
				if err != nil || p == 0 {
					return
				}
				if k == len(pos) {
					var q float64
					q, err = rec(step + 1)
					total += p * q / nsub
					return
				}
				row := bel.Row(pos[k])
				for v, b := range row {
					if b > 0 {
						assign[pos[k]] = int32(v)
						tuples(k+1, p*float64(b))
					}
				}
				assign[pos[k]] = mask
			}
			tuples(0, 1)
		})
		if err != nil {
			return 0, err
		}
		memo[key] = total
		return total, nil
	}
	return rec(0)
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 0; i < k; i++ {
		r = r * float64(n-i) / float64(i+1)
	}
	return math.Round(r)
}

// forSubsets calls fn with every k-subset of {0..n−1} in increasing order.
func forSubsets(n, k int, fn func([]int)) {
	sub := make([]int, k)
	var rec func(start, d int)
	rec = func(start, d int) {
		if d == k {
			fn(sub)
			return
		}
		for i := start; i <= n-(k-d); i++ {
			sub[d] = i
			rec(i+1, d+1)
		}
	}
	rec(0, 0)
}
