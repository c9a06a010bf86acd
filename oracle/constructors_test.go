package oracle_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

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
	cases := []struct {
		name string
		f    func() error
	}{
		{"RandomHMM nil rng", func() error { _, err := oracle.RandomHMM(nil, 2, 2, 2); return err }},
		{"RandomHMM S=0", func() error { _, err := oracle.RandomHMM(newRand(1), 0, 2, 2); return err }},
		{"RandomHMM L=-1", func() error { _, err := oracle.RandomHMM(newRand(1), 2, 2, -1); return err }},
		{"Sticky stay NaN", func() error { _, err := oracle.Sticky(3, 4, math.NaN(), 0); return err }},
		{"BracketHMM depth<1", func() error { _, err := oracle.BracketHMM(-1, 0, 2, -1); return err }},
		{"AgreementHMM L=0", func() error { _, err := oracle.AgreementHMM(0); return err }},
		{"AgreementPCFG L=-1", func() error { _, err := oracle.AgreementPCFG(-1); return err }},
		{"NewCorpus nil vocabulary", func() error { _, err := oracle.NewCorpus(nil, [][]int32{{0}}, nil); return err }},
		{"NewCorpus negative weight", func() error { _, err := oracle.NewCorpus(v, [][]int32{{0}}, []float64{-1}); return err }},
		{"NewCorpus empty sentence", func() error { _, err := oracle.NewCorpus(v, [][]int32{{}}, nil); return err }},
		{"NewHMM nil vocabulary", func() error {
			_, err := oracle.NewHMM(nil, 3, []float64{1}, []float64{1}, []float64{1, 0, 0})
			return err
		}},
		{"NewHMM short trans", func() error {
			_, err := oracle.NewHMM(v, 3, []float64{0.5, 0.5}, []float64{1}, []float64{1, 0, 0})
			return err
		}},
		{"NewPCFG nil grammar", func() error { _, err := oracle.NewPCFG(nil, 3); return err }},
		{"ReadHMM length -1", func() error {
			_, err := oracle.ReadHMM(strings.NewReader(`{"tokens":["a","[M]"],"mask":"[M]","init":[1],"trans":[[1]],"emit":[[1,0]]}`), "x", -1)
			return err
		}},
		{"EncodeText nil vocabulary", func() error { _, err := oracle.EncodeText(nil, [][]string{{"a"}}); return err }},
		{"FitHMM nil vocabulary", func() error { _, _, err := oracle.FitHMM(nil, 3, [][]int32{{0}}, oracle.FitOptions{}); return err }},
		{"FitHMM id out of range", func() error {
			_, _, err := oracle.FitHMM(v, 3, [][]int32{{0, 9, 1}}, oracle.FitOptions{})
			return err
		}},
		{"EntropyOf nil model", func() error { _, err := oracle.EntropyOf(nil, oracle.EntropyOptions{}); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
						t.Errorf("panicked instead of returning an error: %v", r)
					}
				}()
				err = c.f()
			}()
			if err == nil {
				t.Error("no error")
			}
		})
	}
}
