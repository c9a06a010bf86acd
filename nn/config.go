package nn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// ModelType is the model_type of every softdiff denoiser configuration.
const ModelType = "softdiff-denoiser"

// Position-embedding kinds of Config.PositionEmbedding.
const (
	PositionLearned    = "learned"    // a trained table, one row per position
	PositionSinusoidal = "sinusoidal" // the fixed sin/cos table of Vaswani et al. (2017)
)

// Config is a denoiser's architecture, read from the config.json beside its
// weights, in the field names of the model hubs' transformer configurations.
// Training provenance (objective, testbed, steps) travels in the same file
// and in the model card; the forward reads only the architecture.
type Config struct {
	ModelType         string  `json:"model_type"`
	VocabSize         int     `json:"vocab_size"`    // K, MASK included
	MaskTokenID       int     `json:"mask_token_id"` // the MASK state's id in [0, K)
	MaxPositions      int     `json:"max_position_embeddings"`
	Hidden            int     `json:"hidden_size"`
	Layers            int     `json:"num_hidden_layers"`
	Heads             int     `json:"num_attention_heads"`
	Intermediate      int     `json:"intermediate_size"`
	HiddenAct         string  `json:"hidden_act"` // "gelu" (the exact, erf form)
	LayerNormEps      float64 `json:"layer_norm_eps"`
	PositionEmbedding string  `json:"position_embedding_type"` // PositionLearned or PositionSinusoidal
	TieWordEmbeddings bool    `json:"tie_word_embeddings"`     // output head shares the input embedding table
	// EvidenceSkip adds log ℓ̂ (the normalised evidence likelihood) to the
	// output logits (docs/models.md).
	EvidenceSkip bool `json:"evidence_skip"`
	// Tokens, if set, are the K token strings of the vocabulary the model
	// was trained on (CheckVocab compares them).
	Tokens []string `json:"tokens,omitempty"`
	// Provenance: the training objective ("mdlm", "soft" or "mix"), the
	// testbed the data came from, and free training facts.
	Objective string          `json:"objective,omitempty"`
	Testbed   string          `json:"testbed,omitempty"`
	Training  json.RawMessage `json:"training,omitempty"`
}

// Limits on a configuration's sizes, so that a hostile config.json cannot
// make the loader or the workspaces allocate without bound.
const (
	maxVocab     = 1 << 20
	maxHidden    = 1 << 14
	maxLayers    = 1 << 10
	maxPositions = 1 << 16
	maxParams    = 1 << 30 // weights in all
)

// ParseConfig reads a configuration from JSON and validates it. Unknown
// fields are errors (a misspelt field must not silently take its zero value).
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("nn: config: %v", err)
	}
	if dec.More() {
		return Config{}, fmt.Errorf("nn: config: trailing data after the JSON object")
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks that c describes a model this package can run; the error
// names the first bad field.
func (c Config) Validate() error {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("nn: config: %s = %v, want %s", field, v, want)
	}
	switch {
	case c.ModelType != ModelType:
		return bad("model_type", fmt.Sprintf("%q", c.ModelType), fmt.Sprintf("%q", ModelType))
	case c.VocabSize < 3 || c.VocabSize > maxVocab:
		return bad("vocab_size", c.VocabSize, fmt.Sprintf("3 … %d (two or more tokens and MASK)", maxVocab))
	case c.MaskTokenID < 0 || c.MaskTokenID >= c.VocabSize:
		return bad("mask_token_id", c.MaskTokenID, fmt.Sprintf("an id in [0, %d)", c.VocabSize))
	case c.MaxPositions < 1 || c.MaxPositions > maxPositions:
		return bad("max_position_embeddings", c.MaxPositions, fmt.Sprintf("1 … %d", maxPositions))
	case c.Hidden < 1 || c.Hidden > maxHidden:
		return bad("hidden_size", c.Hidden, fmt.Sprintf("1 … %d", maxHidden))
	case c.Layers < 0 || c.Layers > maxLayers:
		return bad("num_hidden_layers", c.Layers, fmt.Sprintf("0 … %d", maxLayers))
	case c.Heads < 1 || c.Hidden%c.Heads != 0:
		return bad("num_attention_heads", c.Heads, fmt.Sprintf("a divisor of hidden_size %d", c.Hidden))
	case c.Intermediate < 1 || c.Intermediate > 16*maxHidden:
		return bad("intermediate_size", c.Intermediate, fmt.Sprintf("1 … %d", 16*maxHidden))
	case c.HiddenAct != "gelu":
		return bad("hidden_act", fmt.Sprintf("%q", c.HiddenAct), `"gelu"`)
	case !(c.LayerNormEps > 0) || math.IsInf(c.LayerNormEps, 1):
		return bad("layer_norm_eps", c.LayerNormEps, "a finite number > 0")
	case c.PositionEmbedding != PositionLearned && c.PositionEmbedding != PositionSinusoidal:
		return bad("position_embedding_type", fmt.Sprintf("%q", c.PositionEmbedding), `"learned" or "sinusoidal"`)
	case c.Tokens != nil && len(c.Tokens) != c.VocabSize:
		return bad("len(tokens)", len(c.Tokens), fmt.Sprintf("vocab_size = %d", c.VocabSize))
	}
	if n := c.NumParams(); n > maxParams {
		return fmt.Errorf("nn: config: %d weights exceed the limit of %d", n, maxParams)
	}
	return nil
}

// NumParams returns the number of weights the configuration has.
func (c Config) NumParams() int64 {
	var n int64
	for _, s := range c.shapes() {
		n += s.numel()
	}
	return n
}

// param is one named weight and its shape.
type param struct {
	name  string
	shape []int
}

func (p param) numel() int64 {
	n := int64(1)
	for _, d := range p.shape {
		n *= int64(d)
	}
	return n
}

// shapes lists the weights of c in a fixed order: the names and shapes the
// safetensors file must hold (PyTorch's Linear layout: weight is out×in).
func (c Config) shapes() []param {
	d, f, K := c.Hidden, c.Intermediate, c.VocabSize
	ps := []param{{"embed_tokens.weight", []int{K, d}}}
	if c.PositionEmbedding == PositionLearned {
		ps = append(ps, param{"embed_positions.weight", []int{c.MaxPositions, d}})
	}
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("layers.%d.", l)
		ps = append(ps,
			param{p + "attn_norm.weight", []int{d}}, param{p + "attn_norm.bias", []int{d}},
			param{p + "attn.qkv.weight", []int{3 * d, d}}, param{p + "attn.qkv.bias", []int{3 * d}},
			param{p + "attn.out.weight", []int{d, d}}, param{p + "attn.out.bias", []int{d}},
			param{p + "mlp_norm.weight", []int{d}}, param{p + "mlp_norm.bias", []int{d}},
			param{p + "mlp.fc1.weight", []int{f, d}}, param{p + "mlp.fc1.bias", []int{f}},
			param{p + "mlp.fc2.weight", []int{d, f}}, param{p + "mlp.fc2.bias", []int{d}})
	}
	ps = append(ps, param{"final_norm.weight", []int{d}}, param{"final_norm.bias", []int{d}})
	if !c.TieWordEmbeddings {
		ps = append(ps, param{"lm_head.weight", []int{K, d}})
	}
	return append(ps, param{"lm_head.bias", []int{K}})
}
