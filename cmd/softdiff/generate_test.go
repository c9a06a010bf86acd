package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/experiments"
	"github.com/softdiff/softdiff/nn"
	"github.com/softdiff/softdiff/soft"
)

func TestGenerateFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"generate", "--len", "4"}, "--model is required"},
		{[]string{"generate", "--model", "oip:ftp://x/m", "--len", "4"}, "--model"},
		{[]string{"generate", "--model", "oip:http://h:1/m", "--len", "4", "--sampler", "nope"}, "unknown sampler"},
		{[]string{"generate", "--model", "oip:http://h:1/m"}, "--len ≥ 1"},
		{[]string{"generate", "--model", "oip:http://h:1/m", "--len", "4", "extra"}, "unexpected argument"},
	} {
		_, _, err := runCLI(context.Background(), tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want a usage error mentioning %q", tc.args, err, tc.want)
		}
	}
}

// TestLiveGenerateCommand: with the reference server at SOFTDIFF_OIP_URL
// (.ci/run starts it), generate prints the in-process run's tokens.
func TestLiveGenerateCommand(t *testing.T) {
	u := os.Getenv("SOFTDIFF_OIP_URL")
	if u == "" {
		t.Skip("SOFTDIFF_OIP_URL is not set (see remote/live_test.go)")
	}
	const dir = "../../remote/testdata/oip-tiny"
	m, err := nn.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := soft.NewVocab(m.Config().Tokens, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	vf := t.TempDir() + "/vocab.txt"
	if err := os.WriteFile(vf, []byte(strings.Join(m.Config().Tokens, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(context.Background(), "generate", "--model", "oip:"+u+"/oip-tiny", "--len", "16",
		"--sampler", "fastdllm", "--block", "8", "--n", "3", "--seed", "5", "--vocab", vf)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for j := 0; j < 3; j++ {
		r, err := decode.Generate(context.Background(), m, v, 16, decode.FastDLLM{Threshold: 0.9}, decode.Options{BlockLen: 8, Seed: uint64(5 + j)})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&want, v.Decode(r.Tokens))
	}
	if out != want.String() {
		t.Errorf("generate printed\n%s\nin-process\n%s", out, want.String())
	}
}

// generate resolves the short aliases and every name the sampler registry
// holds; an unknown name is an error that lists the registered ones.
func TestGenerateSamplerRegistry(t *testing.T) {
	alg, err := generateSampler("LLaDA-lowconf", 0.9)
	if err != nil {
		t.Fatal(err)
	}
	want := decode.LLaDA{Remasking: decode.LowConfidence}
	if alg.Name() != want.Name() {
		t.Fatalf("LLaDA-lowconf resolved to %s, want %s", alg.Name(), want.Name())
	}
	if alg, err := generateSampler("fastdllm", 0.7); err != nil || alg.(decode.FastDLLM).Threshold != 0.7 {
		t.Fatalf("fastdllm alias: %v %v", alg, err)
	}
	for _, s := range experiments.Samplers() {
		name := s.Name
		if s.Alg == nil {
			name += "/" + s.Sweep[0].Label
		}
		if _, err := generateSampler(name, 0.9); err != nil {
			t.Errorf("registered sampler %q: %v", name, err)
		}
	}
	_, err = generateSampler("LLaDA-nope", 0.9)
	if err == nil || !strings.Contains(err.Error(), "LLaDA-lowconf") {
		t.Fatalf("unknown sampler error %v does not list the registered names", err)
	}
}
