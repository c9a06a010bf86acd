package remote

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/softdiff/softdiff/nn"
	"github.com/softdiff/softdiff/soft"
)

// fakeServer is an Open Inference Protocol server written for the tests,
// independently of the client: it parses requests and writes answers by
// docs/remote.md, computes them with an in-process nn.Model, and injects
// faults on request.
type fakeServer struct {
	t     *testing.T
	model *nn.Model
	name  string
	K     int
	mask  int32
	srv   *httptest.Server

	mu          sync.Mutex
	infers      int   // infer requests received
	inflight    int   // infer requests being answered
	maxInflight int   // most at once
	batches     []int // sequences per infer request, in arrival order
	lengths     []int // their lengths
	evKinds     []string

	// Hooks, set before the requests they concern.
	readyFails int                                                      // answer 503 to this many health checks first
	meta       func(md map[string]any)                                  // edit the metadata
	fault      func(n int, w http.ResponseWriter, r *http.Request) bool // n-th infer (from 1); true if it answered
	mutate     func(n int, outs []*fakeOut)                             // edit the outputs of the n-th infer
	gate       chan struct{}                                            // if set, each infer waits for a token
}

type fakeOut struct {
	Name     string
	Datatype string
	Shape    []int
	Vals     []float64 // FP32 or INT32 values
	binary   bool
}

func loadModel(t testing.TB, dir string) *nn.Model {
	t.Helper()
	m, err := nn.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newFake(t *testing.T, dir, name string) *fakeServer {
	m := loadModel(t, dir)
	cfg := m.Config()
	f := &fakeServer{t: t, model: m, name: name, K: cfg.VocabSize, mask: int32(cfg.MaskTokenID)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) url() string { return f.srv.URL }

// seen returns the infer requests received and the most in flight at once.
func (f *fakeServer) seen() (infers, maxInflight int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.infers, f.maxInflight
}

// lastKind returns the evidence encoding of the latest infer request.
func (f *fakeServer) lastKind() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.evKinds[len(f.evKinds)-1]
}

func (f *fakeServer) metadata() map[string]any {
	K := f.K
	ten := func(name, dt string, shape ...int) map[string]any {
		return map[string]any{"name": name, "datatype": dt, "shape": shape}
	}
	md := map[string]any{
		"name": f.name, "versions": []string{"1"}, "platform": "test",
		"inputs": []any{ten("evidence", "FP32", -1, -1, K), ten("evidence_ids", "INT32", -1, -1, -1),
			ten("evidence_values", "FP32", -1, -1, -1), ten("evidence_residual", "FP32", -1, -1),
			ten("t", "FP32", -1), ten("token_ids", "INT32", -1, -1)},
		"outputs": []any{ten("beliefs", "FP32", -1, -1, K), ten("logits", "FP32", -1, -1, K),
			ten("topk_ids", "INT32", -1, -1, -1), ten("topk_probs", "FP32", -1, -1, -1),
			ten("topk_residual", "FP32", -1, -1), ten("token_logprob", "FP32", -1, -1)},
		"parameters": map[string]any{"softdiff_protocol": "softdiff-denoiser/1", "vocab_size": K,
			"mask_token_id": f.mask, "max_length": f.model.Config().MaxPositions},
	}
	if f.meta != nil {
		f.meta(md)
	}
	return md
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && (p == "/v2/health/ready" || p == "/v2/models/"+f.name+"/ready"):
		f.mu.Lock()
		fail := f.readyFails > 0
		if fail {
			f.readyFails--
		}
		f.mu.Unlock()
		if fail {
			writeJSON(w, 503, map[string]any{"error": "warming up"})
			return
		}
		writeJSON(w, 200, map[string]any{"ready": true})
	case r.Method == http.MethodGet && p == "/v2/models/"+f.name:
		writeJSON(w, 200, f.metadata())
	case r.Method == http.MethodPost && p == "/v2/models/"+f.name+"/infer":
		f.infer(w, r)
	default:
		writeJSON(w, 404, map[string]any{"error": "no such endpoint " + p})
	}
}

