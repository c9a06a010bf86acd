package remote_test

import (
	"context"
	"fmt"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/remote"
)

func ExampleParseSpec() {
	base, name, err := remote.ParseSpec("oip:http://127.0.0.1:8000/llada")
	fmt.Println(base, name, err)
	// Output: http://127.0.0.1:8000 llada <nil>
}

// Generation with a model served elsewhere: one constructor, then the
// samplers as usual. (Not run: it needs a server.)
func ExampleDial() {
	ctx := context.Background()
	m, err := remote.Dial(ctx, "http://127.0.0.1:8000", "llada", remote.Options{TopK: 64})
	if err != nil {
		fmt.Println(err)
		return
	}
	vocab, err := m.IDVocab() // or the model's own token strings, as a *soft.Vocab
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := decode.Generate(ctx, m, vocab, 256, decode.FastDLLM{Threshold: 0.9}, decode.Options{BlockLen: 32, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Tokens[:8], m.NFE())
}
