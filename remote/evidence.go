package remote

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/softdiff/softdiff/soft"
)

// rowsOf addresses the rows of the sequences seqs (all of length L) of ev
// as one list: row r is position r mod L of sequence seqs[r / L].
type rowsOf struct {
	ev   []*soft.Dense
	seqs []int
	L, K int
}

func (s rowsOf) n() int { return len(s.seqs) * s.L }

func (s rowsOf) row(r int) []float32 {
	i := r % s.L
	return s.ev[s.seqs[r/s.L]].Data[i*s.K : (i+1)*s.K]
}

// where names row r for an error message.
func (s rowsOf) where(r int) string {
	return fmt.Sprintf("sequence %d, position %d", s.seqs[r/s.L], r%s.L)
}

// blockRows is the rows per block of parallel work over rows of K values.
func blockRows(K int) int { return min(max(1, (1<<15)/K), 1024) }

// firstErr returns the first non-nil error in block order.
func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// evidenceEnc is how one request's evidence travels: dense, or k listed
// entries per row (stride apart in the scratch buffers).
type evidenceEnc struct {
	sparse    bool
	k, stride int
}

var errTooMany = errors.New("more nonzero entries than travel sparse")

// scanEvidence decides the encoding of rows and, for sparse encodings,
// fills sc's ids, vals and resid, validating each row on the way (finite,
// ≥ 0, some entry positive). Dense rows are validated while they are
// encoded.
func (m *Model) scanEvidence(sc *scratch, rows rowsOf) (evidenceEnc, error) {
	o := m.opts
	K := m.K
	if o.DenseEvidence || (!m.has.sparse) {
		return evidenceEnc{}, nil
	}
	lossy := o.EvidenceTopK > 0
	stride := min(maxExactSparse, (K-1)/2)
	if lossy {
		stride = min(o.EvidenceTopK, K)
	}
	if stride < 1 {
		if !m.has.dense {
			return evidenceEnc{}, errors.New("remote: the model takes only sparse evidence and K is too small for it")
		}
		return evidenceEnc{}, nil
	}
	n := rows.n()
	sc.grow(n, stride)
	var tooMany atomic.Bool
	block := blockRows(K)
	errs := sc.blockErrs(soft.Blocks(n, block))
	soft.ForBlocks(n, block, o.Workers, func(b, lo, hi int) {
		for r := lo; r < hi; r++ {
			if tooMany.Load() {
				return
			}
			ids, vals := sc.ids[r*stride:(r+1)*stride], sc.vals[r*stride:(r+1)*stride]
			p := rows.row(r)
			cnt := 0
			var sum float64
			for v := nextNonzero(p, 0); v < len(p); v = nextNonzero(p, v+1) {
				x := p[v]
				if !(x > 0 && x <= math.MaxFloat32) {
					errs[b] = fmt.Errorf("remote: %s: evidence entry %d is %v (want finite and ≥ 0)", rows.where(r), v, x)
					return
				}
				if cnt < stride {
					ids[cnt], vals[cnt] = int32(v), x
				} else if !lossy {
					tooMany.Store(true)
					errs[b] = errTooMany
					return
				}
				cnt++
				sum += float64(x)
			}
			if cnt == 0 {
				errs[b] = fmt.Errorf("remote: %s: evidence row has no positive entry (no token has positive likelihood)", rows.where(r))
				return
			}
			var resid float64
			if cnt > stride { // lossy: the largest entries, the rest as residual mass
				soft.TopK(ids, vals, p)
				var kept float64
				for _, x := range vals {
					kept += float64(x)
				}
				resid = max(sum-kept, 0)
				cnt = stride
			}
			sc.count[r] = int32(cnt)
			sc.resid[r] = float32(resid)
		}
	})
	if err := firstErr(errs); err != nil && err != errTooMany {
		return evidenceEnc{}, err
	}
	if tooMany.Load() {
		if !m.has.dense {
			return evidenceEnc{}, fmt.Errorf("remote: an evidence row has more than %d nonzero entries and the model takes no dense evidence: set EvidenceTopK", stride)
		}
		return evidenceEnc{}, nil
	}
	k := int32(1)
	for _, c := range sc.count[:n] {
		k = max(k, c)
	}
	return evidenceEnc{sparse: true, k: int(k), stride: stride}, nil
}

