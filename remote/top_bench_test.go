package remote

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// BenchmarkDecodeTop times the client's decoding of one top-k answer (the
// JSON header's parse and writeTop: copy and check of every row) for B
// sequences of L = 256 positions, k = 64, K = 126 464 (LLaDA's vocabulary):
// the "decode ms" column of cmd/oipbench.
//
//	go test ./remote -run '^$' -bench DecodeTop
func BenchmarkDecodeTop(b *testing.B) {
	const L, k, K, mask = 256, 64, 126464, 126336
	for _, B := range []int{8, 64} {
		b.Run(fmt.Sprintf("B=%d", B), func(b *testing.B) {
			body, hl := topAnswer(B, L, k, K)
			m := &Model{K: K, mask: mask, opts: Options{TopK: k}.withDefaults()}
			dst := make([]*soft.TopBeliefs, B)
			seqs := make([]int, B)
			for s := range dst {
				dst[s] = soft.NewTopBeliefs(L, K, k, mask)
				seqs[s] = s
			}
			sc := new(scratch)
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				_, outs, err := parseResponse(body, hl)
				if err != nil {
					b.Fatal(err)
				}
				if err := m.writeTop(sc, dst, seqs, L, outs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// topAnswer builds a server's binary top-k answer: rows whose k ids are
// distinct tokens (not MASK) with geometric probabilities 2^-(j+1), the
// residual 2^-k (so each row sums to 1 exactly).
func topAnswer(B, L, k, K int) ([]byte, string) {
	n := B * L
	ids := make([]byte, 4*n*k)
	probs := make([]byte, 4*n*k)
	res := make([]byte, 4*n)
	for r := 0; r < n; r++ {
		for j := 0; j < k; j++ {
			binary.LittleEndian.PutUint32(ids[4*(r*k+j):], uint32((r*7+j*1031)%(K-200)))
			binary.LittleEndian.PutUint32(probs[4*(r*k+j):], math.Float32bits(float32(math.Ldexp(1, -(j+1)))))
		}
		binary.LittleEndian.PutUint32(res[4*r:], math.Float32bits(float32(math.Ldexp(1, -k))))
	}
	type out struct {
		Name       string         `json:"name"`
		Datatype   string         `json:"datatype"`
		Shape      []int          `json:"shape"`
		Parameters map[string]int `json:"parameters"`
	}
	head, err := json.Marshal(map[string]any{
		"model_name": "m", "model_version": "1",
		"outputs": []out{
			{"topk_ids", "INT32", []int{B, L, k}, map[string]int{"binary_data_size": len(ids)}},
			{"topk_probs", "FP32", []int{B, L, k}, map[string]int{"binary_data_size": len(probs)}},
			{"topk_residual", "FP32", []int{B, L}, map[string]int{"binary_data_size": len(res)}},
		},
		"parameters": map[string]float64{"softdiff_forward_ms": 1, "softdiff_compute_ms": 2},
	})
	if err != nil {
		panic(err)
	}
	body := append(append(append(head, ids...), probs...), res...)
	return body, fmt.Sprint(len(head))
}
