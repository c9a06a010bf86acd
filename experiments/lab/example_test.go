package lab_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/softdiff/softdiff/experiments/lab"
)

// An experiment is a grid of units, each run once per seed with a stream
// that depends only on (base seed, unit key, seed index); Run pools the rows
// into tables with 95% intervals. This one rolls a fair die.
func ExampleRun() {
	dice := &lab.Experiment{
		Name:       "example-dice",
		Title:      "a fair die",
		Hypothesis: "A fair die shows six at rate 1/6.",
		Params:     []lab.Param{{Name: "rolls", Doc: "rolls per seed", Default: 6000, Quick: 600, Int: true, Min: 1, Max: 1e6}},
		Tables: []lab.TableSpec{{
			Name: "six", Title: "Sixes", Labels: []string{"die"},
			Metrics: []lab.MetricSpec{{Name: "rate", Kind: lab.Rate}, {Name: "exact", Kind: lab.Exact}},
		}},
		Units: func(cfg lab.Config) ([]lab.Unit, error) {
			return []lab.Unit{{Key: "fair", Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
				rng := rand.New(rand.NewPCG(seed, 0))
				n := cfg.Int("rolls")
				var k int64
				for range n {
					if rng.IntN(6) == 5 {
						k++
					}
				}
				return []lab.Row{{Table: "six", Labels: []string{"fair"}, Values: map[string]lab.Obs{
					"rate": lab.Count(k, int64(n)), "exact": lab.Scalar(1.0 / 6)}}}, nil
			}}}, nil
		},
	}
	// lab.Register(dice) would add it to 'softdiff list' and 'run all'.
	cfg := dice.Config(true) // quick sizes, 3 seeds
	r, err := lab.Run(context.Background(), dice, cfg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	rate, _ := r.Table("six").Get("rate", "fair")
	fmt.Println("interval holds 1/6:", rate.Contains(1.0/6))
	if err := r.Table("six").WriteText(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// interval holds 1/6: true
	// Sixes
	// die   rate                  exact
	// fair  0.166 [0.149, 0.183]  0.167
	// (3 seeds; rate [95% Wilson interval] of counts pooled over seeds)
}
