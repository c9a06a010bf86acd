package decode

import (
	"fmt"

	"github.com/softdiff/softdiff/decode/draw"
	"github.com/softdiff/softdiff/soft"
)

// TopDenoiser is a Denoiser that can also answer in top-k form
// (soft.TopBeliefs: per position the k listed tokens, their probabilities
// and the residual mass, spread uniformly over the tokens neither listed
// nor MASK) for hard evidence — the answer a served model with a vocabulary
// of 126,464 tokens gives in 129 KiB per sequence instead of 126 MiB.
//
// TopK is the number of slots per row of its answers; 0 means it answers
// only dense beliefs (the run then calls Denoise). DenoiseTop writes into
// dst (L×K rows of TopK() slots, Mask the vocabulary's MASK) the beliefs
// given hard evidence: tokens[i] is the identity of position i, the MASK
// id where uncommitted, so that the evidence row Denoise would be handed is
// one-hot at tokens[i]. tokens is the run's own slice: read it, never keep
// or change it. Otherwise the contract is Denoise's (one NFE, safe for
// concurrent use, an error rather than NaN).
//
// Generate uses DenoiseTop instead of Denoise when the sampler reads only
// top-k beliefs (TopSampler) and the options need no dense end state
// (Options.Final and Options.Record are unset).
type TopDenoiser interface {
	Denoiser
	TopK() int
	DenoiseTop(dst *soft.TopBeliefs, tokens []int32, t float64) error
}

// TopBatchDenoiser is TopDenoiser for B sequences per call, with
// BatchDenoiser's contract per sequence: GenerateBatch uses it as Generate
// uses TopDenoiser.
type TopBatchDenoiser interface {
	BatchDenoiser
	TopK() int
	DenoiseTopBatch(dst []*soft.TopBeliefs, tokens [][]int32, t []float64) error
}

// TopSampler is implemented by the samplers that can run on top-k beliefs:
// ReadsTopK reports that the configuration reads the beliefs only through
// Run's Argmax, Entropy, Prob, Margin, Candidate, CheckBelief and BeliefRow
// (never Beliefs), and changes evidence only through SetToken (never
// Evidence). Such a run, given a TopDenoiser, holds no L×K matrix: its
// beliefs are the answer's top-k rows, Argmax, Prob and Margin read them in
// O(k), exactly equal to the same reads of their dense expansion
// (soft.TopRow.Expand), and Entropy differs from the dense one only in the
// order of its float64 additions. BeliefRow expands one row into a scratch
// row (O(K)) for the rules that need a whole row (a draw at a temperature
// above 0, Dream's top-p and top-k filters), so those too give the dense
// path's tokens, at the dense cost for those rows only.
//
// LLaDA, FastDLLM and Dream implement it (every configuration). Samplers
// that write evidence rows or read whole belief matrices (the soft and
// hybrid samplers, ReMDM, MDLM, the kernel samplers, …) do not, and run on
// the dense path whatever the denoiser.
type TopSampler interface {
	Algorithm
	ReadsTopK() bool
}

// ReadsTopK implements TopSampler.
func (LLaDA) ReadsTopK() bool { return true }

// ReadsTopK implements TopSampler.
func (FastDLLM) ReadsTopK() bool { return true }

// ReadsTopK implements TopSampler.
func (Dream) ReadsTopK() bool { return true }

// topSource is what a run needs for the top-k path.
type topSource struct {
	k    int
	call func(dst *soft.TopBeliefs, tokens []int32, t float64) error
}

// topPath reports whether alg and opts allow the top-k path.
func topPath(alg Algorithm, opts Options) bool {
	ts, ok := alg.(TopSampler)
	return ok && ts.ReadsTopK() && opts.Final == nil && !opts.Record
}

// topOf returns the top-k source of den for alg and opts, or nil for the
// dense path.
func topOf(den Denoiser, alg Algorithm, opts Options) *topSource {
	td, ok := den.(TopDenoiser)
	if !ok || !topPath(alg, opts) {
		return nil
	}
	k := td.TopK()
	if k <= 0 {
		return nil
	}
	return &topSource{k: k, call: td.DenoiseTop}
}

// topState is the part of a Run for the top-k path.
type topState struct {
	top      *soft.TopBeliefs // last good beliefs; nil on the dense path
	topSpare *soft.TopBeliefs
	topCall  func(dst *soft.TopBeliefs, tokens []int32, t float64) error
	row      []float32  // BeliefRow's expansion, K entries (allocated at first use)
	seen     [][]uint64 // per check block: a bitset over K for the duplicate check
	topCheck func(b, lo, hi int)
}

