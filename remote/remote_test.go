package remote

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/nn"
	"github.com/softdiff/softdiff/soft"
)

const tinyDir = "testdata/oip-tiny"

func vocabOf(t testing.TB, m *nn.Model) *soft.Vocab {
	t.Helper()
	v, err := soft.NewVocab(m.Config().Tokens, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// testEvidence returns evidence of every kind a sampler writes, over K
// states with MASK id mask: one-hot rows, MASK rows, hybrid rows (MASK mass
// plus a few tokens), dense soft rows, and unnormalised rows.
func testEvidence(rng *rand.Rand, L, K int, mask int32, kinds string) *soft.Dense {
	d := soft.NewDense(L, K)
	for i := 0; i < L; i++ {
		row := d.Row(i)
		tok := func() int {
			for {
				if v := rng.IntN(K); v != int(mask) {
					return v
				}
			}
		}
		switch kinds[i%len(kinds)] {
		case 'h': // hard token
			row[tok()] = 1
		case 'm': // MASK
			row[mask] = 1
		case 'y': // hybrid: MASK mass and two tokens
			row[mask] = 0.5
			row[tok()] += 0.3
			row[tok()] += 0.2
		case 's': // soft: every state positive
			for v := range row {
				row[v] = float32(rng.ExpFloat64())
			}
		case 'u': // unnormalised, some zeros
			for v := range row {
				if rng.IntN(3) > 0 {
					row[v] = float32(5 * rng.Float64())
				}
			}
			row[tok()] = 7
		}
	}
	return d
}

func dial(t *testing.T, f *fakeServer, opts Options) *Model {
	t.Helper()
	m, err := Dial(context.Background(), f.url(), f.name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// inProcess returns the nn model's beliefs.
func inProcess(t *testing.T, m *nn.Model, ev *soft.Dense) *soft.Dense {
	t.Helper()
	d := soft.NewDense(ev.L, ev.K)
	if err := m.Denoise(d, ev, 0.5); err != nil {
		t.Fatal(err)
	}
	return d
}

func equalDense(t *testing.T, what string, got, want *soft.Dense, tol float64) {
	t.Helper()
	for j := range want.Data {
		g, w := float64(got.Data[j]), float64(want.Data[j])
		if !(math.Abs(g-w) <= tol) {
			t.Fatalf("%s: position %d, state %d: got %v, want %v (tol %g)", what, j/want.K, j%want.K, g, w, tol)
		}
	}
}

// topkReading is the belief that the top k entries of p stand for, computed
// here by a sort: the k largest token probabilities (ties to the smaller
// id), and the rest of the mass spread over the other tokens.
func topkReading(p []float32, k int, mask int32) []float32 {
	idx := make([]int, 0, len(p))
	for v := range p {
		if v != int(mask) {
			idx = append(idx, v)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	out := make([]float32, len(p))
	listed := make([]bool, len(p))
	var kept float64
	n := 0
	for _, v := range idx[:k] {
		if p[v] > 0 {
			out[v], listed[v] = p[v], true
			kept += float64(p[v])
			n++
		}
	}
	rest := float32(0)
	if len(idx) > n {
		rest = float32(max(1-kept, 0) / float64(len(idx)-n))
	}
	for _, v := range idx {
		if !listed[v] {
			out[v] = rest
		}
	}
	return out
}

// TestDenoiseTransports checks every encoding against the in-process model:
// the fake server computes with the same nn.Model, so the transfer must be
// exact (dense beliefs and logits bit for bit; top-k as its reading).
func TestDenoiseTransports(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	K, mask := f.K, f.mask
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name   string
		opts   Options
		kinds  string
		evKind string // the encoding the server must see
	}{
		{"dense-beliefs/hard", Options{}, "hmhm", "sparse1"},
		{"dense-beliefs/hybrid", Options{}, "hmy", "sparse3"},
		{"dense-beliefs/soft", Options{}, "hmys", "dense"},
		{"forced-dense", Options{DenseEvidence: true}, "hm", "dense"},
		{"json", Options{JSON: true}, "hmysu", "dense"},
		{"json-sparse", Options{JSON: true}, "hmy", "sparse3"},
		{"logits", Options{Logits: true}, "hmysu", "dense"},
		{"topk-all", Options{TopK: K - 1}, "hmys", "dense"},
		{"topk-5", Options{TopK: 5}, "hmys", "dense"},
		{"topk-5-json", Options{TopK: 5, JSON: true}, "hmy", "sparse3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := dial(t, f, c.opts)
			ev := testEvidence(rng, 16, K, mask, c.kinds)
			got := soft.NewDense(16, K)
			if err := m.Denoise(got, ev, 0.25); err != nil {
				t.Fatal(err)
			}
			if k := f.lastKind(); k != c.evKind {
				t.Errorf("evidence travelled as %s, want %s", k, c.evKind)
			}
			want := inProcess(t, f.model, ev)
			if c.opts.TopK > 0 {
				for i := 0; i < 16; i++ {
					copy(want.Row(i), topkReading(want.Row(i), c.opts.TopK, mask))
				}
				equalDense(t, c.name, got, want, 1e-7)
				return
			}
			equalDense(t, c.name, got, want, 0)
		})
	}
}

// TestLossyEvidence: with EvidenceTopK, soft rows travel as their largest
// entries and residual mass; the server's beliefs are those of the row that
// reading stands for (built here by hand).
func TestLossyEvidence(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	K, mask := f.K, f.mask
	m := dial(t, f, Options{EvidenceTopK: 4})
	ev := testEvidence(rand.New(rand.NewPCG(3, 4)), 12, K, mask, "hmys")
	got := soft.NewDense(12, K)
	if err := m.Denoise(got, ev, 0.5); err != nil {
		t.Fatal(err)
	}
	if k := f.lastKind(); k != "sparse4" {
		t.Fatalf("evidence travelled as %s, want sparse4", k)
	}
	read := soft.NewDense(12, K)
	for i := 0; i < 12; i++ {
		row, out := ev.Row(i), read.Row(i)
		idx := make([]int, K)
		for v := range idx {
			idx[v] = v
		}
		sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
		var total, kept float64
		for _, x := range row {
			total += float64(x)
		}
		listed := 0
		for _, v := range idx[:4] {
			if row[v] > 0 {
				out[v] = row[v]
				kept += float64(row[v])
				listed++
			}
		}
		for _, v := range idx[listed:] {
			out[v] = float32((total - kept) / float64(K-listed))
		}
	}
	equalDense(t, "lossy evidence", got, inProcess(t, f.model, read), 1e-6)
}

// TestBatching: a batch is split into requests of at most MaxBatch
// sequences of one length, at most Concurrency in flight, and the beliefs
// are those of each sequence alone.
func TestBatching(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	K, mask := f.K, f.mask
	f.gate = make(chan struct{})
	m := dial(t, f, Options{MaxBatch: 3, Concurrency: 2})
	rng := rand.New(rand.NewPCG(5, 6))
	lens := []int{8, 8, 5, 8, 8, 5, 8, 8, 16, 8}
	ev, dst := make([]*soft.Dense, len(lens)), make([]*soft.Dense, len(lens))
	ts := make([]float64, len(lens))
	for b, L := range lens {
		ev[b] = testEvidence(rng, L, K, mask, "hmy")
		dst[b] = soft.NewDense(L, K)
		ts[b] = 0.5
	}
	done := make(chan error)
	go func() { done <- m.DenoiseBatch(dst, ev, ts) }()
	// Let the requests through one at a time, checking the limit each time.
	for i := 0; ; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			goto finished
		case f.gate <- struct{}{}:
		case <-time.After(10 * time.Second):
			t.Fatal("stuck")
		}
	}
finished:
	if _, mx := f.seen(); mx > 2 {
		t.Errorf("%d requests in flight at once, Concurrency is 2", mx)
	}
	// lengths 8 (7 sequences), 5 (2), 16 (1): requests 3+3+1, 2, 1
	got := map[int][]int{}
	for i, B := range f.batches {
		got[f.lengths[i]] = append(got[f.lengths[i]], B)
	}
	for L := range got {
		slices.Sort(got[L])
	}
	want := map[int][]int{8: {1, 3, 3}, 5: {2}, 16: {1}}
	for L, w := range want {
		if !slices.Equal(got[L], w) {
			t.Errorf("length %d: request sizes %v, want %v", L, got[L], w)
		}
	}
	for b := range ev {
		equalDense(t, "batched", dst[b], inProcess(t, f.model, ev[b]), 0)
	}
	if n := m.NFE(); n != int64(len(lens)) {
		t.Errorf("NFE %d, want %d", n, len(lens))
	}
	if s := m.Stats(); s.Requests != 5 || s.Sequences != 10 || s.ServerForward != 5*500*time.Microsecond {
		t.Errorf("stats %+v: want 5 requests, 10 sequences, 2.5 ms server forward", s)
	}
}

// TestRetries: transient failures are retried with backoff and then
// succeed; permanent ones fail at once; retries are bounded.
func TestRetries(t *testing.T) {
	fast := Options{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	cases := []struct {
		name     string
		fault    func(n int, w http.ResponseWriter, r *http.Request) bool
		opts     Options
		attempts int // infer requests the server sees
		status   int // 0: success
	}{
		{"503-then-ok", func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n <= 2 {
				writeJSON(w, 503, map[string]any{"error": "busy"})
				return true
			}
			return false
		}, fast, 3, 0},
		{"429-retry-after", func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n == 1 {
				w.Header().Set("Retry-After", "0")
				writeJSON(w, 429, map[string]any{"error": "slow down"})
				return true
			}
			return false
		}, fast, 2, 0},
		{"dropped-then-ok", func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n == 1 {
				drop(w)
				return true
			}
			return false
		}, fast, 2, 0},
		{"502-504", func(n int, w http.ResponseWriter, _ *http.Request) bool {
			if n <= 2 {
				writeJSON(w, []int{502, 504}[n-1], map[string]any{"error": "gateway"})
				return true
			}
			return false
		}, fast, 3, 0},
		{"500-not-retried", func(n int, w http.ResponseWriter, _ *http.Request) bool {
			writeJSON(w, 500, map[string]any{"error": "model exploded"})
			return true
		}, fast, 1, 500},
		{"400-not-retried", func(n int, w http.ResponseWriter, _ *http.Request) bool {
			writeJSON(w, 400, map[string]any{"error": "bad evidence"})
			return true
		}, fast, 1, 400},
		{"503-bounded", func(n int, w http.ResponseWriter, _ *http.Request) bool {
			writeJSON(w, 503, map[string]any{"error": "down"})
			return true
		}, Options{Retries: 2, Backoff: time.Millisecond}, 3, 503},
		{"no-retries", func(n int, w http.ResponseWriter, _ *http.Request) bool {
			writeJSON(w, 503, map[string]any{"error": "down"})
			return true
		}, Options{Retries: -1}, 1, 503},
		{"dropped-always", func(n int, w http.ResponseWriter, _ *http.Request) bool {
			drop(w)
			return true
		}, Options{Retries: 3, Backoff: time.Millisecond}, 4, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, tinyDir, "tiny")
			f.fault = c.fault
			m := dial(t, f, c.opts)
			ev := testEvidence(rand.New(rand.NewPCG(7, 8)), 6, f.K, f.mask, "hmy")
			dst := soft.NewDense(6, f.K)
			err := m.Denoise(dst, ev, 0.5)
			if n, _ := f.seen(); n != c.attempts {
				t.Errorf("server saw %d attempts, want %d", n, c.attempts)
			}
			if c.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				equalDense(t, c.name, dst, inProcess(t, f.model, ev), 0)
				if s := m.Stats(); s.Retries != int64(c.attempts-1) {
					t.Errorf("Stats.Retries = %d, want %d", s.Retries, c.attempts-1)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if e.Attempts != c.attempts || (c.status > 0 && e.Status != c.status) || e.Op != "infer" {
				t.Errorf("error %+v: want %d attempts, status %d", e, c.attempts, c.status)
			}
			errContains(t, err, "sequences 0")
		})
	}
}

