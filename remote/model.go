package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/softdiff/softdiff/soft"
)

// Protocol is the value of the "softdiff_protocol" metadata parameter of a
// model that serves the tensors of docs/remote.md.
const Protocol = "softdiff-denoiser/1"

// Model is a denoiser served under the Open Inference Protocol. It
// implements decode.Denoiser, decode.BatchDenoiser and decode.Counter and
// is safe for concurrent use.
type Model struct {
	ctx   context.Context
	base  string // server URL without a trailing slash
	name  string
	opts  Options
	sem   chan struct{} // Concurrency tokens, shared by WithContext
	meta  *Metadata
	K     int
	mask  int32
	max   int // longest sequence
	has   caps
	nfe   *atomic.Int64
	stats *stats
}

// caps are the optional tensors the server offers.
type caps struct {
	dense, sparse, tokenIDs             bool // inputs
	beliefs, logits, topk, tokenLogprob bool // outputs
}

// Metadata is a model's metadata as the server gives it.
type Metadata struct {
	Name       string           `json:"name"`
	Versions   []string         `json:"versions"`
	Platform   string           `json:"platform"`
	Inputs     []TensorMetadata `json:"inputs"`
	Outputs    []TensorMetadata `json:"outputs"`
	Parameters map[string]any   `json:"parameters"`
}

// TensorMetadata describes one input or output; −1 is a variable dimension.
type TensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// Dial connects to model name on the server at baseURL (for example
// "http://127.0.0.1:8000"): it checks that the server and the model are
// ready and that the model's metadata offers the tensors opts need over
// the vocabulary opts.Vocab (if set). ctx bounds the checks and, stored in
// the Model, every later request (see WithContext).
func Dial(ctx context.Context, baseURL, name string, opts Options) (*Model, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote: server URL %q: want http://host:port", baseURL)
	}
	if name == "" || strings.ContainsAny(name, "/?#") {
		return nil, fmt.Errorf("remote: model name %q: want a non-empty name without / ? #", name)
	}
	if opts.TopK < 0 || opts.EvidenceTopK < 0 {
		return nil, fmt.Errorf("remote: negative TopK (%d) or EvidenceTopK (%d)", opts.TopK, opts.EvidenceTopK)
	}
	o := opts.withDefaults()
	m := &Model{ctx: ctx, base: strings.TrimRight(baseURL, "/"), name: name, opts: o,
		sem: make(chan struct{}, o.Concurrency), nfe: new(atomic.Int64), stats: &stats{}}
	if err := m.ready(m.base+"/v2/health/ready", "server"); err != nil {
		return nil, err
	}
	mu := m.base + "/v2/models/" + url.PathEscape(name)
	if err := m.ready(mu+"/ready", "model "+name); err != nil {
		return nil, err
	}
	rep, err := m.call("metadata", http.MethodGet, mu, nil, -1, nil)
	if err != nil {
		return nil, err
	}
	var md Metadata
	if err := json.Unmarshal(rep.body, &md); err != nil {
		return nil, &Error{Op: "metadata", URL: mu, Err: badResponse("model metadata: %v", err)}
	}
	if err := m.check(&md); err != nil {
		return nil, &Error{Op: "metadata", URL: mu, Msg: err.Error(), Err: ErrMetadata}
	}
	m.meta = &md
	return m, nil
}

// ready checks a readiness endpoint: HTTP 200, and no "ready": false.
func (m *Model) ready(u, what string) error {
	rep, err := m.call("ready", http.MethodGet, u, nil, -1, nil)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status != 0 {
			e.Err = ErrNotReady
			e.Msg = what + " is not ready: " + e.Msg
		}
		return err
	}
	var r struct {
		Ready *bool `json:"ready"`
	}
	if json.Unmarshal(rep.body, &r) == nil && r.Ready != nil && !*r.Ready {
		return &Error{Op: "ready", URL: u, Status: rep.status, Msg: what + " is not ready", Err: ErrNotReady}
	}
	return nil
}

