package oracle

import (
	"regexp"
	"strings"

	"github.com/softdiff/softdiff/data"
)

// verseRef matches the reference that opens each line of the shipped KJV
// text ("Ge1:1 ", "Le11:20 ").
var verseRef = regexp.MustCompile(`^[0-9]?[A-Za-z]+[0-9]+:[0-9]+\s+`)

// KJVVerses returns the verses of the shipped KJV Pentateuch
// (data.KJVText), one token sequence per line with its reference dropped,
// tokenised by Tokenize: the text the shipped model (KJV) was fitted to, as
// oracle/cmd/fithmm reads it. EncodeText(KJV(L).Vocab(), KJVVerses()) gives
// the token ids of that model's vocabulary.
func KJVVerses() [][]string {
	var out [][]string
	for _, line := range strings.Split(data.KJVText(), "\n") {
		line = verseRef.ReplaceAllString(strings.TrimSpace(line), "")
		if toks := Tokenize(line); len(toks) > 0 {
			out = append(out, toks)
		}
	}
	return out
}
