package decode

import "fmt"

// Blocks is the semi-autoregressive split of a run's free positions into
// blocks of Options.BlockLen (counted in free positions: fixed ones are
// skipped), generated left to right by the block samplers (LLaDA,
// Fast-dLLM). BlockLen 0, or one larger than the number of free positions,
// means a single block. With no free position there are no blocks.
type Blocks struct {
	N, Len int // number of blocks, block length (in free positions)
	free   int
}

// NewBlocks returns the blocks of r. With exact set, the number of free
// positions must be a multiple of the block length (LLaDA's rule), else it
// is an error.
func NewBlocks(r *Run, exact bool) (Blocks, error) {
	nf := len(r.Free())
	if nf == 0 {
		return Blocks{}, nil
	}
	bl := r.Options().BlockLen
	if bl == 0 || bl > nf {
		bl = nf
	}
	if exact && nf%bl != 0 {
		return Blocks{}, fmt.Errorf("%d free positions are not a multiple of BlockLen %d", nf, bl)
	}
	return Blocks{N: (nf + bl - 1) / bl, Len: bl, free: nf}, nil
}

// Span returns block b as the range [lo, hi) of indices into r.Free().
func (b Blocks) Span(blk int) (lo, hi int) {
	lo = blk * b.Len
	return lo, min(lo+b.Len, b.free)
}

// maskedIn collects the uncommitted free positions r.Free()[lo:hi] into
// dst[:0] and returns it.
func maskedIn(dst []int, r *Run, lo, hi int) []int {
	dst = dst[:0]
	for _, i := range r.Free()[lo:hi] {
		if r.Masked(i) {
			dst = append(dst, i)
		}
	}
	return dst
}