// check validates the metadata against the options and records the
// vocabulary and the tensors offered.
func (m *Model) check(md *Metadata) error {
	if md.Name != m.name {
		return fmt.Errorf("metadata names model %q, asked for %q", md.Name, m.name)
	}
	if p, _ := md.Parameters["softdiff_protocol"].(string); p != Protocol {
		return fmt.Errorf("parameter softdiff_protocol is %q, want %q (docs/remote.md)", p, Protocol)
	}
	K, ok := intParam(md.Parameters, "vocab_size")
	if !ok || K < 3 || K > math.MaxInt32 {
		return fmt.Errorf("parameter vocab_size = %v, want an integer ≥ 3", md.Parameters["vocab_size"])
	}
	mask, ok := intParam(md.Parameters, "mask_token_id")
	if !ok || mask < 0 || mask >= K {
		return fmt.Errorf("parameter mask_token_id = %v, want an id in [0, %d)", md.Parameters["mask_token_id"], K)
	}
	maxLen, ok := intParam(md.Parameters, "max_length")
	if !ok || maxLen < 1 {
		return fmt.Errorf("parameter max_length = %v, want an integer ≥ 1", md.Parameters["max_length"])
	}
	if v := m.opts.Vocab; v != nil {
		if v.Size() != K {
			return fmt.Errorf("the model has %d states, the vocabulary %d", K, v.Size())
		}
		if int(v.Mask()) != mask {
			return fmt.Errorf("the model's MASK id is %d, the vocabulary's %d", mask, v.Mask())
		}
	}
	m.K, m.mask, m.max = K, int32(mask), maxLen
	ins, err := tensorSet(md.Inputs, K, "input")
	if err != nil {
		return err
	}
	outs, err := tensorSet(md.Outputs, K, "output")
	if err != nil {
		return err
	}
	if !ins["t"] {
		return errors.New(`no input "t" FP32 [-1]`)
	}
	h := caps{dense: ins["evidence"], tokenIDs: ins["token_ids"], beliefs: outs["beliefs"], logits: outs["logits"],
		tokenLogprob: outs["token_logprob"]}
	ns := btoi(ins["evidence_ids"]) + btoi(ins["evidence_values"]) + btoi(ins["evidence_residual"])
	if ns != 0 && ns != 3 {
		return errors.New("the model offers only some of evidence_ids, evidence_values, evidence_residual")
	}
	h.sparse = ns == 3
	nt := btoi(outs["topk_ids"]) + btoi(outs["topk_probs"]) + btoi(outs["topk_residual"])
	if nt != 0 && nt != 3 {
		return errors.New("the model offers only some of topk_ids, topk_probs, topk_residual")
	}
	h.topk = nt == 3
	o := m.opts
	switch {
	case !h.dense && !h.sparse:
		return errors.New(`no evidence input ("evidence" or the sparse evidence_* trio)`)
	case (o.EvidenceTopK > 0 || !h.dense) && !h.sparse:
		return errors.New("EvidenceTopK needs the sparse evidence inputs, which the model lacks")
	case o.DenseEvidence && !h.dense:
		return errors.New(`DenseEvidence needs input "evidence", which the model lacks`)
	case o.TopK > 0 && !h.topk:
		return errors.New("TopK needs the topk_ids, topk_probs, topk_residual outputs, which the model lacks")
	case o.TopK > K-1:
		return fmt.Errorf("TopK %d exceeds the %d tokens", o.TopK, K-1)
	case o.Logits && !h.logits:
		return errors.New(`Logits needs output "logits", which the model lacks`)
	case o.Logits && o.JSON:
		return errors.New("logits travel as binary data only (they hold -inf); drop JSON or Logits")
	case o.TopK == 0 && !o.Logits && !h.beliefs:
		return errors.New(`no output "beliefs" (ask for TopK or Logits if the model offers them)`)
	}
	m.has = h
	return nil
}

// wantShape gives the rank and the fixed last dimension (−1 if variable)
// of each tensor of the protocol.
var wantShape = map[string]struct {
	dtype string
	rank  int
	lastK bool
}{
	"evidence": {"FP32", 3, true}, "evidence_ids": {"INT32", 3, false}, "evidence_values": {"FP32", 3, false},
	"evidence_residual": {"FP32", 2, false}, "t": {"FP32", 1, false}, "token_ids": {"INT32", 2, false},
	"beliefs": {"FP32", 3, true}, "logits": {"FP32", 3, true}, "topk_ids": {"INT32", 3, false},
	"topk_probs": {"FP32", 3, false}, "topk_residual": {"FP32", 2, false}, "token_logprob": {"FP32", 2, false},
}

