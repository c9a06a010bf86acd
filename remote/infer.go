package remote

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/softdiff/softdiff/soft"
)

// scratch holds one request's buffers, reused through a pool.
type scratch struct {
	ids   []int32    // rows × stride listed evidence ids
	vals  []float32  // and values
	resid []float32  // rows
	count []int32    // rows: listed entries
	errs  []error    // per block of parallel work
	body  []byte     // the request
	resp  []byte     // the answer
	seen  [][]uint64 // per block of the top-k check: a bitset over K
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (sc *scratch) grow(rows, stride int) {
	if n := rows * stride; cap(sc.ids) < n {
		sc.ids, sc.vals = make([]int32, n), make([]float32, n)
	}
	if cap(sc.resid) < rows {
		sc.resid, sc.count = make([]float32, rows), make([]int32, rows)
	}
	sc.ids, sc.vals = sc.ids[:rows*stride], sc.vals[:rows*stride]
	sc.resid, sc.count = sc.resid[:rows], sc.count[:rows]
}

func (sc *scratch) blockErrs(n int) []error {
	if cap(sc.errs) < n {
		sc.errs = make([]error, n)
	}
	sc.errs = sc.errs[:n]
	clear(sc.errs)
	return sc.errs
}

// Denoise implements decode.Denoiser: one sequence, one request.
func (m *Model) Denoise(dst, ev *soft.Dense, t float64) error {
	return m.DenoiseBatch([]*soft.Dense{dst}, []*soft.Dense{ev}, []float64{t})
}

// DenoiseBatch implements decode.BatchDenoiser. The sequences are sent in
// requests of at most MaxBatch sequences of one length, up to Concurrency
// at a time; the first failure (in sequence order) is returned and the
// other requests of the call are cancelled. Errors name the sequences.
func (m *Model) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	if len(ev) == 0 {
		return errors.New("remote: empty batch")
	}
	if len(dst) != len(ev) || len(t) != len(ev) {
		return fmt.Errorf("remote: %d destinations and %d times for %d sequences", len(dst), len(t), len(ev))
	}
	for b, e := range ev {
		if e == nil || e.K != m.K || e.L < 1 || e.L > m.max || len(e.Data) != e.L*e.K {
			return fmt.Errorf("remote: sequence %d: evidence is not an L×%d state with 1 ≤ L ≤ %d", b, m.K, m.max)
		}
		if d := dst[b]; d == nil || d.L != e.L || d.K != e.K || len(d.Data) != len(e.Data) {
			return fmt.Errorf("remote: sequence %d: dst does not have the evidence's shape %d×%d", b, e.L, e.K)
		}
		if !(t[b] >= 0 && t[b] <= 1) {
			return fmt.Errorf("remote: sequence %d: time %v outside [0, 1]", b, t[b])
		}
	}
	if err := m.ctx.Err(); err != nil {
		return fmt.Errorf("remote: %w", err)
	}
	groups := m.planLen(len(ev), func(b int) int { return ev[b].L })
	return m.runGroups(groups, func(mc *Model, seqs []int) error {
		return mc.limited(seqs, func() error { return mc.infer(seqs, dst, ev, t) })
	})
}

