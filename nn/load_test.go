package nn

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

func readTiny(t testing.TB, name string) (Config, *Safetensors) {
	t.Helper()
	cb, err := os.ReadFile("testdata/" + name + "/config.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(cb)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := os.ReadFile("testdata/" + name + "/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	st, err := ParseSafetensors(wb)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, st
}

func TestNewErrors(t *testing.T) {
	cfg, st := readTiny(t, "tiny-learned")
	copyMap := func() map[string]Tensor {
		m := make(map[string]Tensor, len(st.Tensors))
		for k, v := range st.Tensors {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name string
		edit func(map[string]Tensor)
		want string
	}{
		{"missing", func(m map[string]Tensor) { delete(m, "layers.1.mlp.fc2.bias") }, `tensor "layers.1.mlp.fc2.bias" is missing`},
		{"shape", func(m map[string]Tensor) {
			x := m["layers.0.attn.qkv.weight"]
			x.Shape = []int{x.Shape[1], x.Shape[0]}
			m["layers.0.attn.qkv.weight"] = x
		}, `tensor "layers.0.attn.qkv.weight" has shape [16 48]`},
		{"data length", func(m map[string]Tensor) {
			x := m["final_norm.bias"]
			x.Data = x.Data[:3]
			m["final_norm.bias"] = x
		}, `tensor "final_norm.bias" holds 3 values`},
		{"unexpected", func(m map[string]Tensor) { m["lm_head.weight"] = m["embed_tokens.weight"] }, `unexpected tensor "lm_head.weight"`},
		{"NaN", func(m map[string]Tensor) {
			x := m["embed_positions.weight"]
			d := append([]float32(nil), x.Data...)
			d[5] = float32(math.NaN())
			x.Data = d
			m["embed_positions.weight"] = x
		}, `tensor "embed_positions.weight", element 5 is NaN`},
	}
	for _, c := range cases {
		m := copyMap()
		c.edit(m)
		if _, err := New(cfg, m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := New(cfg, copyMap()); err != nil {
		t.Errorf("unchanged: %v", err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	base, err := os.ReadFile("testdata/tiny-learned/config.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ old, new, want string }{
		{`"hidden_size": 16`, `"hidden_size": 15`, "num_attention_heads = 2, want a divisor of hidden_size 15"},
		{`"model_type": "softdiff-denoiser"`, `"model_type": "bert"`, "model_type"},
		{`"hidden_act": "gelu"`, `"hidden_act": "relu"`, "hidden_act"},
		{`"mask_token_id": 4`, `"mask_token_id": 11`, "mask_token_id = 11"},
		{`"vocab_size": 11`, `"vocab_size": 2`, "vocab_size = 2"},
		{`"layer_norm_eps": 1e-05`, `"layer_norm_eps": 0`, "layer_norm_eps"},
		{`"position_embedding_type": "learned"`, `"position_embedding_type": "rope"`, "position_embedding_type"},
		{`"evidence_skip": true`, `"evidence_skip": true, "evidence_skp": true`, "unknown field"},
		{`"hidden_size": 16`, `"hidden_size": 16384, "intermediate_size": 262144, "num_hidden_layers": 1000`, ""},
	}
	for _, c := range cases {
		s := string(base)
		if !strings.Contains(s, c.old) {
			t.Fatalf("test config lacks %q", c.old)
		}
		s = strings.Replace(s, c.old, c.new, 1)
		_, err := ParseConfig([]byte(s))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.new, err, c.want)
		}
	}
}

func TestHalfConversions(t *testing.T) {
	// binary16 bit patterns and their values (IEEE 754).
	for _, c := range []struct {
		h uint16
		f float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0001, 1.0 / (1 << 24)}, {0x0400, 1.0 / (1 << 14)},
		{0x3555, 0.333251953125}, {0x8000, float32(math.Copysign(0, -1))}, {0x7c00, float32(math.Inf(1))},
	} {
		if got := halfToFloat(c.h); got != c.f || math.Signbit(float64(got)) != math.Signbit(float64(c.f)) {
			t.Errorf("halfToFloat(%#04x) = %v, want %v", c.h, got, c.f)
		}
		if got := floatToHalf(c.f); got != c.h {
			t.Errorf("floatToHalf(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	if f := halfToFloat(0x7e00); f == f {
		t.Errorf("halfToFloat(NaN) = %v", f)
	}
	// Round to nearest even: the spacing at 1 is 2⁻¹⁰.
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{1 + 1.0/(1<<11), 0x3c00},  // tie, down to the even 1.0
		{1 + 3.0/(1<<11), 0x3c02},  // tie, up to the even 1 + 2⁻⁹
		{1 + 1.1/(1<<11), 0x3c01},  // above the tie
		{65520, 0x7c00},            // rounds past the largest finite value: Inf
		{1.0 / (1 << 25), 0x0000},  // half the smallest subnormal: tie to even 0
		{1.5 / (1 << 24), 0x0002},  // 1.5 subnormal steps: tie, up to 2
		{3.0 / (1 << 25), 0x0002},  // same value
		{1.0 / (1 << 26), 0x0000},  // below half a step
		{-1.0 / (1 << 14), 0x8400}, // smallest normal, negative
	} {
		if got := floatToHalf(c.f); got != c.h {
			t.Errorf("floatToHalf(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	// bfloat16: the spacing at 1 is 2⁻⁷.
	for _, c := range []struct {
		f float32
		h uint16
	}{{1, 0x3f80}, {1 + 1.0/(1<<8), 0x3f80}, {1 + 3.0/(1<<8), 0x3f82}, {-2, 0xc000}} {
		if got := floatToBF16(c.f); got != c.h {
			t.Errorf("floatToBF16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	ts := map[string]Tensor{
		"a": {DType: "F32", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 1e-30, 0, 7}},
		"b": {DType: "F16", Shape: []int{3}, Data: []float32{1, 0.5, -65504}},
		"c": {DType: "BF16", Shape: []int{1, 2}, Data: []float32{-3, 0.15625}},
		"s": {DType: "F32", Shape: []int{}, Data: []float32{42}},
		"z": {DType: "F16", Shape: []int{0, 4}, Data: nil},
	}
	names := []string{"b", "a", "z", "s", "c"}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, names, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(buf.Bytes()); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	st, err := ParseSafetensors(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if st.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", st.Metadata)
	}
	if strings.Join(st.Names, ",") != "b,a,z,s,c" {
		t.Errorf("names in file order %v", st.Names)
	}
	for name, want := range ts {
		got := st.Tensors[name]
		if got.DType != want.DType || !sameShape(got.Shape, want.Shape) || len(got.Data) != len(want.Data) {
			t.Fatalf("%s: got %+v, want %+v", name, got, want)
		}
		for i := range want.Data { // every value above is exact in its dtype
			if got.Data[i] != want.Data[i] {
				t.Errorf("%s[%d] = %v, want %v", name, i, got.Data[i], want.Data[i])
			}
		}
	}
}

// stFile builds a safetensors file from a header string and a buffer.
func stFile(header string, buf []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(buf))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	return append(append(b, header...), buf...)
}

func TestParseSafetensorsErrors(t *testing.T) {
	eight := make([]byte, 8)
	huge := make([]byte, 8)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "too short"},
		{"huge header", huge, "exceeds the limit"},
		{"header past end", stFile(`{}`, nil)[:9], "only 1 bytes follow"},
		{"not an object", stFile(`[1]`, nil), "does not start with '{'"},
		{"bad UTF-8", stFile("{\"\xff\":1}", nil), "UTF-8"},
		{"dtype", stFile(`{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, eight), `tensor "w": dtype "I64" not supported`},
		{"size", stFile(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight), `tensor "w": shape [3] of F32 needs 3·4 bytes`},
		{"negative shape", stFile(`{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, eight), `tensor "w": shape entry -2`},
		{"fractional shape", stFile(`{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}`, eight), `shape entry 2.0`},
		{"missing offsets", stFile(`{"w":{"dtype":"F32","shape":[2]}}`, eight), `tensor "w": entry needs`},
		{"extra field", stFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, eight), `tensor "w": bad entry`},
		{"duplicate", stFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), `tensor "w" appears twice`},
		{"gap", stFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), `tensor "w": data starts at 4`},
		{"overlap", stFile(`{"v":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), `overlap`},
		{"past buffer", stFile(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight), `tensor "w": data offsets [0, 16) run past`},
		{"trailing", stFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight), "trailing data"},
		{"metadata", stFile(`{"__metadata__":{"a":1}}`, nil), "__metadata__"},
		{"after object", stFile(`{} x`, nil), "after the JSON object"},
		{"empty name", stFile(`{"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight), "empty tensor name"},
	}
	for _, c := range cases {
		_, err := ParseSafetensors(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// Space padding after the object is allowed.
	if _, err := ParseSafetensors(stFile(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}   `, eight)); err != nil {
		t.Errorf("padded header: %v", err)
	}
}

func FuzzParseSafetensors(f *testing.F) {
	for _, name := range []string{"tiny-learned", "tiny-sinusoidal"} {
		for _, file := range []string{"model.safetensors", "parity.safetensors"} {
			b, err := os.ReadFile("testdata/" + name + "/" + file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add(stFile(`{"w":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}`, []byte{0, 0x3c, 0, 0x7e}))
	f.Add(stFile(`{"w":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, []byte{0x80, 0x3f}))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseSafetensors(b)
		if err != nil {
			return
		}
		// Whatever parses writes back (as F32) and parses to the same bits.
		ts := map[string]Tensor{}
		for _, n := range st.Names {
			x := st.Tensors[n]
			x.DType = "F32"
			ts[n] = x
		}
		var buf bytes.Buffer
		if err := WriteSafetensors(&buf, st.Names, ts, st.Metadata); err != nil {
			t.Fatalf("write back: %v", err)
		}
		st2, err := ParseSafetensors(buf.Bytes())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		for _, n := range st.Names {
			a, c := st.Tensors[n], st2.Tensors[n]
			if !sameShape(a.Shape, c.Shape) || len(a.Data) != len(c.Data) {
				t.Fatalf("%q: shape changed", n)
			}
			for i := range a.Data {
				if math.Float32bits(a.Data[i]) != math.Float32bits(c.Data[i]) {
					t.Fatalf("%q[%d]: bits changed", n, i)
				}
			}
		}
	})
}

func FuzzLoad(f *testing.F) {
	for _, name := range []string{"tiny-learned", "tiny-sinusoidal"} {
		cb, _ := os.ReadFile("testdata/" + name + "/config.json")
		wb, _ := os.ReadFile("testdata/" + name + "/model.safetensors")
		f.Add(cb, wb)
	}
	f.Fuzz(func(t *testing.T, cb, wb []byte) {
		cfg, err := ParseConfig(cb)
		if err != nil {
			return
		}
		st, err := ParseSafetensors(wb)
		if err != nil {
			return
		}
		m, err := New(cfg, st.Tensors)
		if err != nil {
			return
		}
		// A model that loads runs without panicking on MASK evidence.
		L := min(cfg.MaxPositions, 4)
		ev := make([]float32, L*cfg.VocabSize)
		for i := 0; i < L; i++ {
			ev[i*cfg.VocabSize+cfg.MaskTokenID] = 1
		}
		z := make([]float32, len(ev))
		m.Logits(z, &soft.Dense{L: L, K: cfg.VocabSize, Data: ev})
	})
}
