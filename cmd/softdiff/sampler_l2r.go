//go:build examples

package main

// Built with -tags examples, the command also runs the example sampler of
// examples/l2r, written outside package decode: one registration line.

import (
	"github.com/softdiff/softdiff/examples/l2r"
	"github.com/softdiff/softdiff/experiments"
)

func init() {
	experiments.RegisterSampler(experiments.Sampler{Family: experiments.FamilyHard, Alg: l2r.LeftToRight{Temperature: 1}})
}