// runGroups runs one request per group concurrently (each under the
// Concurrency limit, through run), cancelling the others at the first
// failure, and returns the first failure in group order.
func (m *Model) runGroups(groups [][]int, run func(mc *Model, seqs []int) error) error {
	if len(groups) == 1 {
		return run(m, groups[0])
	}
	ctx, cancel := context.WithCancel(m.ctx)
	defer cancel()
	mc := m.WithContext(ctx)
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for g, seqs := range groups {
		wg.Go(func() {
			errs[g] = run(mc, seqs)
			if errs[g] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	// The first failure that is not a consequence of cancelling the others.
	for _, err := range errs {
		if err != nil && (!errors.Is(err, context.Canceled) || m.ctx.Err() != nil) {
			return err
		}
	}
	return firstErr(errs)
}

// planLen splits a batch of n sequences (sequence b of length lenOf(b))
// into requests: the sequences of each length, in order of first
// appearance, in chunks of at most MaxBatch.
func (m *Model) planLen(n int, lenOf func(b int) int) [][]int {
	var groups [][]int
	byLen := map[int]int{} // length → index of its open group
	for b := 0; b < n; b++ {
		l := lenOf(b)
		g, ok := byLen[l]
		if !ok || len(groups[g]) == m.opts.MaxBatch {
			groups = append(groups, make([]int, 0, min(m.opts.MaxBatch, n-b)))
			g = len(groups) - 1
			byLen[l] = g
		}
		groups[g] = append(groups[g], b)
	}
	return groups
}

// limited runs one request for seqs (do) under the Concurrency limit.
func (m *Model) limited(seqs []int, do func() error) error {
	select {
	case m.sem <- struct{}{}:
	case <-m.ctx.Done():
		return fmt.Errorf("remote: %w", m.ctx.Err())
	}
	defer func() { <-m.sem }()
	err := do()
	var e *Error
	if errors.As(err, &e) {
		return fmt.Errorf("remote: sequences %s: %w", span(seqs), err)
	}
	if err != nil {
		return err
	}
	m.nfe.Add(int64(len(seqs)))
	return nil
}

// span describes a list of sequence indices.
func span(seqs []int) string {
	if len(seqs) == 1 {
		return fmt.Sprint(seqs[0])
	}
	if seqs[len(seqs)-1]-seqs[0] == len(seqs)-1 {
		return fmt.Sprintf("%d–%d", seqs[0], seqs[len(seqs)-1])
	}
	return fmt.Sprint(seqs)
}

// outputs returns the outputs the options ask for.
func (m *Model) outputs() ([]string, map[string]any) {
	switch {
	case m.opts.TopK > 0:
		return []string{"topk_ids", "topk_probs", "topk_residual"}, map[string]any{"top_k": m.opts.TopK}
	case m.opts.Logits:
		return []string{"logits"}, nil
	}
	return []string{"beliefs"}, nil
}

func (m *Model) inferURL() string {
	return m.base + "/v2/models/" + url.PathEscape(m.name) + "/infer"
}

// infer makes one request for the sequences seqs (all of one length) and
// writes their beliefs.
func (m *Model) infer(seqs []int, dst, ev []*soft.Dense, t []float64) error {
	start := time.Now()
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	L := ev[seqs[0]].L
	rows := rowsOf{ev: ev, seqs: seqs, L: L, K: m.K}
	enc, err := m.scanEvidence(sc, rows)
	if err != nil {
		return err
	}
	req := &inferRequest{Inputs: m.evidenceInputs(sc, rows, enc)}
	ts := make([]float32, len(seqs))
	for j, b := range seqs {
		ts[j] = float32(t[b])
	}
	req.Inputs = append(req.Inputs, m.f32Input("t", []int{len(seqs)}, ts))
	return m.exchange(sc, req, len(seqs), start, func(outs map[string]tensor) error {
		return m.writeBeliefs(dst, rows, outs)
	})
}

// exchange completes req with the outputs the options ask for, sends it,
// parses the answer and hands its output tensors to write; a parse or write
// failure is an ErrBadResponse error naming the request. n is the number of
// sequences in the request, start when its encoding began (for Stats).
func (m *Model) exchange(sc *scratch, req *inferRequest, n int, start time.Time, write func(outs map[string]tensor) error) error {
	names, params := m.outputs()
	req.Parameters = params
	for _, nm := range names {
		req.Outputs = append(req.Outputs, m.output(nm))
	}
	body, hdrLen, err := buildBody(sc.body, req)
	if err != nil {
		return err
	}
	sc.body = body
	encoded := time.Now()
	rep, err := m.call("infer", http.MethodPost, m.inferURL(), body, hdrLen, &sc.resp)
	if err != nil {
		return err
	}
	answered := time.Now()
	resp, outs, err := parseResponse(rep.body, rep.header.Get("Inference-Header-Content-Length"))
	if err == nil {
		err = write(outs)
	}
	if err != nil {
		return &Error{Op: "infer", URL: m.inferURL(), Status: rep.status, Msg: err.Error(), Err: ErrBadResponse}
	}
	m.record(resp, n, start, encoded, answered)
	return nil
}

// f32Input is an FP32 input tensor, binary unless the options say JSON.
func (m *Model) f32Input(name string, shape []int, x []float32) requestInput {
	return wireInput(m, name, "FP32", shape, x, func(dst []byte, i int, v float32) { putF32(dst, i, v) })
}

// i32Input is an INT32 input tensor, binary unless the options say JSON.
func (m *Model) i32Input(name string, shape []int, x []int32) requestInput {
	return wireInput(m, name, "INT32", shape, x, func(dst []byte, i int, v int32) { putI32(dst, i, v) })
}

func wireInput[T any](m *Model, name, dtype string, shape []int, x []T, put func([]byte, int, T)) requestInput {
	in := requestInput{Name: name, Shape: shape, Datatype: dtype}
	if m.opts.JSON {
		in.Data = x
		return in
	}
	in.size = 4 * len(x)
	in.bin = func(dst []byte) error {
		for i, v := range x {
			put(dst, i, v)
		}
		return nil
	}
	return in
}

func (m *Model) output(name string) requestOutput {
	return requestOutput{Name: name, Parameters: &binFlag{BinaryData: !m.opts.JSON}}
}

// record adds one request to the statistics.
func (m *Model) record(resp *inferResponse, n int, start, encoded, answered time.Time) {
	s, now := m.stats, time.Now()
	s.requests.Add(1)
	s.sequences.Add(int64(n))
	s.wall.Add(int64(now.Sub(start)))
	s.encode.Add(int64(encoded.Sub(start)))
	s.decode.Add(int64(now.Sub(answered)))
	if ms, ok := msParam(resp.Parameters, "softdiff_forward_ms"); ok {
		s.forward.Add(int64(ms * 1e6))
	}
	if ms, ok := msParam(resp.Parameters, "softdiff_compute_ms"); ok {
		s.compute.Add(int64(ms * 1e6))
	}
}

func msParam(p map[string]any, key string) (float64, bool) {
	v, ok := p[key]
	if !ok {
		return 0, false
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case interface{ Float64() (float64, error) }:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if !(f >= 0) || math.IsInf(f, 1) {
		return 0, false
	}
	return f, true
}