func (r *Run) initTop(src *topSource) {
	k := min(src.k, r.k)
	r.top = soft.NewTopBeliefs(r.l, r.k, k, r.mask)
	r.topSpare = soft.NewTopBeliefs(r.l, r.k, k, r.mask)
	r.topCall = src.call
	r.seen = make([][]uint64, soft.Blocks(r.l, checkBlock))
	for b := range r.seen {
		r.seen[b] = make([]uint64, (r.k+63)/64)
	}
	r.topCheck = r.checkTopRows
}

// denoiseTop is Denoise on the top-k path (after the NFE count).
func (r *Run) denoiseTop(t float64) error {
	if err := r.topCall(r.topSpare, r.x, t); err != nil {
		r.denoiserFailed = true
		return err
	}
	soft.ForBlocks(r.l, checkBlock, r.opts.Workers, r.topCheck)
	for _, err := range r.checkErr {
		if err != nil {
			return fmt.Errorf("denoiser call %d: %w", r.nfe, err)
		}
	}
	r.top, r.topSpare = r.topSpare, r.top
	r.haveBel = true
	return nil
}

// checkTopRows checks the top-k rows in r.topSpare of the uncommitted free
// positions in [lo, hi) and stores their argmax and entropy.
func (r *Run) checkTopRows(b, lo, hi int) {
	r.checkErr[b] = nil
	for i := lo; i < hi; i++ {
		if r.fixed[i] || r.x[i] != r.mask {
			continue
		}
		row := r.topSpare.Row(i)
		if err := row.Check(r.seen[b]); err != nil {
			r.checkErr[b] = fmt.Errorf("invalid belief at position %d: %w", i, err)
			return
		}
		r.amax[i] = row.Argmax()
		if r.needEnt {
			r.ent[i] = draw.EntropyTop(row)
		}
	}
}

func (r *Run) checkTopBelief(i int) error {
	if err := r.top.Row(i).Check(nil); err != nil {
		return fmt.Errorf("denoiser call %d: invalid belief at position %d: %w", r.nfe, i, err)
	}
	return nil
}

// TopBeliefs returns the top-k beliefs of the last successful Denoise on
// the top-k path, nil on the dense path.
func (r *Run) TopBeliefs() *soft.TopBeliefs { return r.top }

// Prob returns the belief of position i in token v: Beliefs().Row(i)[v] on
// the dense path, the same value of the row's expansion in O(k) on the
// top-k path.
func (r *Run) Prob(i int, v int32) float64 {
	if r.top != nil {
		return float64(r.top.Row(i).Prob(v))
	}
	return float64(r.bel.Row(i)[v])
}

// Margin returns soft.Margin of the belief of position i (the argmax and
// the gap to the second largest probability), in O(k) on the top-k path.
func (r *Run) Margin(i int) (int32, float32) {
	if r.top != nil {
		return r.top.Row(i).Margin()
	}
	return soft.Margin(r.bel.Row(i))
}

// BeliefRow returns the belief row of position i (K entries): a view of
// Beliefs() on the dense path; on the top-k path the row's expansion
// written into a scratch row of the run, O(K), valid until the next
// BeliefRow call. Read it, do not change it.
func (r *Run) BeliefRow(i int) []float32 {
	if r.top == nil {
		return r.bel.Row(i)
	}
	if r.row == nil {
		r.row = make([]float32, r.k)
	}
	r.top.Row(i).Expand(r.row)
	return r.row
}

// topBatch is the top-k part of GenerateBatch's batcher.
type topBatch struct {
	tden  TopBatchDenoiser // nil: every request is dense
	tk    int
	tdst  []*soft.TopBeliefs
	tx    [][]int32
	tt    []float64
	tq    []batchReq
	tone  [1]*soft.TopBeliefs
	toneX [1][]int32
}

func newTopBatch(den BatchDenoiser, B int) topBatch {
	td, ok := den.(TopBatchDenoiser)
	if !ok || td.TopK() <= 0 {
		return topBatch{}
	}
	return topBatch{tden: td, tk: td.TopK(), tdst: make([]*soft.TopBeliefs, 0, B), tx: make([][]int32, 0, B), tq: make([]batchReq, 0, B), tt: make([]float64, 0, B)}
}

// topSource returns sequence j's top-k source, or nil for the dense path.
func (b *batcher) topSource(j int, alg Algorithm, opts Options) *topSource {
	if b.tden == nil || !topPath(alg, opts) {
		return nil
	}
	return &topSource{k: b.tk, call: func(dst *soft.TopBeliefs, x []int32, t float64) error {
		b.reqs <- batchReq{seq: j, top: dst, x: x, t: t}
		return <-b.resp[j]
	}}
}

