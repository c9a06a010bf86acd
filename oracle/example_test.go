package oracle_test

import (
	"fmt"
	"strings"

	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// The shipped KJV model is embedded in the binary: no file is needed. Fill
// in a masked word from the exact posterior given its neighbours.
func ExampleKJV() {
	h, err := oracle.KJV(4)
	if err != nil {
		panic(err)
	}
	v := h.Vocab()
	fmt.Println("states", h.States(), "vocabulary", v.Size())
	x, err := v.Encode(nil, strings.Fields("and the [MASK] said"))
	if err != nil {
		panic(err)
	}
	ev, err := soft.FromTokens(x, v.Size()) // hard evidence; MASK is no evidence
	if err != nil {
		panic(err)
	}
	post := soft.NewDense(4, v.Size())
	if err := h.Denoise(post, ev, 0); err != nil {
		panic(err)
	}
	best := soft.Argmax(post.Row(2))
	fmt.Printf("and the %s said (p = %.2f)\n", v.Token(best), post.Row(2)[best])
	// Output:
	// states 24 vocabulary 302
	// and the lord said (p = 0.33)
}