func (f *fakeServer) infer(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.infers++
	n := f.infers
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if f.gate != nil {
		<-f.gate
	}
	if f.fault != nil && f.fault(n, w, r) {
		return
	}
	outs, err := f.compute(r)
	if err != nil {
		writeJSON(w, 400, map[string]any{"error": err.Error()})
		return
	}
	if f.mutate != nil {
		f.mutate(n, outs)
	}
	var head []map[string]any
	var blob bytes.Buffer
	for _, o := range outs {
		h := map[string]any{"name": o.Name, "datatype": o.Datatype, "shape": o.Shape}
		if o.binary {
			start := blob.Len()
			for _, v := range o.Vals {
				var b [4]byte
				if o.Datatype == "INT32" {
					binary.LittleEndian.PutUint32(b[:], uint32(int32(v)))
				} else {
					binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(v)))
				}
				blob.Write(b[:])
			}
			h["parameters"] = map[string]any{"binary_data_size": blob.Len() - start}
		} else {
			h["data"] = o.Vals
		}
		head = append(head, h)
	}
	hb, _ := json.Marshal(map[string]any{"model_name": f.name, "outputs": head,
		"parameters": map[string]any{"softdiff_forward_ms": 0.5, "softdiff_compute_ms": 1.0}})
	if blob.Len() > 0 {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Inference-Header-Content-Length", strconv.Itoa(len(hb)))
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(hb)+blob.Len()))
	w.WriteHeader(200)
	w.Write(hb)
	w.Write(blob.Bytes())
}

type reqTensor struct {
	Name       string          `json:"name"`
	Datatype   string          `json:"datatype"`
	Shape      []int           `json:"shape"`
	Parameters map[string]any  `json:"parameters"`
	Data       json.RawMessage `json:"data"`
	vals       []float64
}

