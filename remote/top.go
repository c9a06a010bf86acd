package remote

import (
	"errors"
	"fmt"
	"time"

	"github.com/softdiff/softdiff/soft"
)

// TopK returns Options.TopK, the slots per row of DenoiseTop's answers; 0
// when the Model asks for dense beliefs (decode's runs then call Denoise).
// With TopK, Model is a decode.TopDenoiser and decode.TopBatchDenoiser.
func (m *Model) TopK() int { return m.opts.TopK }

// DenoiseTop implements decode.TopDenoiser: one sequence, one request.
func (m *Model) DenoiseTop(dst *soft.TopBeliefs, tokens []int32, t float64) error {
	return m.DenoiseTopBatch([]*soft.TopBeliefs{dst}, [][]int32{tokens}, []float64{t})
}

// DenoiseTopBatch implements decode.TopBatchDenoiser: the beliefs of hard
// evidence (tokens[b][i] the identity of position i of sequence b, MASK
// where uncommitted) as the server's top-k answer, written straight into
// dst[b] (L×K rows of TopK slots with the model's MASK as the excluded
// state), with no dense row on the way. The evidence travels as one listed
// state per position when the model takes sparse evidence (8 bytes a
// position), else as dense one-hot rows. Requests are split and run
// concurrently as in DenoiseBatch, and every answer row is checked
// (soft.TopRow.Check: ids, probabilities, residual, sum); a bad one is an
// ErrBadResponse error naming the sequence and position.
func (m *Model) DenoiseTopBatch(dst []*soft.TopBeliefs, tokens [][]int32, t []float64) error {
	if m.opts.TopK <= 0 {
		return errors.New("remote: DenoiseTopBatch needs Options.TopK > 0")
	}
	if len(tokens) == 0 {
		return errors.New("remote: empty batch")
	}
	if len(dst) != len(tokens) || len(t) != len(tokens) {
		return fmt.Errorf("remote: %d destinations and %d times for %d sequences", len(dst), len(t), len(tokens))
	}
	for b, x := range tokens {
		if len(x) < 1 || len(x) > m.max {
			return fmt.Errorf("remote: sequence %d: length %d outside [1, %d]", b, len(x), m.max)
		}
		for i, id := range x {
			if id < 0 || int(id) >= m.K {
				return fmt.Errorf("remote: sequence %d, position %d: token %d outside [0, %d)", b, i, id, m.K)
			}
		}
		if d := dst[b]; d == nil || d.L != len(x) || d.K != m.K || d.Top != m.opts.TopK || d.Mask != m.mask ||
			len(d.IDs) != d.L*d.Top || len(d.Probs) != d.L*d.Top || len(d.Resid) != d.L {
			return fmt.Errorf("remote: sequence %d: dst is not %d×%d top-%d beliefs with MASK %d", b, len(x), m.K, m.opts.TopK, m.mask)
		}
		if !(t[b] >= 0 && t[b] <= 1) {
			return fmt.Errorf("remote: sequence %d: time %v outside [0, 1]", b, t[b])
		}
	}
	if err := m.ctx.Err(); err != nil {
		return fmt.Errorf("remote: %w", err)
	}
	groups := m.planLen(len(tokens), func(b int) int { return len(tokens[b]) })
	return m.runGroups(groups, func(mc *Model, seqs []int) error {
		return mc.limited(seqs, func() error { return mc.inferTop(seqs, dst, tokens, t) })
	})
}

