package oracle

import (
	"fmt"

	"github.com/softdiff/softdiff/soft"
)

// mustCorpus builds a built-in corpus from text lines; the text is fixed,
// so an error is a bug in this package.
func mustCorpus(lines []string, weights []float64) *Corpus {
	ids := map[string]int32{}
	var toks []string
	sents := make([][]int32, len(lines))
	for j, line := range lines {
		for _, t := range splitFields(line) {
			id, ok := ids[t]
			if !ok {
				id = int32(len(toks))
				ids[t] = id
				toks = append(toks, t)
			}
			sents[j] = append(sents[j], id)
		}
	}
	v, err := soft.NewVocab(append(toks, "[MASK]"), soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		panic(fmt.Sprintf("oracle: built-in corpus: %v", err))
	}
	c, err := NewCorpus(v, sents, weights)
	if err != nil {
		panic(fmt.Sprintf("oracle: built-in corpus: %v", err))
	}
	return c
}

func splitFields(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\t' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return out
}

// TwoSentence returns the marginal-trap corpus {"He likes apple", "I play
// tennis"} with weight ½ each. Its vocabulary is He likes apple I play
// tennis [MASK] (ids 0..6). Committing all three positions in one parallel
// step from the marginals gives a valid sentence only with probability ¼.
func TwoSentence() *Corpus {
	return mustCorpus([]string{"He likes apple", "I play tennis"}, nil)
}

// Agreement subjects, adverbs, verbs and objects.
var (
	agreeSubjSing = []string{"he", "she", "Tom"}
	agreeSubjPlur = []string{"they", "we", "dogs"}
	agreeAdverbs  = []string{"often", "never", "always"}
	agreeVerbSing = []string{"likes", "sees", "wants"}
	agreeVerbPlur = []string{"like", "see", "want"}
	agreeObjects  = []string{"apples", "tennis", "bread", "music"}
)

// Agreement returns a corpus of 216 equally weighted four-token sentences
// "subject adverb verb object" in which the verb agrees in number with the
// subject across the adverb: 3 singular subjects with 3 singular verbs and
// 3 plural subjects with 3 plural verbs, 3 adverbs, 4 objects. Mixing the
// marginals of positions 0 and 2 breaks agreement half of the time.
func Agreement() *Corpus {
	var lines []string
	for num := 0; num < 2; num++ {
		subj, verb := agreeSubjSing, agreeVerbSing
		if num == 1 {
			subj, verb = agreeSubjPlur, agreeVerbPlur
		}
		for _, s := range subj {
			for _, a := range agreeAdverbs {
				for _, v := range verb {
					for _, o := range agreeObjects {
						lines = append(lines, s+" "+a+" "+v+" "+o)
					}
				}
			}
		}
	}
	return mustCorpus(lines, nil)
}
