package oracle_test

import (
	"math"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/internal/testutil"

	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// TestConstructorsRejectBadArguments: every constructor of the package
// returns an error (never panics) on arguments from outside: vocabularies,
// sizes, parameters, sentences, grammars, files and random sources.
func TestConstructorsRejectBadArguments(t *testing.T) {
	v, err := soft.NewVocab([]string{"a", "b", "[M]"}, soft.VocabOptions{Mask: "[M]"})
	if err != nil {
		t.Fatal(err)
	}
	testutil.ErrorsNotPanics(t, []testutil.Case{
		{Name: "RandomHMM nil rng", F: func() error { _, err := oracle.RandomHMM(nil, 2, 2, 2); return err }},
		{Name: "RandomHMM S=0", F: func() error { _, err := oracle.RandomHMM(newRand(1), 0, 2, 2); return err }},
		{Name: "RandomHMM L=-1", F: func() error { _, err := oracle.RandomHMM(newRand(1), 2, 2, -1); return err }},
		{Name: "Sticky stay NaN", F: func() error { _, err := oracle.Sticky(3, 4, math.NaN(), 0); return err }},
		{Name: "BracketHMM depth<1", F: func() error { _, err := oracle.BracketHMM(-1, 0, 2, -1); return err }},
		{Name: "AgreementHMM L=0", F: func() error { _, err := oracle.AgreementHMM(0); return err }},
		{Name: "AgreementPCFG L=-1", F: func() error { _, err := oracle.AgreementPCFG(-1); return err }},
		{Name: "NewCorpus nil vocabulary", F: func() error { _, err := oracle.NewCorpus(nil, [][]int32{{0}}, nil); return err }},
		{Name: "NewCorpus negative weight", F: func() error { _, err := oracle.NewCorpus(v, [][]int32{{0}}, []float64{-1}); return err }},
		{Name: "NewCorpus empty sentence", F: func() error { _, err := oracle.NewCorpus(v, [][]int32{{}}, nil); return err }},
		{Name: "NewHMM nil vocabulary", F: func() error {
			_, err := oracle.NewHMM(nil, 3, []float64{1}, []float64{1}, []float64{1, 0, 0})
			return err
		}},
		{Name: "NewHMM short trans", F: func() error {
			_, err := oracle.NewHMM(v, 3, []float64{0.5, 0.5}, []float64{1}, []float64{1, 0, 0})
			return err
		}},
		{Name: "NewPCFG nil grammar", F: func() error { _, err := oracle.NewPCFG(nil, 3); return err }},
		{Name: "ReadHMM length -1", F: func() error {
			_, err := oracle.ReadHMM(strings.NewReader(`{"tokens":["a","[M]"],"mask":"[M]","init":[1],"trans":[[1]],"emit":[[1,0]]}`), "x", -1)
			return err
		}},
		{Name: "EncodeText nil vocabulary", F: func() error { _, err := oracle.EncodeText(nil, [][]string{{"a"}}); return err }},
		{Name: "FitHMM nil vocabulary", F: func() error { _, _, err := oracle.FitHMM(nil, 3, [][]int32{{0}}, oracle.FitOptions{}); return err }},
		{Name: "FitHMM id out of range", F: func() error {
			_, _, err := oracle.FitHMM(v, 3, [][]int32{{0, 9, 1}}, oracle.FitOptions{})
			return err
		}},
		{Name: "EntropyOf nil model", F: func() error { _, err := oracle.EntropyOf(nil, oracle.EntropyOptions{}); return err }},
	})
}