// TestTimeoutAndCancel: a slow answer within the timeout is fine; beyond
// it, the attempt fails with a timeout (not retried); cancelling the
// Model's context aborts a request in flight at once.
func TestTimeoutAndCancel(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	release := make(chan struct{})
	f.fault = func(n int, w http.ResponseWriter, r *http.Request) bool {
		switch n {
		case 1:
			time.Sleep(50 * time.Millisecond)
		case 2:
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
			}
		default:
			<-release
		}
		return false
	}
	defer close(release)
	ev := testEvidence(rand.New(rand.NewPCG(9, 10)), 4, f.K, f.mask, "hm")
	dst := soft.NewDense(4, f.K)
	m := dial(t, f, Options{Timeout: 500 * time.Millisecond})
	if err := m.Denoise(dst, ev, 0.5); err != nil {
		t.Fatalf("a 50 ms delay under a 500 ms timeout: %v", err)
	}
	err := m.Denoise(dst, ev, 0.5)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow answer: %v, want a deadline error", err)
	}
	errContains(t, err, "no answer within 500ms")
	var e *Error
	if errors.As(err, &e); e.Attempts != 1 {
		t.Errorf("timeout retried: %d attempts", e.Attempts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mc := m.WithContext(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	err = mc.Denoise(dst, ev, 0.5)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancellation took %v", d)
	}
	if err := mc.Denoise(dst, ev, 0.5); !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %v", err)
	}
}

