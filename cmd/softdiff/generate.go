package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/experiments"
	"github.com/softdiff/softdiff/remote"
	"github.com/softdiff/softdiff/soft"
)

const generateSynopsis = `generate --model oip:http://HOST:PORT/NAME --len L [flags]

Generates sequences with one of softdiff's samplers from a model served
under the Open Inference Protocol (serve/server.py, or any server of
docs/remote.md). Sequence j uses seed --seed + j; the sequences run
concurrently and the server merges their requests. Prints one line per
sequence: the token ids, or with --vocab FILE (one token per line) the
tokens.`

// generateSampler returns the sampler called name: a short alias (llada,
// fastdllm, mdlm, softsl) or any sampler registered with the experiments
// (experiments.RegisterSampler: the names of the tables, e.g.
// "LLaDA-lowconf"; a setting of an adaptive sampler as NAME/LABEL, e.g.
// "Fast-dLLM/τ=0.9"). An unknown name is an error listing the names.
func generateSampler(name string, threshold float64) (decode.Algorithm, error) {
	switch name {
	case "llada":
		return decode.LLaDA{}, nil
	case "fastdllm":
		return decode.FastDLLM{Threshold: threshold}, nil
	case "mdlm":
		return decode.MDLM{}, nil
	case "softsl":
		return decode.SoftSL{}, nil
	}
	var names []string
	for _, s := range experiments.Samplers() {
		if s.Alg != nil {
			if s.Name == name {
				return s.Alg, nil
			}
			names = append(names, s.Name)
			continue
		}
		for _, st := range s.Sweep {
			if s.Name+"/"+st.Label == name {
				return st.Alg, nil
			}
			names = append(names, s.Name+"/"+st.Label)
		}
	}
	return nil, fmt.Errorf("unknown sampler %q (llada, fastdllm, mdlm, softsl, or a registered one: %s)", name, strings.Join(names, ", "))
}

func cmdGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("generate", generateSynopsis, stderr)
	model := fs.String("model", "", "served model, oip:http://host:port/NAME (required)")
	sampler := fs.String("sampler", "llada", "llada, fastdllm, mdlm, softsl, or a registered sampler ('softdiff list' names them; NAME/LABEL for a setting of an adaptive one)")
	L := fs.Int("len", 0, "sequence length (required)")
	steps := fs.Int("steps", 0, "sampling steps (0: one per position)")
	block := fs.Int("block", 0, "block length of LLaDA and Fast-dLLM (0: one block)")
	threshold := fs.Float64("threshold", 0.9, "Fast-dLLM confidence threshold")
	n := fs.Int("n", 1, "number of sequences")
	seed := fs.Uint64("seed", 1, "seed of the first sequence")
	topk := fs.Int("topk", 0, "ask for the top-k beliefs (0: dense); for large vocabularies")
	vocabFile := fs.String("vocab", "", "vocabulary file, one token per line, to print tokens")
	mask := fs.String("mask", "[MASK]", "the MASK token of --vocab")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	alg, algErr := generateSampler(*sampler, *threshold)
	switch {
	case len(pos) > 0:
		return usagef("generate: unexpected argument %q", pos[0])
	case *model == "":
		return usagef("generate: --model is required")
	case algErr != nil:
		return usagef("generate: %v", algErr)
	case *L < 1 || *n < 1 || *steps < 0 || *block < 0 || *topk < 0:
		return usagef("generate: need --len ≥ 1, --n ≥ 1 and non-negative --steps, --block, --topk")
	}
	if _, _, err := remote.ParseSpec(*model); err != nil {
		return usagef("generate: --model: %v", err)
	}
	opts := remote.Options{TopK: *topk}
	if *vocabFile != "" {
		if opts.Vocab, err = soft.LoadVocab(*vocabFile, soft.VocabOptions{Mask: *mask}); err != nil {
			return usagef("generate: --vocab: %v", err)
		}
	}
	m, err := remote.Open(ctx, *model, opts)
	if err != nil {
		return err
	}
	v := opts.Vocab
	if v == nil {
		if v, err = m.IDVocab(); err != nil {
			return err
		}
	}
	res := make([]*decode.Result, *n)
	errs := make([]error, *n)
	var wg sync.WaitGroup
	for j := range res {
		wg.Go(func() {
			o := decode.Options{Steps: *steps, BlockLen: *block, Seed: *seed + uint64(j)}
			res[j], errs[j] = decode.Generate(ctx, m, v, *L, alg, o)
		})
	}
	wg.Wait()
	for j, r := range res {
		if errs[j] != nil {
			return fmt.Errorf("generate: sequence %d: %w", j, errs[j])
		}
		fmt.Fprintln(stdout, v.Decode(r.Tokens))
	}
	return nil
}
