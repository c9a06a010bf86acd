package nn_test

import (
	"fmt"

	"github.com/softdiff/softdiff/nn"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// A shipped network as a denoiser on its testbed: position 1 holds the
// token "dogs" (hard evidence), the rest is masked. The evidence skip makes
// the committed position's belief exactly one-hot; the network's guess for
// the last position is a verb.
func ExampleShipped() {
	m, err := nn.Shipped("agreement-pcfg-mix")
	if err != nil {
		fmt.Println(err)
		return
	}
	tb, err := oracle.AgreementPCFG(7)
	if err != nil {
		fmt.Println(err)
		return
	}
	v := tb.Vocab()
	if err := m.CheckVocab(v); err != nil {
		fmt.Println(err)
		return
	}
	ev := soft.AllMask(tb.Len(), v.Size(), v.Mask())
	dogs, _ := v.ID("dogs")
	ev.Row(1)[v.Mask()] = 0
	ev.Row(1)[dogs] = 1
	bel := soft.NewDense(tb.Len(), v.Size())
	if err := m.Denoise(bel, ev, 0.5); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("belief in \"dogs\" at position 1:", bel.Row(1)[dogs])
	last := v.Token(soft.Argmax(bel.Row(6)))
	fmt.Println("last position is a plural verb:", last == "sleep" || last == "run")
	// Output:
	// belief in "dogs" at position 1: 1
	// last position is a plural verb: true
}