// evidenceInputs returns the request's evidence tensors.
func (m *Model) evidenceInputs(sc *scratch, rows rowsOf, enc evidenceEnc) []requestInput {
	n, L, K := len(rows.seqs), rows.L, m.K
	nr := rows.n()
	block := blockRows(K)
	if !enc.sparse {
		in := requestInput{Name: "evidence", Shape: []int{n, L, K}, Datatype: "FP32"}
		// encode validates every row and, given dst, writes it little-endian.
		encode := func(dst []byte) error {
			errs := sc.blockErrs(soft.Blocks(nr, block))
			soft.ForBlocks(nr, block, m.opts.Workers, func(b, lo, hi int) {
				for r := lo; r < hi; r++ {
					p := rows.row(r)
					pos := false
					for v, x := range p {
						if !(x >= 0 && x <= math.MaxFloat32) {
							errs[b] = fmt.Errorf("remote: %s: evidence entry %d is %v (want finite and ≥ 0)", rows.where(r), v, x)
							return
						}
						pos = pos || x > 0
					}
					if !pos {
						errs[b] = fmt.Errorf("remote: %s: evidence row has no positive entry (no token has positive likelihood)", rows.where(r))
						return
					}
					if dst != nil {
						d := dst[4*r*K : 4*(r+1)*K]
						for v, x := range p {
							putF32(d, v, x)
						}
					}
				}
			})
			return firstErr(errs)
		}
		if m.opts.JSON {
			flat := make([]float32, 0, nr*K)
			for r := 0; r < nr; r++ {
				flat = append(flat, rows.row(r)...)
			}
			in.Data = flat
			in.check = func() error { return encode(nil) }
			return []requestInput{in}
		}
		in.size = 4 * nr * K
		in.bin = encode
		return []requestInput{in}
	}
	k, st := enc.k, enc.stride
	ids := requestInput{Name: "evidence_ids", Shape: []int{n, L, k}, Datatype: "INT32"}
	vals := requestInput{Name: "evidence_values", Shape: []int{n, L, k}, Datatype: "FP32"}
	res := requestInput{Name: "evidence_residual", Shape: []int{n, L}, Datatype: "FP32"}
	// slot j of row r: the listed entry, or an unused slot (−1, 0)
	slot := func(r, j int) (int32, float32) {
		if j < int(sc.count[r]) {
			return sc.ids[r*st+j], sc.vals[r*st+j]
		}
		return -1, 0
	}
	if m.opts.JSON {
		fi, fv := make([]int32, nr*k), make([]float32, nr*k)
		for r := 0; r < nr; r++ {
			for j := 0; j < k; j++ {
				fi[r*k+j], fv[r*k+j] = slot(r, j)
			}
		}
		ids.Data, vals.Data, res.Data = fi, fv, sc.resid[:nr]
		return []requestInput{ids, vals, res}
	}
	ids.size, vals.size, res.size = 4*nr*k, 4*nr*k, 4*nr
	ids.bin = func(dst []byte) error {
		for r := 0; r < nr; r++ {
			for j := 0; j < k; j++ {
				id, _ := slot(r, j)
				putI32(dst, r*k+j, id)
			}
		}
		return nil
	}
	vals.bin = func(dst []byte) error {
		for r := 0; r < nr; r++ {
			for j := 0; j < k; j++ {
				_, x := slot(r, j)
				putF32(dst, r*k+j, x)
			}
		}
		return nil
	}
	res.bin = func(dst []byte) error {
		for r := 0; r < nr; r++ {
			putF32(dst, r, sc.resid[r])
		}
		return nil
	}
	return []requestInput{ids, vals, res}
}
