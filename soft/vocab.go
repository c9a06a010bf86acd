package soft

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// NoToken marks the absence of a token id: no MASK, no EOS, nothing committed.
const NoToken int32 = -1

// Vocab maps token strings to integer ids 0..Size()-1 and back. It may name
// one id as MASK (the absorbing state of masked diffusion) and one as EOS.
// A Vocab is immutable after construction and safe for concurrent use.
type Vocab struct {
	tokens []string
	ids    map[string]int32
	mask   int32
	eos    int32
}

// VocabOptions names the special tokens of a vocabulary. An empty string
// means the vocabulary has no such token.
type VocabOptions struct {
	Mask string // token string of MASK, e.g. "[MASK]"
	EOS  string // token string of end-of-sequence, e.g. "</s>"
}

// NewVocab builds a vocabulary from a list of tokens; id i is tokens[i].
// Empty tokens, tokens containing whitespace-only text and duplicates are
// rejected with an error naming the index. Special tokens named in opts must
// be present in the list.
func NewVocab(tokens []string, opts VocabOptions) (*Vocab, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("soft: vocabulary is empty")
	}
	if len(tokens) > 1<<31-1 {
		return nil, fmt.Errorf("soft: vocabulary of %d tokens exceeds int32 ids", len(tokens))
	}
	v := &Vocab{tokens: make([]string, len(tokens)), ids: make(map[string]int32, len(tokens)), mask: NoToken, eos: NoToken}
	for i, t := range tokens {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("soft: token %d is empty", i)
		}
		if j, dup := v.ids[t]; dup {
			return nil, fmt.Errorf("soft: token %d %q duplicates token %d", i, t, j)
		}
		v.tokens[i] = t
		v.ids[t] = int32(i)
	}
	var err error
	if v.mask, err = v.special("MASK", opts.Mask); err != nil {
		return nil, err
	}
	if v.eos, err = v.special("EOS", opts.EOS); err != nil {
		return nil, err
	}
	if v.mask != NoToken && v.mask == v.eos {
		return nil, fmt.Errorf("soft: MASK and EOS are the same token %q", opts.Mask)
	}
	return v, nil
}

func (v *Vocab) special(role, tok string) (int32, error) {
	if tok == "" {
		return NoToken, nil
	}
	id, ok := v.ids[tok]
	if !ok {
		return NoToken, fmt.Errorf("soft: %s token %q is not in the vocabulary", role, tok)
	}
	return id, nil
}

// ReadVocab reads a vocabulary from r, one token per line (surrounding
// whitespace trimmed). name is used in error messages, which give the line
// number of an empty or duplicate token.
func ReadVocab(r io.Reader, name string, opts VocabOptions) (*Vocab, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var toks []string
	line := 0
	first := map[string]int{}
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" {
			return nil, fmt.Errorf("soft: %s:%d: empty token", name, line)
		}
		if l, dup := first[t]; dup {
			return nil, fmt.Errorf("soft: %s:%d: token %q duplicates line %d", name, line, t, l)
		}
		first[t] = line
		toks = append(toks, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("soft: %s: %w", name, err)
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("soft: %s: no tokens", name)
	}
	return NewVocab(toks, opts)
}

// LoadVocab reads a vocabulary file with ReadVocab.
func LoadVocab(path string, opts VocabOptions) (*Vocab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("soft: %w", err)
	}
	defer f.Close()
	return ReadVocab(f, path, opts)
}

// Size returns the number of token ids, MASK and EOS included.
func (v *Vocab) Size() int { return len(v.tokens) }

// Mask returns the MASK id, or NoToken.
func (v *Vocab) Mask() int32 { return v.mask }

// EOS returns the EOS id, or NoToken.
func (v *Vocab) EOS() int32 { return v.eos }

// Token returns the string of id. It panics if id is out of range.
func (v *Vocab) Token(id int32) string {
	if id < 0 || int(id) >= len(v.tokens) {
		panic(fmt.Sprintf("soft: token id %d out of range [0,%d)", id, len(v.tokens)))
	}
	return v.tokens[id]
}

// ID returns the id of tok and whether it is in the vocabulary.
func (v *Vocab) ID(tok string) (int32, bool) {
	id, ok := v.ids[tok]
	return id, ok
}

// Encode maps whitespace-free tokens to ids, with an error naming the first
// unknown token and its position.
func (v *Vocab) Encode(dst []int32, toks []string) ([]int32, error) {
	for i, t := range toks {
		id, ok := v.ids[t]
		if !ok {
			return dst, fmt.Errorf("soft: token %d %q is not in the vocabulary", i, t)
		}
		dst = append(dst, id)
	}
	return dst, nil
}

// Decode joins the strings of ids with single spaces.
func (v *Vocab) Decode(ids []int32) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(v.Token(id))
	}
	return b.String()
}
