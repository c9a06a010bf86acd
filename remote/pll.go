package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// PLL is the pseudo-log-likelihood Σ_i log p(x_i | x_−i) of a remote model,
// a decode.JointScorer: p(x_i | x_−i) is the belief at i when every other
// position is hard evidence and position i is masked. One LogProb sends
// the L masked variants as requests of MaxBatch sequences (Concurrency at
// a time), with one-hot evidence as sparse rows and only the token_logprob
// output coming back, and sums the terms in position order. It counts its
// own function evaluations (L per LogProb) and the Model's. Safe for
// concurrent use.
type PLL struct {
	m   *Model
	nfe atomic.Int64
}

// PLL returns the model's pseudo-log-likelihood scorer. The model must
// offer input token_ids and output token_logprob, which travels as binary
// data (not with Options.JSON).
func (m *Model) PLL() (*PLL, error) {
	switch {
	case !m.has.tokenIDs || !m.has.tokenLogprob:
		return nil, fmt.Errorf("remote: %s: %w: the PLL needs input token_ids and output token_logprob", m.name, ErrMetadata)
	case m.opts.JSON:
		return nil, errors.New("remote: the PLL's token_logprob output (it holds -inf) travels as binary data only; drop Options.JSON")
	}
	return &PLL{m: m}, nil
}

// NFE returns the number of denoiser evaluations so far.
func (p *PLL) NFE() int64 { return p.nfe.Load() }

// LogProb implements decode.JointScorer; −Inf if some x_i has belief 0.
func (p *PLL) LogProb(x []int32) (float64, error) {
	m := p.m
	L := len(x)
	if L < 1 || L > m.max {
		return 0, fmt.Errorf("remote: PLL: length %d outside 1…%d", L, m.max)
	}
	for i, v := range x {
		if v < 0 || int(v) >= m.K || v == m.mask {
			return 0, fmt.Errorf("remote: PLL: token %d at position %d is not a token id", v, i)
		}
	}
	if err := m.ctx.Err(); err != nil {
		return 0, fmt.Errorf("remote: %w", err)
	}
	terms := make([]float64, L)
	nreq := (L + m.opts.MaxBatch - 1) / m.opts.MaxBatch
	errs := make([]error, nreq)
	ctx, cancel := context.WithCancel(m.ctx)
	defer cancel()
	mc := m.WithContext(ctx)
	var wg sync.WaitGroup
	for q := 0; q < nreq; q++ {
		lo, hi := q*m.opts.MaxBatch, min((q+1)*m.opts.MaxBatch, L)
		wg.Go(func() {
			select {
			case mc.sem <- struct{}{}:
			case <-ctx.Done():
				errs[q] = ctx.Err()
				return
			}
			defer func() { <-mc.sem }()
			if errs[q] = mc.pllInfer(x, lo, hi, terms); errs[q] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for q, err := range errs {
		if err != nil && (!errors.Is(err, context.Canceled) || m.ctx.Err() != nil) {
			return 0, fmt.Errorf("remote: PLL positions %d–%d: %w", q*m.opts.MaxBatch, min((q+1)*m.opts.MaxBatch, L)-1, err)
		}
	}
	p.nfe.Add(int64(L))
	m.nfe.Add(int64(L))
	var s float64
	for _, t := range terms {
		s += t
	}
	return s, nil
}

// pllInfer asks for the variants lo ≤ i < hi (x with position i masked)
// and writes terms[i] = log p(x_i | x_−i).
func (m *Model) pllInfer(x []int32, lo, hi int, terms []float64) error {
	n, L := hi-lo, len(x)
	tok := make([]int32, n*L)
	for j := 0; j < n; j++ {
		copy(tok[j*L:], x)
	}
	var req inferRequest
	if m.has.sparse {
		ids := make([]int32, n*L)
		copy(ids, tok)
		vals := make([]float32, n*L)
		for j := range vals {
			vals[j] = 1
		}
		for j := 0; j < n; j++ {
			ids[j*L+lo+j] = m.mask
		}
		req.Inputs = append(req.Inputs, m.i32Input("evidence_ids", []int{n, L, 1}, ids),
			m.f32Input("evidence_values", []int{n, L, 1}, vals), m.f32Input("evidence_residual", []int{n, L}, make([]float32, n*L)))
	} else {
		ev := make([]float32, n*L*m.K)
		for j := 0; j < n; j++ {
			for i, v := range x {
				if i == lo+j {
					v = m.mask
				}
				ev[(j*L+i)*m.K+int(v)] = 1
			}
		}
		req.Inputs = append(req.Inputs, m.f32Input("evidence", []int{n, L, m.K}, ev))
	}
	req.Inputs = append(req.Inputs, m.f32Input("t", []int{n}, make([]float32, n)), m.i32Input("token_ids", []int{n, L}, tok))
	req.Outputs = []requestOutput{m.output("token_logprob")}
	body, hdrLen, err := buildBody(nil, &req)
	if err != nil {
		return err
	}
	rep, err := m.call("infer", http.MethodPost, m.inferURL(), body, hdrLen, nil)
	if err != nil {
		return err
	}
	bad := func(err error) error {
		return &Error{Op: "infer", URL: m.inferURL(), Status: rep.status, Msg: err.Error(), Err: ErrBadResponse}
	}
	_, outs, err := parseResponse(rep.body, rep.header.Get("Inference-Header-Content-Length"))
	if err != nil {
		return bad(err)
	}
	t, err := want(outs, "token_logprob", "FP32", n, L)
	if err != nil {
		return bad(err)
	}
	for j := 0; j < n; j++ {
		i := lo + j
		v := float64(f32At(t.data, j*L+i))
		// log p ≤ 0 up to the rounding of a float32 log-softmax; −Inf is a
		// zero-probability token.
		if !(v <= 1e-5) {
			return bad(badResponse("PLL position %d: token_logprob is %v", i, v))
		}
		terms[i] = min(v, 0)
	}
	return nil
}