// TestBadAnswers: answers that break the protocol or the contract are
// ErrBadResponse errors naming what is wrong, never beliefs.
func TestBadAnswers(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name   string
		opts   Options
		mutate func(outs []*fakeOut)
		fault  func(w http.ResponseWriter)
		msg    string
	}{
		{"shape", Options{}, func(o []*fakeOut) { o[0].Shape[2]--; o[0].Vals = o[0].Vals[:len(o[0].Vals)-6] },
			nil, `output "beliefs" has shape [1 6 39], want [1 6 40]`},
		{"dtype", Options{}, func(o []*fakeOut) { o[0].Datatype = "INT32" }, nil, `"beliefs" has datatype INT32, want FP32`},
		{"missing", Options{}, func(o []*fakeOut) { o[0].Name = "belief" }, nil, `output "beliefs" is missing`},
		{"nan", Options{}, func(o []*fakeOut) { o[0].Vals[3*40+5] = nan }, nil, "sequence 0, position 3: belief is not a distribution"},
		{"negative", Options{}, func(o []*fakeOut) { o[0].Vals[2*40+1] = -0.1 }, nil, "sequence 0, position 2"},
		{"sum", Options{}, func(o []*fakeOut) {
			for j := 40; j < 80; j++ {
				o[0].Vals[j] *= 1.01
			}
		}, nil, "sequence 0, position 1"},
		{"mask-mass", Options{}, func(o []*fakeOut) { o[0].Vals[4*40+7] = 0.5; o[0].Vals[4*40+8] -= 0.5 }, nil, "sequence 0, position 4"},
		{"logit-nan", Options{Logits: true}, func(o []*fakeOut) { o[0].Vals[5*40+2] = nan }, nil, "sequence 0, position 5: logits"},
		{"logit-inf", Options{Logits: true}, func(o []*fakeOut) { o[0].Vals[40+2] = math.Inf(1) }, nil, "sequence 0, position 1: logits"},
		{"logit-all-neg-inf", Options{Logits: true}, func(o []*fakeOut) {
			for j := 0; j < 40; j++ {
				o[0].Vals[j] = math.Inf(-1)
			}
		}, nil, "sequence 0, position 0: logits"},
		{"topk-dup", Options{TopK: 3}, func(o []*fakeOut) {
			ids := outNamed(o, "topk_ids")
			ids.Vals[1] = ids.Vals[0]
		}, nil, "sequence 0, position 0: top-k id"},
		{"topk-mask", Options{TopK: 3}, func(o []*fakeOut) { outNamed(o, "topk_ids").Vals[2*3] = 7 }, nil, "sequence 0, position 2: top-k id 0 is 7"},
		{"topk-range", Options{TopK: 3}, func(o []*fakeOut) { outNamed(o, "topk_ids").Vals[1] = 40 }, nil, "top-k id 1 is 40"},
		{"topk-sum", Options{TopK: 3}, func(o []*fakeOut) { outNamed(o, "topk_residual").Vals[3] += 0.01 }, nil, "sequence 0, position 3: top-k probabilities and residual sum"},
		{"topk-nan", Options{TopK: 3}, func(o []*fakeOut) { outNamed(o, "topk_probs").Vals[4] = nan }, nil, "top-k probability 1 is NaN"},
		{"topk-resid-neg", Options{TopK: 3}, func(o []*fakeOut) { outNamed(o, "topk_residual").Vals[0] = -1 }, nil, "residual mass is -1"},
		{"truncated", Options{}, nil, func(w http.ResponseWriter) {
			w.Header().Set("Inference-Header-Content-Length", "10")
			w.Header().Set("Content-Length", "11")
			w.WriteHeader(200)
			w.Write([]byte(`{"outputs":`))
		}, "answer JSON"},
		{"binary-size", Options{}, nil, func(w http.ResponseWriter) {
			h := `{"outputs":[{"name":"beliefs","datatype":"FP32","shape":[1,6,40],"parameters":{"binary_data_size":960}}]}`
			w.Header().Set("Inference-Header-Content-Length", fmt.Sprint(len(h)))
			w.WriteHeader(200)
			w.Write([]byte(h + "short"))
		}, "binary data ends at byte"},
		{"trailing", Options{}, nil, func(w http.ResponseWriter) {
			w.WriteHeader(200)
			w.Write([]byte(`{"outputs":[]} x`))
		}, "answer JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, tinyDir, "tiny")
			if c.mutate != nil {
				f.mutate = func(_ int, outs []*fakeOut) { c.mutate(outs) }
			}
			if c.fault != nil {
				f.fault = func(_ int, w http.ResponseWriter, _ *http.Request) bool { c.fault(w); return true }
			}
			m := dial(t, f, c.opts)
			ev := testEvidence(rand.New(rand.NewPCG(11, 12)), 6, f.K, f.mask, "msy")
			err := m.Denoise(soft.NewDense(6, f.K), ev, 0.5)
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v does not wrap ErrBadResponse", err)
			}
			errContains(t, err, c.msg)
			if n, _ := f.seen(); n != 1 {
				t.Errorf("a bad answer was retried (%d requests)", n)
			}
		})
	}
}

