package nn

import (
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"sync"
	"sync/atomic"

	"github.com/softdiff/softdiff/internal/simdgemm"
	"github.com/softdiff/softdiff/soft"
)

// Files of a checkpoint directory.
const (
	ConfigFile  = "config.json"
	WeightsFile = "model.safetensors"
	ParityFile  = "parity.safetensors"
	CardFile    = "README.md"
)

// Model is a bidirectional transformer denoiser with fixed weights. It
// implements decode.Denoiser and decode.BatchDenoiser, is safe for
// concurrent use, and allocates nothing per call once a workspace of the
// call's size exists (workspaces are kept in a free list, one per
// concurrent call).
type Model struct {
	cfg     Config
	K, d, f int
	heads   int
	mask    int
	emb     []float32 // K×d input embedding, MASK row included
	pos     []float32 // MaxPositions×d, learned or sinusoidal
	layers  []layer
	lnfW    []float32
	lnfB    []float32
	head    []float32 // K×d output head (emb when tied)
	headB   []float32 // K
	// embP and headP are emb (as the K×d right operand of the embedding
	// product) and headᵀ packed once for the matrix kernel.
	embP, headP *simdgemm.PackedB
	workers     int

	pool *wsPool
	nfe  *atomic.Int64
}

type layer struct {
	ln1W, ln1B []float32
	qkvW, qkvB []float32 // 3d×d, 3d
	outW, outB []float32 // d×d, d
	ln2W, ln2B []float32
	fc1W, fc1B []float32 // f×d, f
	fc2W, fc2B []float32 // d×f, d
	// the weights' transposes packed once for the matrix kernel
	// (simdgemm.PackB): the products skip packing their right operand on
	// every call, with bit-identical results
	qkvP, outP, fc1P, fc2P *simdgemm.PackedB
}

// Options are a Model's run-time settings. The zero value is single-threaded.
type Options struct {
	// Workers bounds the goroutines of one call's matrix products; ≤ 1
	// means the calling goroutine only. Results do not depend on it.
	Workers int
}

// Load reads the checkpoint in directory dir: config.json and
// model.safetensors.
func Load(dir string) (*Model, error) {
	return LoadFS(os.DirFS(dir), ".")
}

// LoadFS reads the checkpoint in directory dir of fsys.
func LoadFS(fsys fs.FS, dir string) (*Model, error) {
	cb, err := fs.ReadFile(fsys, path.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	cfg, err := ParseConfig(cb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.Join(dir, ConfigFile), err)
	}
	wb, err := fs.ReadFile(fsys, path.Join(dir, WeightsFile))
	if err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	st, err := ParseSafetensors(wb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.Join(dir, WeightsFile), err)
	}
	m, err := New(cfg, st.Tensors)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.Join(dir, WeightsFile), err)
	}
	return m, nil
}

// New builds a model from a configuration and its named weights (the names
// and shapes Config.Names lists, widened to float32). Missing, unexpected,
// misshapen or non-finite tensors are errors naming the tensor. The tensors'
// data is used without copying.
func New(cfg Config, tensors map[string]Tensor) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	want := cfg.shapes()
	byName := make(map[string]bool, len(want))
	get := map[string][]float32{}
	for _, p := range want {
		byName[p.name] = true
		t, ok := tensors[p.name]
		if !ok {
			return nil, fmt.Errorf("nn: tensor %q is missing", p.name)
		}
		if !sameShape(t.Shape, p.shape) {
			return nil, fmt.Errorf("nn: tensor %q has shape %v, the config needs %v", p.name, t.Shape, p.shape)
		}
		if int64(len(t.Data)) != p.numel() {
			return nil, fmt.Errorf("nn: tensor %q holds %d values, shape %v needs %d", p.name, len(t.Data), p.shape, p.numel())
		}
		for i, x := range t.Data {
			if x-x != 0 {
				return nil, fmt.Errorf("nn: tensor %q, element %d is %v", p.name, i, x)
			}
		}
		get[p.name] = t.Data
	}
	if len(tensors) != len(want) {
		for _, name := range sortedKeys(tensors) {
			if !byName[name] {
				return nil, fmt.Errorf("nn: unexpected tensor %q (not in a %d-layer %s)", name, cfg.Layers, ModelType)
			}
		}
	}
	m := &Model{cfg: cfg, K: cfg.VocabSize, d: cfg.Hidden, f: cfg.Intermediate, heads: cfg.Heads, mask: cfg.MaskTokenID,
		emb: get["embed_tokens.weight"], lnfW: get["final_norm.weight"], lnfB: get["final_norm.bias"],
		headB: get["lm_head.bias"], pool: &wsPool{}, nfe: new(atomic.Int64)}
	m.head = m.emb
	if !cfg.TieWordEmbeddings {
		m.head = get["lm_head.weight"]
	}
	if cfg.PositionEmbedding == PositionLearned {
		m.pos = get["embed_positions.weight"]
	} else {
		m.pos = Sinusoidal(cfg.MaxPositions, cfg.Hidden)
	}
	for l := 0; l < cfg.Layers; l++ {
		g := func(s string) []float32 { return get[fmt.Sprintf("layers.%d.%s", l, s)] }
		m.layers = append(m.layers, layer{
			ln1W: g("attn_norm.weight"), ln1B: g("attn_norm.bias"),
			qkvW: g("attn.qkv.weight"), qkvB: g("attn.qkv.bias"),
			outW: g("attn.out.weight"), outB: g("attn.out.bias"),
			ln2W: g("mlp_norm.weight"), ln2B: g("mlp_norm.bias"),
			fc1W: g("mlp.fc1.weight"), fc1B: g("mlp.fc1.bias"),
			fc2W: g("mlp.fc2.weight"), fc2B: g("mlp.fc2.bias"),
		})
	}
	m.pack()
	return m, nil
}

