package remote

import (
	"math"
	"slices"

	"github.com/softdiff/softdiff/soft"
)

// writeBeliefs checks the answer's outputs for rows and writes each row's
// beliefs into dst. A bad value is an ErrBadResponse error naming the
// sequence and position; dst is then unspecified.
func (m *Model) writeBeliefs(dst []*soft.Dense, rows rowsOf, outs map[string]tensor) error {
	n, L, K := len(rows.seqs), rows.L, m.K
	nr := rows.n()
	dstRow := func(r int) []float32 {
		i := r % L
		return dst[rows.seqs[r/L]].Data[i*K : (i+1)*K]
	}
	var fill func(r int) error
	switch {
	case m.opts.TopK > 0:
		k := m.opts.TopK
		ids, err := want(outs, "topk_ids", "INT32", n, L, k)
		if err != nil {
			return err
		}
		probs, err := want(outs, "topk_probs", "FP32", n, L, k)
		if err != nil {
			return err
		}
		res, err := want(outs, "topk_residual", "FP32", n, L)
		if err != nil {
			return err
		}
		fill = func(r int) error {
			return m.topkRow(dstRow(r), ids.data[4*r*k:4*(r+1)*k], probs.data[4*r*k:4*(r+1)*k], f32At(res.data, r), rows, r)
		}
	case m.opts.Logits:
		lg, err := want(outs, "logits", "FP32", n, L, K)
		if err != nil {
			return err
		}
		fill = func(r int) error {
			p := dstRow(r)
			b := lg.data[4*r*K : 4*(r+1)*K]
			for v := range p {
				p[v] = f32At(b, v)
			}
			p[m.mask] = float32(math.Inf(-1))
			if _, err := soft.Softmax(p, p); err != nil {
				return badResponse("%s: logits: %v", rows.where(r), err)
			}
			return nil
		}
	default:
		bel, err := want(outs, "beliefs", "FP32", n, L, K)
		if err != nil {
			return err
		}
		fill = func(r int) error {
			p := dstRow(r)
			b := bel.data[4*r*K : 4*(r+1)*K]
			for v := range p {
				p[v] = f32At(b, v)
			}
			if _, err := soft.CheckArgmax(p); err != nil {
				return badResponse("%s: belief is not a distribution: %v", rows.where(r), err)
			}
			if p[m.mask] != 0 {
				return badResponse("%s: belief gives MASK probability %v", rows.where(r), p[m.mask])
			}
			return nil
		}
	}
	block := blockRows(K)
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	errs := sc.blockErrs(soft.Blocks(nr, block))
	soft.ForBlocks(nr, block, m.opts.Workers, func(b, lo, hi int) {
		for r := lo; r < hi; r++ {
			if err := fill(r); err != nil {
				errs[b] = err
				return
			}
		}
	})
	return firstErr(errs)
}

// topkRow checks one row of top-k beliefs (k ids and probabilities,
// little-endian, and the residual mass) and writes the belief it stands
// for into p: the listed probabilities, and the residual spread uniformly
// over the tokens not listed (MASK excluded). An id of −1 marks an unused
// slot of probability 0.
func (m *Model) topkRow(p []float32, ids, probs []byte, resid float32, rows rowsOf, r int) error {
	k := len(ids) / 4
	var buf [64]int32
	seen := buf[:0]
	var sum float64
	for j := 0; j < k; j++ {
		id, q := i32At(ids, j), f32At(probs, j)
		if !(q >= 0 && q <= 1) {
			return badResponse("%s: top-k probability %d is %v", rows.where(r), j, q)
		}
		if id == -1 {
			if q != 0 {
				return badResponse("%s: unused top-k slot %d has probability %v", rows.where(r), j, q)
			}
			continue
		}
		if id < 0 || int(id) >= m.K || id == m.mask {
			return badResponse("%s: top-k id %d is %d (want a token id in [0, %d), not MASK %d)", rows.where(r), j, id, m.K, m.mask)
		}
		seen = append(seen, id)
		sum += float64(q)
	}
	if !(resid >= 0 && resid <= 1) {
		return badResponse("%s: top-k residual mass is %v", rows.where(r), resid)
	}
	if !(math.Abs(sum+float64(resid)-1) <= soft.RowSumTol) {
		return badResponse("%s: top-k probabilities and residual sum to %.9g, not 1", rows.where(r), sum+float64(resid))
	}
	slices.Sort(seen)
	for j := 1; j < len(seen); j++ {
		if seen[j] == seen[j-1] {
			return badResponse("%s: top-k id %d listed twice", rows.where(r), seen[j])
		}
	}
	c := float32(0)
	if rest := m.K - 1 - len(seen); rest > 0 {
		c = float32(float64(resid) / float64(rest))
	}
	fillConst(p, c)
	p[m.mask] = 0
	for j := 0; j < k; j++ {
		if id := i32At(ids, j); id >= 0 {
			p[id] = f32At(probs, j)
		}
	}
	return nil
}

// fillConst sets every entry of p to c (memory-speed copies for c ≠ 0).
func fillConst(p []float32, c float32) {
	if c == 0 {
		clear(p)
		return
	}
	if len(p) == 0 {
		return
	}
	p[0] = c
	for n := 1; n < len(p); n *= 2 {
		copy(p[n:], p[:n])
	}
}