// tensorSet checks the known tensors of a metadata list (datatype, rank,
// last dimension K where it is the vocabulary) and returns their names.
// Unknown names are ignored.
func tensorSet(ts []TensorMetadata, K int, kind string) (map[string]bool, error) {
	set := map[string]bool{}
	for _, t := range ts {
		w, ok := wantShape[t.Name]
		if !ok {
			continue
		}
		if set[t.Name] {
			return nil, fmt.Errorf("%s %q listed twice", kind, t.Name)
		}
		if t.Datatype != w.dtype {
			return nil, fmt.Errorf("%s %q has datatype %s, want %s", kind, t.Name, t.Datatype, w.dtype)
		}
		if len(t.Shape) != w.rank {
			return nil, fmt.Errorf("%s %q has shape %v, want %d dimensions", kind, t.Name, t.Shape, w.rank)
		}
		if w.lastK && t.Shape[w.rank-1] != int64(K) {
			return nil, fmt.Errorf("%s %q has shape %v, want last dimension vocab_size = %d", kind, t.Name, t.Shape, K)
		}
		set[t.Name] = true
	}
	return set, nil
}

func intParam(p map[string]any, key string) (int, bool) {
	f, ok := p[key].(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int(f), true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// WithContext returns a Model that shares m's connections, Concurrency
// limit, NFE counter and statistics and makes its requests under ctx.
func (m *Model) WithContext(ctx context.Context) *Model {
	c := *m
	c.ctx = ctx
	return &c
}

// Metadata returns the model's metadata as the server gave it.
func (m *Model) Metadata() *Metadata { return m.meta }

// VocabSize returns K, the number of states (MASK included).
func (m *Model) VocabSize() int { return m.K }

// Mask returns the MASK id.
func (m *Model) Mask() int32 { return m.mask }

// MaxLen returns the longest sequence the model takes.
func (m *Model) MaxLen() int { return m.max }

// NFE returns the number of sequences denoised so far (a batch of B counts
// B), shared by the Models WithContext derives.
func (m *Model) NFE() int64 { return m.nfe.Load() }

// stats are the counters behind Stats.
type stats struct {
	requests, sequences, retries           atomic.Int64
	bytesOut, bytesIn                      atomic.Int64
	wall, encode, decode, forward, compute atomic.Int64 // nanoseconds
}

// Stats are cumulative counters of a Model's infer requests (shared by the
// Models WithContext derives). Wall, Encode and Decode are summed over
// requests (which may overlap in time); ServerForward and ServerCompute are
// what the server reported in the softdiff_forward_ms and
// softdiff_compute_ms response parameters (for a merged batch, each request
// reports the whole batch's time), zero if it reports nothing.
type Stats struct {
	Requests, Sequences, Retries int64
	BytesSent, BytesReceived     int64
	Wall                         time.Duration // from the first encode to the last decoded value
	Encode, Decode               time.Duration // building the request, checking and writing the answer
	ServerForward, ServerCompute time.Duration
}

// Stats returns the counters so far.
func (m *Model) Stats() Stats {
	s := m.stats
	return Stats{Requests: s.requests.Load(), Sequences: s.sequences.Load(), Retries: s.retries.Load(),
		BytesSent: s.bytesOut.Load(), BytesReceived: s.bytesIn.Load(),
		Wall: time.Duration(s.wall.Load()), Encode: time.Duration(s.encode.Load()), Decode: time.Duration(s.decode.Load()),
		ServerForward: time.Duration(s.forward.Load()), ServerCompute: time.Duration(s.compute.Load())}
}

// IDVocab returns a vocabulary of the model's K states named by their ids
// ("0", "1", …) with the MASK state named "[MASK]": enough to run the
// samplers when the token strings are not at hand.
func (m *Model) IDVocab() (*soft.Vocab, error) {
	toks := make([]string, m.K)
	for i := range toks {
		toks[i] = strconv.Itoa(i)
	}
	toks[m.mask] = "[MASK]"
	return soft.NewVocab(toks, soft.VocabOptions{Mask: "[MASK]"})
}