// TestDialChecks: readiness and metadata are checked at Dial, with errors
// that say what does not match.
func TestDialChecks(t *testing.T) {
	m0 := loadModel(t, tinyDir)
	v := vocabOf(t, m0)
	other, _ := soft.NewVocab(append(slices.Clone(m0.Config().Tokens), "extra"), soft.VocabOptions{Mask: "[MASK]"})
	setParam := func(k string, val any) func(map[string]any) {
		return func(md map[string]any) { md["parameters"].(map[string]any)[k] = val }
	}
	dropTensor := func(list, name string) func(map[string]any) {
		return func(md map[string]any) {
			var keep []any
			for _, x := range md[list].([]any) {
				if x.(map[string]any)["name"] != name {
					keep = append(keep, x)
				}
			}
			md[list] = keep
		}
	}
	cases := []struct {
		name string
		meta func(map[string]any)
		opts Options
		is   error
		msg  string
	}{
		{"ok", nil, Options{Vocab: v}, nil, ""},
		{"vocab-size", nil, Options{Vocab: other}, ErrMetadata, "the model has 40 states, the vocabulary 41"},
		{"protocol", setParam("softdiff_protocol", "other/2"), Options{}, ErrMetadata, "softdiff_protocol"},
		{"vocab-param", setParam("vocab_size", 40.5), Options{}, ErrMetadata, "vocab_size = 40.5"},
		{"mask-param", setParam("mask_token_id", 40), Options{}, ErrMetadata, "mask_token_id = 40"},
		{"name", func(md map[string]any) { md["name"] = "other" }, Options{}, ErrMetadata, `names model "other"`},
		{"no-t", dropTensor("inputs", "t"), Options{}, ErrMetadata, `no input "t"`},
		{"no-beliefs", dropTensor("outputs", "beliefs"), Options{}, ErrMetadata, `no output "beliefs"`},
		{"no-topk", dropTensor("outputs", "topk_probs"), Options{TopK: 4}, ErrMetadata, "only some of topk_ids"},
		{"beliefs-K", func(md map[string]any) {
			md["outputs"].([]any)[0].(map[string]any)["shape"] = []int{-1, -1, 41}
		}, Options{}, ErrMetadata, `output "beliefs" has shape [-1 -1 41]`},
		{"beliefs-dtype", func(md map[string]any) {
			md["outputs"].([]any)[0].(map[string]any)["datatype"] = "FP16"
		}, Options{}, ErrMetadata, `output "beliefs" has datatype FP16`},
		{"topk-too-big", nil, Options{TopK: 40}, ErrMetadata, "TopK 40 exceeds the 39 tokens"},
		{"logits-json", nil, Options{Logits: true, JSON: true}, ErrMetadata, "binary data only"},
		{"sparse-only-lossy", dropTensor("inputs", "evidence_ids"), Options{EvidenceTopK: 3}, ErrMetadata, "only some of evidence_ids"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t, tinyDir, "tiny")
			f.meta = c.meta
			_, err := Dial(context.Background(), f.url(), "tiny", c.opts)
			if c.is == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, c.is) {
				t.Fatalf("error %v, want %v", err, c.is)
			}
			errContains(t, err, c.msg)
		})
	}
	t.Run("not-ready", func(t *testing.T) {
		f := newFake(t, tinyDir, "tiny")
		f.readyFails = 100
		_, err := Dial(context.Background(), f.url(), "tiny", Options{Retries: 2, Backoff: time.Millisecond})
		if !errors.Is(err, ErrNotReady) {
			t.Fatalf("error %v, want ErrNotReady", err)
		}
		errContains(t, err, "after 3 attempts", "server is not ready")
	})
	t.Run("ready-after-warmup", func(t *testing.T) {
		f := newFake(t, tinyDir, "tiny")
		f.readyFails = 2
		if _, err := Dial(context.Background(), f.url(), "tiny", Options{Backoff: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown-model", func(t *testing.T) {
		f := newFake(t, tinyDir, "tiny")
		_, err := Dial(context.Background(), f.url(), "nope", Options{})
		if !errors.Is(err, ErrNotReady) {
			t.Fatalf("error %v, want ErrNotReady", err)
		}
		errContains(t, err, "HTTP 404", "model nope is not ready")
	})
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = Dial(context.Background(), "http://"+addr, "tiny", Options{Retries: 2, Backoff: time.Millisecond})
		errContains(t, err, "connection refused", "after 3 attempts")
	})
	for _, bad := range []struct{ url, name string }{{"ftp://x", "m"}, {"http://", "m"}, {"http://h:1", ""}, {"http://h:1", "a/b"}} {
		if _, err := Dial(context.Background(), bad.url, bad.name, Options{}); err == nil {
			t.Errorf("Dial(%q, %q) accepted", bad.url, bad.name)
		}
	}
}

