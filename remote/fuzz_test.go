package remote

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"testing"
)

// FuzzParseResponse feeds parseResponse arbitrary answers (the JSON header,
// binary data after it, and the Inference-Header-Content-Length header): it
// must never panic, and either return an error or outputs whose data hold
// exactly 4·Π shape bytes, of datatype FP32 or INT32, laid out inside the
// body.
func FuzzParseResponse(f *testing.F) {
	bin := make([]byte, 8)
	binary.LittleEndian.PutUint32(bin, math.Float32bits(0.25))
	binary.LittleEndian.PutUint32(bin[4:], math.Float32bits(0.75))
	hdr := `{"model_name":"m","id":"1","outputs":[{"name":"beliefs","datatype":"FP32","shape":[1,1,2],"parameters":{"binary_data_size":8}}]}`
	f.Add(hdr+string(bin), strconv.Itoa(len(hdr)))
	f.Add(`{"model_name":"m","outputs":[{"name":"beliefs","datatype":"FP32","shape":[1,2],"data":[0.5,0.5]}]}`, "")
	f.Add(`{"outputs":[{"name":"ids","datatype":"INT32","shape":[2,1],"data":[[1],[2]]}]}`, "")
	f.Add(`{"outputs":[{"name":"x","datatype":"FP32","shape":[1000000000000000000],"data":[1]}]}`, "")
	f.Add(`{"outputs":[{"name":"x","datatype":"FP32","shape":[0],"data":[]}]}`, "")
	f.Fuzz(func(t *testing.T, body, hdrLen string) {
		_, outs, err := parseResponse([]byte(body), hdrLen)
		if err != nil {
			return
		}
		for name, o := range outs {
			if dtypeSize(o.dtype) != 4 {
				t.Fatalf("output %q: datatype %q accepted", name, o.dtype)
			}
			n := int64(1)
			for _, d := range o.shape {
				if d < 0 {
					t.Fatalf("output %q: shape %v accepted", name, o.shape)
				}
				n *= d
			}
			if int64(len(o.data)) != 4*n {
				t.Fatalf("output %q: %d bytes for shape %v", name, len(o.data), o.shape)
			}
		}
	})
}

// FuzzMetadata feeds Model.check arbitrary model metadata (the JSON a
// server answers on /v2/models/NAME), with and without options that need
// particular tensors: it must never panic, and either return an error or
// leave a vocabulary of at least 3 states with its MASK id inside it, a
// maximum length ≥ 1, and an evidence input and an output to read.
func FuzzMetadata(f *testing.F) {
	f.Add([]byte(`{"name":"m","parameters":{"softdiff_protocol":"`+Protocol+`","vocab_size":5,"mask_token_id":4,"max_length":8},`+
		`"inputs":[{"name":"t","datatype":"FP32","shape":[-1]},{"name":"evidence","datatype":"FP32","shape":[-1,-1,5]}],`+
		`"outputs":[{"name":"beliefs","datatype":"FP32","shape":[-1,-1,5]}]}`), uint8(0))
	f.Add([]byte(`{"name":"m","parameters":{"softdiff_protocol":"`+Protocol+`","vocab_size":5,"mask_token_id":4,"max_length":8},`+
		`"inputs":[{"name":"t","datatype":"FP32","shape":[-1]},{"name":"evidence_ids","datatype":"INT32","shape":[-1,-1,-1]},`+
		`{"name":"evidence_values","datatype":"FP32","shape":[-1,-1,-1]},{"name":"evidence_residual","datatype":"FP32","shape":[-1,-1]}],`+
		`"outputs":[{"name":"topk_ids","datatype":"INT32","shape":[-1,-1,-1]},{"name":"topk_probs","datatype":"FP32","shape":[-1,-1,-1]},`+
		`{"name":"topk_residual","datatype":"FP32","shape":[-1,-1]}]}`), uint8(3))
	f.Add([]byte(`{"name":"m","parameters":{"vocab_size":1e300}}`), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, opt uint8) {
		var md Metadata
		if json.Unmarshal(data, &md) != nil {
			return
		}
		o := Options{TopK: int(opt % 4), Logits: opt&4 != 0, JSON: opt&8 != 0, DenseEvidence: opt&16 != 0, EvidenceTopK: int(opt>>5) % 3}
		m := &Model{name: "m", opts: o.withDefaults()}
		if err := m.check(&md); err != nil {
			return
		}
		if m.K < 3 || m.mask < 0 || int(m.mask) >= m.K || m.max < 1 {
			t.Fatalf("accepted K %d, mask %d, max length %d", m.K, m.mask, m.max)
		}
		if !m.has.dense && !m.has.sparse {
			t.Fatal("accepted without an evidence input")
		}
		if !m.has.beliefs && !m.has.topk && !m.has.logits {
			t.Fatal("accepted without an output")
		}
	})
}
