package decode_test

import (
	"context"
	"math"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// fuzzFloats are the values a float setting of the fuzz test takes: valid
// ones, boundary ones and invalid ones.
var fuzzFloats = []float64{0, 1, 0.5, 0.9, 2, 0.01, -1, math.NaN(), math.Inf(1), 1e300, 4}

// fuzzAlg builds a sampler from fuzz bytes; enum settings range over
// [−2, 9], out of range included.
func fuzzAlg(kind, e1, e2, f1, f2 uint8, K int, mask int32) decode.Algorithm {
	en := func(b uint8) int { return int(b%12) - 2 }
	fl := func(b uint8) float64 { return fuzzFloats[int(b)%len(fuzzFloats)] }
	grids := []decode.Grid{nil, decode.GridUniform, decode.GridGeometric, decode.GridInfo, decode.GeometricGrid{Min: fl(f2)}, decode.TimesGrid{1, 2}}
	grid := grids[int(e2)%len(grids)]
	switch kind % 13 {
	case 0:
		return decode.MDLM{NoCache: e1%2 == 0, Grid: grid}
	case 1:
		return decode.LLaDA{Remasking: decode.Remasking(en(e1)), Temperature: fl(f1), Grid: grid}
	case 2:
		return decode.Dream{Alg: decode.DreamAlg(en(e1)), Temperature: fl(f1), TopP: fl(f2), TopK: en(e2), AlgTemp: fl(f2), Eps: fl(f1) / 10}
	case 3:
		return decode.FastDLLM{Threshold: fl(f1), Factor: fl(f2), Temperature: fl(e2)}
	case 4:
		return decode.ReMDM{Strategy: decode.ReMDMStrategy(en(e1)), Eta: fl(f1), TOn: fl(f2), Grid: grid}
	case 5:
		return decode.EB{Gamma: fl(f1), Temperature: fl(f2)}
	case 6:
		return decode.SoftSL{Grid: grid, TMax: fl(f1), Rate: decode.Rate(en(e1)), Commit: decode.CommitPolicy(en(e2)), CommitThreshold: fl(f2), FinalArgmax: e1%2 == 1}
	case 7:
		return decode.LRD{RF: fl(f1), TopP: fl(f2), Tol: fl(e1), MaxRefine: en(e2), Temperature: fl(e2)}
	case 8:
		var k kernels.Kernel
		if e2%2 == 0 {
			k = must(kernels.NewAbsorbing(K, mask, nil))
		}
		return decode.Hybrid{SoftSL: decode.SoftSL{Grid: grid, Commit: decode.CommitPolicy(en(e2)), CommitThreshold: fl(f2)},
			Corrector: decode.Corrector(en(e1)), Kernel: k, JumpTime: fl(f1), Moves: en(e2), ReleaseBelow: fl(f2)}
	case 9:
		return decode.CART{P: fl(f1), Temperature: fl(f2), Grid: grid}
	case 10:
		return decode.KernelAncestral{Kernel: must(kernels.NewAbsorbing(K, mask, nil)), Grid: grid}
	case 11:
		return decode.KernelAncestral{}
	}
	return decode.DreamDefaults()
}

// fuzzFinal builds a final decoder (or none) from a fuzz byte.
func fuzzFinal(b, k uint8) decode.FinalDecoder {
	n := int(k%12) - 2
	switch b % 7 {
	case 1:
		return decode.ImportanceResample{N: n}
	case 2:
		return decode.Beam{Width: n, K: n}
	case 3:
		return decode.MAP{K: n, MaxNodes: n * 10}
	case 4:
		return decode.MBR{N: n}
	case 5:
		return decode.Viterbi{K: n}
	}
	return nil
}

// FuzzGenerate runs Generate with random samplers, settings (enum values
// out of range included), lengths, step counts, block lengths, prompts and
// fixed positions (ids out of range and the MASK id included), final
// decoders and options against exact oracles: it must return a valid
// result or an error, never panic. The seed corpus runs with go test.
func FuzzGenerate(f *testing.F) {
	f.Add(uint8(1), uint8(0), uint8(0), uint8(0), uint8(0), uint8(5), uint8(0), uint8(0), []byte{0, 1, 2, 0, 1}, uint8(0), uint8(0), uint8(0))  // LLaDA, every position fixed
	f.Add(uint8(3), uint8(0), uint8(0), uint8(0), uint8(0), uint8(5), uint8(0), uint8(0), []byte{0, 1, 2, 0, 1}, uint8(0), uint8(0), uint8(0))  // Fast-dLLM, every position fixed
	f.Add(uint8(6), uint8(11), uint8(2), uint8(1), uint8(3), uint8(5), uint8(4), uint8(0), []byte{}, uint8(1), uint8(1), uint8(8))              // SoftSL, enum out of range
	f.Add(uint8(4), uint8(10), uint8(0), uint8(0), uint8(0), uint8(5), uint8(3), uint8(0), []byte{255, 3}, uint8(0), uint8(0), uint8(0))        // ReMDM, bad strategy, fixed MASK id
	f.Add(uint8(8), uint8(3), uint8(4), uint8(2), uint8(9), uint8(5), uint8(6), uint8(2), []byte{9, 9, 0}, uint8(1), uint8(2), uint8(5))        // Hybrid
	f.Add(uint8(0), uint8(1), uint8(1), uint8(1), uint8(1), uint8(3), uint8(2), uint8(0), []byte{0, 4, 9}, uint8(4), uint8(3), uint8(6))        // MDLM on a corpus, impossible prompt
	f.Add(uint8(2), uint8(4), uint8(5), uint8(3), uint8(4), uint8(3), uint8(1), uint8(1), []byte{9, 9, 9}, uint8(4), uint8(1), uint8(3))        // Dream on a corpus
	f.Add(uint8(9), uint8(0), uint8(0), uint8(1), uint8(1), uint8(7), uint8(3), uint8(0), []byte{9, 0, 9}, uint8(2), uint8(2), uint8(5))        // CART, length 7 on a length-5 HMM
	f.Add(uint8(10), uint8(0), uint8(5), uint8(1), uint8(1), uint8(5), uint8(7), uint8(0), []byte{}, uint8(3), uint8(0), uint8(6))              // kernel ancestral, explicit grid
	f.Add(uint8(7), uint8(2), uint8(0), uint8(2), uint8(2), uint8(5), uint8(9), uint8(0), []byte{1}, uint8(5), uint8(0), uint8(4))              // LRD, Viterbi on an HMM scorer
	f.Add(uint8(5), uint8(0), uint8(0), uint8(4), uint8(1), uint8(0), uint8(0), uint8(0), []byte{}, uint8(0), uint8(0), uint8(0))               // EB, length 0
	f.Add(uint8(11), uint8(0), uint8(0), uint8(0), uint8(0), uint8(4), uint8(2), uint8(3), []byte{9, 9, 2, 1}, uint8(6), uint8(3), uint8(2))    // no kernel
	f.Add(uint8(12), uint8(0), uint8(0), uint8(0), uint8(0), uint8(5), uint8(0), uint8(9), []byte{9, 9, 9, 9, 9}, uint8(1), uint8(4), uint8(9)) // Dream defaults, MaxNFE
	hmm := oracle.Sticky3()
	corpus := oracle.TwoSentence()
	f.Fuzz(func(t *testing.T, kind, e1, e2, f1, f2, L, steps, block uint8, fixed []byte, final, model, k uint8) {
		var den decode.Denoiser = hmm
		var sc decode.JointScorer = hmm
		v := hmm.Vocab()
		if model%2 == 1 {
			den, sc, v = corpus, corpus, corpus.Vocab()
		}
		K, mask := v.Size(), v.Mask()
		n := int(L % 9)
		opts := decode.Options{Steps: int(steps%24) - 2, BlockLen: int(block % 7), Seed: uint64(kind) + uint64(k)<<8,
			CompleteOnError: model%4 < 2, NoEntropy: model%3 == 0, Record: model%5 == 0, MaxNFE: int(k % 5)}
		if len(fixed) > 0 {
			opts.Fixed = make([]int32, n)
			for i := range opts.Fixed {
				opts.Fixed[i] = soft.NoToken
				if i < len(fixed) && fixed[i] != 9 {
					opts.Fixed[i] = int32(fixed[i]%(uint8(K)+2)) - 1 // −1 … K: invalid ids and the MASK id included
				}
			}
			if fixed[0] == 255 {
				opts.Fixed = opts.Fixed[:max(0, n-1)] // a wrong length
			}
		}
		if d := fuzzFinal(final, k); d != nil {
			opts.Final, opts.Scorer = d, sc
		}
		alg := fuzzAlg(kind, e1, e2, f1, f2, K, mask)
		_ = alg.Name()
		res, err := decode.Generate(context.Background(), den, v, n, alg, opts)
		if err != nil {
			return
		}
		if len(res.Tokens) != n {
			t.Fatalf("%s: %d tokens for length %d", alg.Name(), len(res.Tokens), n)
		}
		for i, id := range res.Tokens {
			if id < 0 || int(id) >= K || id == mask {
				t.Fatalf("%s: token %d at position %d", alg.Name(), id, i)
			}
			if opts.Fixed != nil && opts.Fixed[i] != soft.NoToken && opts.Fixed[i] != id {
				t.Fatalf("%s: fixed position %d changed from %d to %d", alg.Name(), i, opts.Fixed[i], id)
			}
		}
		if opts.MaxNFE > 0 && res.NFE > opts.MaxNFE {
			t.Fatalf("%s: NFE %d above MaxNFE %d", alg.Name(), res.NFE, opts.MaxNFE)
		}
	})
}

// must returns v, panicking on err: for constructors whose arguments the
// test itself fixes.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