// TestEvidenceErrors: evidence that is not a likelihood, or of the wrong
// shape, is an error naming the sequence and position, and nothing is sent.
func TestEvidenceErrors(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	K := f.K
	for _, opts := range []Options{{}, {DenseEvidence: true}, {EvidenceTopK: 2}, {JSON: true, DenseEvidence: true}} {
		m := dial(t, f, opts)
		ev := testEvidence(rand.New(rand.NewPCG(1, 1)), 5, K, f.mask, "hm")
		ev2 := testEvidence(rand.New(rand.NewPCG(1, 1)), 5, K, f.mask, "hm")
		ev2.Row(3)[2] = float32(math.NaN())
		dst := []*soft.Dense{soft.NewDense(5, K), soft.NewDense(5, K)}
		err := m.DenoiseBatch(dst, []*soft.Dense{ev, ev2}, []float64{0.5, 0.5})
		errContains(t, err, "sequence 1, position 3: evidence entry 2 is NaN")
		ev2.Row(3)[2] = -1
		errContains(t, m.DenoiseBatch(dst, []*soft.Dense{ev, ev2}, []float64{0.5, 0.5}), "sequence 1, position 3: evidence entry 2 is -1")
		clear(ev2.Row(3))
		errContains(t, m.DenoiseBatch(dst, []*soft.Dense{ev, ev2}, []float64{0.5, 0.5}), "sequence 1, position 3: evidence row has no positive entry")
	}
	if n, _ := f.seen(); n != 0 {
		t.Errorf("%d requests sent for bad evidence", n)
	}
	m := dial(t, f, Options{})
	ok := soft.AllMask(4, K, f.mask)
	shapes := []struct {
		dst, ev []*soft.Dense
		t       []float64
		msg     string
	}{
		{nil, nil, nil, "empty batch"},
		{[]*soft.Dense{soft.NewDense(4, K)}, []*soft.Dense{ok}, []float64{0.5, 0.5}, "2 times for 1 sequences"},
		{[]*soft.Dense{soft.NewDense(4, K)}, []*soft.Dense{soft.AllMask(4, K-1, 0)}, []float64{0.5}, "sequence 0: evidence is not an L×40 state"},
		{[]*soft.Dense{soft.NewDense(17, K)}, []*soft.Dense{soft.AllMask(17, K, f.mask)}, []float64{0.5}, "1 ≤ L ≤ 16"},
		{[]*soft.Dense{soft.NewDense(3, K)}, []*soft.Dense{ok}, []float64{0.5}, "dst does not have"},
		{[]*soft.Dense{nil}, []*soft.Dense{ok}, []float64{0.5}, "dst does not have"},
		{[]*soft.Dense{soft.NewDense(4, K)}, []*soft.Dense{nil}, []float64{0.5}, "sequence 0: evidence"},
		{[]*soft.Dense{soft.NewDense(4, K)}, []*soft.Dense{ok}, []float64{math.NaN()}, "time NaN outside [0, 1]"},
	}
	for _, s := range shapes {
		errContains(t, m.DenoiseBatch(s.dst, s.ev, s.t), s.msg)
	}
}

