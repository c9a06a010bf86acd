package oracle

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/softdiff/softdiff/data"
	"github.com/softdiff/softdiff/soft"
)

// hmmFile is the JSON form of an HMM written by WriteHMM.
type hmmFile struct {
	Comment string      `json:"comment,omitempty"`
	Tokens  []string    `json:"tokens"`
	Mask    string      `json:"mask,omitempty"`
	EOS     string      `json:"eos,omitempty"`
	Init    []float64   `json:"init"`
	Trans   [][]float64 `json:"trans"`
	Emit    [][]float64 `json:"emit"`
}

// WriteHMM writes h as JSON: the vocabulary tokens with the names of MASK
// and EOS, init, trans (S rows of S) and emit (S rows of K), and a free
// comment (for provenance). The length L is not stored.
func WriteHMM(w io.Writer, h *HMM, comment string) error {
	f := hmmFile{Comment: comment, Init: h.init}
	for id := int32(0); int(id) < h.K; id++ {
		f.Tokens = append(f.Tokens, h.v.Token(id))
	}
	if m := h.v.Mask(); m >= 0 {
		f.Mask = h.v.Token(m)
	}
	if e := h.v.EOS(); e >= 0 {
		f.EOS = h.v.Token(e)
	}
	for s := 0; s < h.S; s++ {
		f.Trans = append(f.Trans, h.trans[s*h.S:(s+1)*h.S])
		f.Emit = append(f.Emit, h.emit[s*h.K:(s+1)*h.K])
	}
	enc := json.NewEncoder(w)
	return enc.Encode(&f)
}

// ReadHMM reads an HMM written by WriteHMM and gives it length L. name is
// used in error messages.
func ReadHMM(r io.Reader, name string, L int) (*HMM, error) {
	var f hmmFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	v, err := soft.NewVocab(f.Tokens, soft.VocabOptions{Mask: f.Mask, EOS: f.EOS})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	S, K := len(f.Init), v.Size()
	if len(f.Trans) != S || len(f.Emit) != S {
		return nil, fmt.Errorf("%s: %d init entries but %d trans rows and %d emit rows", name, S, len(f.Trans), len(f.Emit))
	}
	trans := make([]float64, 0, S*S)
	emit := make([]float64, 0, S*K)
	for s := 0; s < S; s++ {
		if len(f.Trans[s]) != S {
			return nil, fmt.Errorf("%s: trans row %d has %d entries, want %d", name, s, len(f.Trans[s]), S)
		}
		if len(f.Emit[s]) != K {
			return nil, fmt.Errorf("%s: emit row %d has %d entries, want %d", name, s, len(f.Emit[s]), K)
		}
		trans = append(trans, f.Trans[s]...)
		emit = append(emit, f.Emit[s]...)
	}
	h, err := NewHMM(v, L, f.Init, trans, emit)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return h, nil
}

// LoadHMM reads an HMM file with ReadHMM.
func LoadHMM(path string, L int) (*HMM, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadHMM(f, path, L)
}

// KJV returns the shipped HMM fitted to the KJV Pentateuch (24 states, the
// 300 most frequent words + <unk> + [MASK], K = 302) at length L. It is
// embedded in the binary (package data), so it needs no file; LoadHMM reads
// another fit, such as one written by oracle/cmd/fithmm. An error only for
// L < 1.
func KJV(L int) (*HMM, error) {
	return ReadHMM(strings.NewReader(data.KJVHMM()), "embedded "+data.KJVHMMFile, L)
}