// flushTop answers the top-k requests of b.pend (sorted by sequence) with
// one DenoiseTopBatch call, retrying one by one if it fails, and leaves the
// dense requests in b.pend.
func (b *batcher) flushTop() {
	if b.tden == nil {
		return
	}
	b.tq, b.tdst, b.tx, b.tt = b.tq[:0], b.tdst[:0], b.tx[:0], b.tt[:0]
	n := 0
	for _, q := range b.pend {
		if q.top == nil {
			b.pend[n] = q
			n++
			continue
		}
		b.tq = append(b.tq, q)
		b.tdst = append(b.tdst, q.top)
		b.tx = append(b.tx, q.x)
		b.tt = append(b.tt, q.t)
	}
	b.pend = b.pend[:n]
	if len(b.tq) == 0 {
		return
	}
	if err := b.tden.DenoiseTopBatch(b.tdst, b.tx, b.tt); err == nil {
		for _, q := range b.tq {
			b.resp[q.seq] <- nil
		}
	} else {
		for _, q := range b.tq {
			b.tone[0], b.toneX[0], b.oneT[0] = q.top, q.x, q.t
			b.resp[q.seq] <- b.tden.DenoiseTopBatch(b.tone[:], b.toneX[:], b.oneT[:])
		}
		b.tone[0], b.toneX[0] = nil, nil
	}
	clear(b.tdst)
	clear(b.tx)
}

// TopCut returns den as a denoiser that answers every call with the k most
// probable tokens of den's beliefs and their residual (the row's mass
// minus the listed mass, summed in float64, clipped at 0): DenoiseTop and
// DenoiseTopBatch in top-k form, Denoise and DenoiseBatch as the dense
// expansion of the same cut (soft.TopRow.Expand). The two paths of a
// TopSampler therefore see the same beliefs and give the same tokens, and
// the cut shows what a top-k transfer does to a sampler on an exact
// oracle. v is den's vocabulary (its MASK is never listed: a MASK entry
// chosen by the cut, of probability 0, becomes an unused slot). It
// allocates an L×K buffer per top-k call.
func TopCut(den Denoiser, v *soft.Vocab, k int) interface {
	TopDenoiser
	TopBatchDenoiser
} {
	return topCut{den: den, v: v, k: max(1, min(k, v.Size()))}
}

type topCut struct {
	den Denoiser
	v   *soft.Vocab
	k   int
}

func (c topCut) TopK() int { return c.k }

// cut writes the top-k cut of the dense row p into slots ids, probs and
// returns the residual.
func (c topCut) cut(ids []int32, probs, p []float32) float32 {
	soft.TopK(ids, probs, p)
	var all, top float64
	for _, x := range p {
		all += float64(x)
	}
	for j, id := range ids {
		if id == c.v.Mask() {
			ids[j], probs[j] = -1, 0
		}
		top += float64(probs[j])
	}
	return float32(max(all-top, 0))
}

func (c topCut) Denoise(dst, ev *soft.Dense, t float64) error {
	if err := c.den.Denoise(dst, ev, t); err != nil {
		return err
	}
	ids, probs := make([]int32, c.k), make([]float32, c.k)
	for i := 0; i < dst.L; i++ {
		p := dst.Row(i)
		res := c.cut(ids, probs, p)
		soft.TopRow{K: dst.K, Mask: c.v.Mask(), IDs: ids, Probs: probs, Resid: res}.Expand(p)
	}
	return nil
}

func (c topCut) DenoiseTop(dst *soft.TopBeliefs, x []int32, t float64) error {
	K := c.v.Size()
	if dst == nil || dst.L != len(x) || dst.K != K || dst.Top != c.k {
		return fmt.Errorf("TopCut: destination is not %d×%d with %d slots", len(x), K, c.k)
	}
	ev := soft.NewDense(len(x), K)
	for i, id := range x {
		if id < 0 || int(id) >= K {
			return fmt.Errorf("TopCut: token %d at position %d outside [0, %d)", id, i, K)
		}
		ev.Row(i)[id] = 1
	}
	bel := soft.NewDense(len(x), K)
	if err := c.den.Denoise(bel, ev, t); err != nil {
		return err
	}
	for i := range x {
		r := dst.Row(i)
		dst.Resid[i] = c.cut(r.IDs, r.Probs, bel.Row(i))
	}
	return nil
}

func (c topCut) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	if err := checkBatch(dst, ev, t); err != nil {
		return err
	}
	for j := range ev {
		if err := c.Denoise(dst[j], ev[j], t[j]); err != nil {
			return fmt.Errorf("sequence %d: %w", j, err)
		}
	}
	return nil
}

func (c topCut) DenoiseTopBatch(dst []*soft.TopBeliefs, x [][]int32, t []float64) error {
	if len(dst) == 0 || len(x) != len(dst) || len(t) != len(dst) {
		return fmt.Errorf("batch of %d destinations, %d token rows, %d times", len(dst), len(x), len(t))
	}
	for j := range dst {
		if err := c.DenoiseTop(dst[j], x[j], t[j]); err != nil {
			return fmt.Errorf("sequence %d: %w", j, err)
		}
	}
	return nil
}