// TestGenerateOverNetwork: decode.Generate over the remote model gives the
// in-process run's tokens at the same seed (the fake computes with the same
// nn.Model, so every belief is the same bits).
func TestGenerateOverNetwork(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	v := vocabOf(t, f.model)
	for _, opts := range []Options{{}, {TopK: 39}, {Logits: true}} {
		checkGenerate(t, dial(t, f, opts), f.model, v, 16, allAlgs, 3)
	}
	// Top-k beliefs leave the argmax and its probability exact: the samplers
	// at temperature 0 that read only those give the same tokens.
	checkGenerate(t, dial(t, f, Options{TopK: 3}), f.model, v, 16, argmaxAlgs, 3)
}

var (
	allAlgs    = []decode.Algorithm{decode.LLaDA{}, decode.FastDLLM{Threshold: 0.5}, decode.MDLM{}, decode.SoftSL{}}
	argmaxAlgs = []decode.Algorithm{decode.LLaDA{}, decode.FastDLLM{Threshold: 0.5}}
)

// checkGenerate runs the samplers algs over remote and local at seeds 1 …
// seeds and wants the same tokens.
func checkGenerate(t *testing.T, remote decode.Denoiser, local *nn.Model, v *soft.Vocab, L int, algs []decode.Algorithm, seeds uint64) {
	t.Helper()
	for _, alg := range algs {
		for seed := uint64(1); seed <= seeds; seed++ {
			o := decode.Options{Seed: seed, Steps: 8, BlockLen: 8}
			want, err := decode.Generate(context.Background(), local, v, L, alg, o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decode.Generate(context.Background(), remote, v, L, alg, o)
			if err != nil {
				t.Fatalf("%s seed %d: %v", alg.Name(), seed, err)
			}
			if !slices.Equal(got.Tokens, want.Tokens) || got.NFE != want.NFE {
				t.Errorf("%s seed %d: remote %v (%d NFE), in-process %v (%d NFE)", alg.Name(), seed, got.Tokens, got.NFE, want.Tokens, want.NFE)
			}
		}
	}
}

// TestPLL: the batched pseudo-log-likelihood equals decode.PLL over the
// in-process model.
func TestPLL(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	v := vocabOf(t, f.model)
	m := dial(t, f, Options{MaxBatch: 5})
	p, err := m.PLL()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := decode.NewPLL(f.model, v)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 3; trial++ {
		L := 3 + rng.IntN(14)
		// The fake sends log(belief) in float32: 1e-7 relative per term.
		comparePLL(t, p, ref, randomTokens(rng, L, f.K, f.mask), 1e-6*float64(L))
	}
	if p.NFE() != ref.NFE() {
		t.Errorf("NFE %d, decode.PLL %d", p.NFE(), ref.NFE())
	}
	for _, bad := range [][]int32{nil, {1, 7, 2}, {1, 40}, {-1}} {
		if _, err := p.LogProb(bad); err == nil {
			t.Errorf("LogProb(%v) accepted", bad)
		}
	}
	if _, err := dial(t, f, Options{JSON: true}).PLL(); err == nil {
		t.Error("PLL with JSON accepted")
	}
	// A zero-probability token scores −Inf with a nil error; NaN is an error.
	// (variant 1 reads position 1 of its row: value 1·3 + 1)
	f.mutate = func(_ int, outs []*fakeOut) { outs[0].Vals[4] = math.Inf(-1) }
	if s, err := p.LogProb([]int32{1, 2, 3}); err != nil || !math.IsInf(s, -1) {
		t.Errorf("−Inf term: %v, %v", s, err)
	}
	f.mutate = func(_ int, outs []*fakeOut) { outs[0].Vals[4] = math.NaN() }
	if _, err := p.LogProb([]int32{1, 2, 3}); !errors.Is(err, ErrBadResponse) {
		t.Errorf("NaN term: %v", err)
	}
}

// randomTokens returns L token ids other than mask, uniform over [0, K).
func randomTokens(rng *rand.Rand, L, K int, mask int32) []int32 {
	x := make([]int32, L)
	for i := range x {
		for x[i] = mask; x[i] == mask; {
			x[i] = int32(rng.IntN(K))
		}
	}
	return x
}

// comparePLL wants the remote and reference pseudo-log-likelihoods of x
// within tol.
func comparePLL(t *testing.T, p *PLL, ref decode.JointScorer, x []int32, tol float64) {
	t.Helper()
	got, err := p.LogProb(x)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.LogProb(x)
	if err != nil {
		t.Fatal(err)
	}
	if !(math.Abs(got-want) <= tol) {
		t.Errorf("L=%d: remote PLL %v, reference %v (tol %g)", len(x), got, want, tol)
	}
}

// TestConcurrentUse: many goroutines share one Model.
func TestConcurrentUse(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	m := dial(t, f, Options{Concurrency: 3})
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for g := range errs {
		wg.Go(func() {
			ev := testEvidence(rand.New(rand.NewPCG(uint64(g), 0)), 8, f.K, f.mask, "hmy")
			dst := soft.NewDense(8, f.K)
			if errs[g] = m.Denoise(dst, ev, 0.5); errs[g] == nil {
				want := inProcess(t, f.model, ev)
				if !slices.Equal(dst.Data, want.Data) {
					errs[g] = errors.New("beliefs differ")
				}
			}
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", g, err)
		}
	}
	if _, mx := f.seen(); mx > 3 {
		t.Errorf("%d in flight, Concurrency 3", mx)
	}
}

func TestParseSpec(t *testing.T) {
	for _, c := range []struct{ spec, base, name string }{
		{"oip:http://127.0.0.1:8000/llada", "http://127.0.0.1:8000", "llada"},
		{"http://gpu:8000/v2/models/dream/", "http://gpu:8000", "dream"},
		{"oip:https://h/m", "https://h", "m"},
	} {
		b, n, err := ParseSpec(c.spec)
		if err != nil || b != c.base || n != c.name {
			t.Errorf("ParseSpec(%q) = %q, %q, %v; want %q, %q", c.spec, b, n, err, c.base, c.name)
		}
	}
	for _, bad := range []string{"oip:", "oip:http://h", "oip:http://h/a/b", "oip:ftp://h/m", "http://h/m?x=1"} {
		if _, _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}

func TestFillConst(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 64, 100} {
		q := make([]float32, n)
		fillConst(q, 0.25)
		for i, x := range q {
			if x != 0.25 {
				t.Fatalf("n=%d: entry %d is %v", n, i, x)
			}
		}
	}
}

func TestIDVocab(t *testing.T) {
	f := newFake(t, tinyDir, "tiny")
	v, err := dial(t, f, Options{}).IDVocab()
	if err != nil {
		t.Fatal(err)
	}
	if v.Size() != 40 || v.Mask() != 7 || v.Token(12) != "12" || v.Token(7) != "[MASK]" {
		t.Errorf("IDVocab: size %d, mask %d, token 12 %q, token 7 %q", v.Size(), v.Mask(), v.Token(12), v.Token(7))
	}
}