// pack packs every weight matrix once as the right operand of its product
// (Wᵀ for the linear layers and the head, the embedding table as it is).
// The packed copies hold the weights a second time.
func (m *Model) pack() {
	K, d, f := m.K, m.d, m.f
	for i := range m.layers {
		ly := &m.layers[i]
		ly.qkvP = simdgemm.PackB(true, d, 3*d, ly.qkvW, d)
		ly.outP = simdgemm.PackB(true, d, d, ly.outW, d)
		ly.fc1P = simdgemm.PackB(true, d, f, ly.fc1W, d)
		ly.fc2P = simdgemm.PackB(true, f, d, ly.fc2W, f)
	}
	m.embP = simdgemm.PackB(false, K, d, m.emb, d)
	m.headP = simdgemm.PackB(true, d, K, m.head, d)
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Names returns the tensor names a checkpoint of configuration c holds, in
// the order the trainer writes them.
func (c Config) Names() []string {
	ps := c.shapes()
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}

// Shape returns the shape of tensor name in a checkpoint of configuration
// c, or nil if it has no such tensor.
func (c Config) Shape(name string) []int {
	for _, p := range c.shapes() {
		if p.name == name {
			return append([]int(nil), p.shape...)
		}
	}
	return nil
}

// Sinusoidal returns the n×d position table of Vaswani et al. (2017):
// row p, column j holds sin(p·ω) for even j and cos(p·ω) for odd j, with
// ω = 10000^(−2⌊j/2⌋/d), computed in float64.
func Sinusoidal(n, d int) []float32 {
	t := make([]float32, n*d)
	for p := 0; p < n; p++ {
		for j := 0; j < d; j++ {
			a := float64(p) * math.Pow(10000, -float64(2*(j/2))/float64(d))
			if j%2 == 0 {
				t[p*d+j] = float32(math.Sin(a))
			} else {
				t[p*d+j] = float32(math.Cos(a))
			}
		}
	}
	return t
}

// WithOptions returns a model that shares m's weights and NFE counter and
// runs with opts (its own workspaces).
func (m *Model) WithOptions(opts Options) *Model {
	c := *m
	c.workers = opts.Workers
	c.pool = &wsPool{}
	return &c
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// NFE returns the number of sequences denoised so far (a batch of B counts
// B), shared by the models WithOptions derives.
func (m *Model) NFE() int64 { return m.nfe.Load() }

// CheckVocab reports whether v is the vocabulary the model was trained on:
// the same size and MASK id, and the same token strings when the
// configuration lists them.
func (m *Model) CheckVocab(v *soft.Vocab) error {
	if v.Size() != m.K {
		return fmt.Errorf("nn: vocabulary has %d ids, the model %d", v.Size(), m.K)
	}
	if int(v.Mask()) != m.mask {
		return fmt.Errorf("nn: vocabulary's MASK id is %d, the model's %d", v.Mask(), m.mask)
	}
	for id, tok := range m.cfg.Tokens {
		if got := v.Token(int32(id)); got != tok {
			return fmt.Errorf("nn: token %d is %q in the vocabulary, %q in the model", id, got, tok)
		}
	}
	return nil
}

// wsPool is a free list of workspaces: Get reuses one, Put returns it.
// Unlike sync.Pool it never drops them, so a steady load allocates nothing.
type wsPool struct {
	mu   sync.Mutex
	free []*workspace
}

func (p *wsPool) get() *workspace {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		w := p.free[n-1]
		p.free = p.free[:n-1]
		return w
	}
	return &workspace{}
}

func (p *wsPool) put(w *workspace) {
	p.mu.Lock()
	p.free = append(p.free, w)
	p.mu.Unlock()
}