// compute parses an infer request and answers it from the nn model.
func (f *fakeServer) compute(r *http.Request) ([]*fakeOut, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	hl := len(body)
	if s := r.Header.Get("Inference-Header-Content-Length"); s != "" {
		if hl, err = strconv.Atoi(s); err != nil {
			return nil, err
		}
	}
	var req struct {
		Inputs  []*reqTensor `json:"inputs"`
		Outputs []struct {
			Name       string         `json:"name"`
			Parameters map[string]any `json:"parameters"`
		} `json:"outputs"`
		Parameters map[string]any `json:"parameters"`
	}
	if err := json.Unmarshal(body[:hl], &req); err != nil {
		return nil, err
	}
	off := hl
	in := map[string]*reqTensor{}
	for _, t := range req.Inputs {
		count := 1
		for _, d := range t.Shape {
			count *= d
		}
		if sz, ok := t.Parameters["binary_data_size"]; ok {
			if int(sz.(float64)) != 4*count || off+4*count > len(body) {
				return nil, fmt.Errorf("input %s: bad binary size", t.Name)
			}
			for i := 0; i < count; i++ {
				u := binary.LittleEndian.Uint32(body[off+4*i:])
				if t.Datatype == "INT32" {
					t.vals = append(t.vals, float64(int32(u)))
				} else {
					t.vals = append(t.vals, float64(math.Float32frombits(u)))
				}
			}
			off += 4 * count
		} else if err := json.Unmarshal(t.Data, &t.vals); err != nil || len(t.vals) != count {
			return nil, fmt.Errorf("input %s: bad JSON data", t.Name)
		}
		in[t.Name] = t
	}
	if off != len(body) {
		return nil, fmt.Errorf("%d trailing bytes", len(body)-off)
	}
	K := f.K
	B := in["t"].Shape[0]
	var L int
	ev := make([]*soft.Dense, B)
	kind := "dense"
	if e, ok := in["evidence"]; ok {
		L = e.Shape[1]
		for b := range ev {
			ev[b] = soft.NewDense(L, K)
			for j := range ev[b].Data {
				ev[b].Data[j] = float32(e.vals[b*L*K+j])
			}
		}
	} else {
		ids, vals, res := in["evidence_ids"], in["evidence_values"], in["evidence_residual"]
		L = ids.Shape[1]
		k := ids.Shape[2]
		kind = fmt.Sprintf("sparse%d", k)
		for b := range ev {
			ev[b] = soft.NewDense(L, K)
			for i := 0; i < L; i++ {
				row, r := ev[b].Row(i), b*L+i
				used := 0
				for j := 0; j < k; j++ {
					if ids.vals[r*k+j] >= 0 {
						used++
					}
				}
				if used < K {
					for v := range row {
						row[v] = float32(res.vals[r] / float64(K-used))
					}
				}
				for j := 0; j < k; j++ {
					if id := int(ids.vals[r*k+j]); id >= 0 {
						row[id] = float32(vals.vals[r*k+j])
					}
				}
			}
		}
	}
	f.mu.Lock()
	f.batches = append(f.batches, B)
	f.lengths = append(f.lengths, L)
	f.evKinds = append(f.evKinds, kind)
	f.mu.Unlock()
	bel := make([]*soft.Dense, B)
	for b := range bel {
		bel[b] = soft.NewDense(L, K)
		if err := f.model.Denoise(bel[b], ev[b], 0.5); err != nil {
			return nil, err
		}
	}
	binAll, _ := req.Parameters["binary_data_output"].(bool)
	var outs []*fakeOut
	for _, o := range req.Outputs {
		bin := binAll
		if v, ok := o.Parameters["binary_data"].(bool); ok {
			bin = v
		}
		out := &fakeOut{Name: o.Name, Datatype: "FP32", binary: bin}
		switch o.Name {
		case "beliefs":
			out.Shape = []int{B, L, K}
			for _, d := range bel {
				for _, x := range d.Data {
					out.Vals = append(out.Vals, float64(x))
				}
			}
		case "logits":
			out.Shape = []int{B, L, K}
			z := make([]float32, L*K)
			for _, e := range ev {
				if err := f.model.Logits(z, e); err != nil {
					return nil, err
				}
				for _, x := range z {
					out.Vals = append(out.Vals, float64(x))
				}
			}
		case "token_logprob":
			out.Shape = []int{B, L}
			tok := in["token_ids"]
			for b, d := range bel {
				for i := 0; i < L; i++ {
					out.Vals = append(out.Vals, math.Log(float64(d.Row(i)[int(tok.vals[b*L+i])])))
				}
			}
		case "topk_ids", "topk_probs", "topk_residual":
			k := int(req.Parameters["top_k"].(float64))
			ids, ps := make([]int32, k), make([]float32, k)
			switch o.Name {
			case "topk_ids":
				out.Datatype, out.Shape = "INT32", []int{B, L, k}
			case "topk_probs":
				out.Shape = []int{B, L, k}
			default:
				out.Shape = []int{B, L}
			}
			for _, d := range bel {
				for i := 0; i < L; i++ {
					soft.TopK(ids, ps, d.Row(i))
					var s float64
					for j := range ids {
						if ps[j] == 0 {
							ids[j] = -1
						}
						s += float64(ps[j])
						switch o.Name {
						case "topk_ids":
							out.Vals = append(out.Vals, float64(ids[j]))
						case "topk_probs":
							out.Vals = append(out.Vals, float64(ps[j]))
						}
					}
					if o.Name == "topk_residual" {
						out.Vals = append(out.Vals, max(1-s, 0))
					}
				}
			}
		default:
			return nil, fmt.Errorf("unknown output %q", o.Name)
		}
		outs = append(outs, out)
	}
	return outs, nil
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("no hijacker")
	}
	c, _, err := hj.Hijack()
	if err != nil {
		panic(err)
	}
	c.Close()
}

// outNamed returns the output called name.
func outNamed(outs []*fakeOut, name string) *fakeOut {
	for _, o := range outs {
		if o.Name == name {
			return o
		}
	}
	panic("no output " + name)
}

func errContains(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q does not contain %q", err, s)
		}
	}
}