// inferTop makes one top-k request for the sequences seqs (all of one
// length) and writes their beliefs.
func (m *Model) inferTop(seqs []int, dst []*soft.TopBeliefs, tokens [][]int32, t []float64) error {
	start := time.Now()
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	n, L, K := len(seqs), len(tokens[seqs[0]]), m.K
	var ins []requestInput
	if m.has.sparse && !m.opts.DenseEvidence {
		ids := requestInput{Name: "evidence_ids", Shape: []int{n, L, 1}, Datatype: "INT32"}
		vals := requestInput{Name: "evidence_values", Shape: []int{n, L, 1}, Datatype: "FP32"}
		res := requestInput{Name: "evidence_residual", Shape: []int{n, L}, Datatype: "FP32"}
		if m.opts.JSON {
			fi, fv, fr := make([]int32, 0, n*L), make([]float32, n*L), make([]float32, n*L)
			for _, b := range seqs {
				fi = append(fi, tokens[b]...)
			}
			for j := range fv {
				fv[j] = 1
			}
			ids.Data, vals.Data, res.Data = fi, fv, fr
		} else {
			ids.size, vals.size, res.size = 4*n*L, 4*n*L, 4*n*L
			ids.bin = func(d []byte) error {
				for j, b := range seqs {
					for i, id := range tokens[b] {
						putI32(d, j*L+i, id)
					}
				}
				return nil
			}
			vals.bin = func(d []byte) error {
				for j := 0; j < n*L; j++ {
					putF32(d, j, 1)
				}
				return nil
			}
			res.bin = func(d []byte) error { clear(d); return nil }
		}
		ins = []requestInput{ids, vals, res}
	} else {
		ev := requestInput{Name: "evidence", Shape: []int{n, L, K}, Datatype: "FP32"}
		if m.opts.JSON {
			flat := make([]float32, n*L*K)
			for j, b := range seqs {
				for i, id := range tokens[b] {
					flat[(j*L+i)*K+int(id)] = 1
				}
			}
			ev.Data = flat
		} else {
			ev.size = 4 * n * L * K
			ev.bin = func(d []byte) error {
				clear(d)
				for j, b := range seqs {
					for i, id := range tokens[b] {
						putF32(d, (j*L+i)*K+int(id), 1)
					}
				}
				return nil
			}
		}
		ins = []requestInput{ev}
	}
	ts := make([]float32, n)
	for j, b := range seqs {
		ts[j] = float32(t[b])
	}
	req := &inferRequest{Inputs: append(ins, m.f32Input("t", []int{n}, ts))}
	return m.exchange(sc, req, n, start, func(outs map[string]tensor) error {
		return m.writeTop(sc, dst, seqs, L, outs)
	})
}

// topBlock is the rows per block of the top-k answer's decoding.
const topBlock = 256

// writeTop decodes the answer's top-k outputs into dst and checks every
// row.
func (m *Model) writeTop(sc *scratch, dst []*soft.TopBeliefs, seqs []int, L int, outs map[string]tensor) error {
	n, k := len(seqs), m.opts.TopK
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
	nr := n * L
	nb := soft.Blocks(nr, topBlock)
	errs := sc.blockErrs(nb)
	seen := sc.bitsets(nb, (m.K+63)/64)
	soft.ForBlocks(nr, topBlock, m.opts.Workers, func(b, lo, hi int) {
		// Copy the block's rows sequence by sequence (one sequence's rows
		// are contiguous on both sides), then check them.
		for r := lo; r < hi; {
			d, i := dst[seqs[r/L]], r%L
			e := min(hi, r-i+L) // the end of this sequence's rows in the block
			n := e - r
			copyI32(d.IDs[i*k:(i+n)*k], ids.data[4*r*k:4*e*k])
			copyF32(d.Probs[i*k:(i+n)*k], probs.data[4*r*k:4*e*k])
			copyF32(d.Resid[i:i+n], res.data[4*r:4*e])
			r = e
		}
		for r := lo; r < hi; r++ {
			d, i := dst[seqs[r/L]], r%L
			if err := d.Row(i).Check(seen[b]); err != nil {
				errs[b] = badResponse("sequence %d, position %d: top-k answer: %v", seqs[r/L], i, err)
				return
			}
		}
	})
	return firstErr(errs)
}

// bitsets returns n zeroed bitsets of w words each (reused).
func (sc *scratch) bitsets(n, w int) [][]uint64 {
	if len(sc.seen) < n || (n > 0 && len(sc.seen[0]) != w) {
		sc.seen = make([][]uint64, n)
		for b := range sc.seen {
			sc.seen[b] = make([]uint64, w)
		}
	}
	return sc.seen[:n]
}
