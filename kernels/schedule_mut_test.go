package kernels

import (
	"math"
	"testing"
)

// Tests written to kill surviving mutants of schedule.go: values in closed
// form, derivatives against central differences of the closed form.

func TestScheduleClosedForms(t *testing.T) {
	cases := []struct {
		name string
		s    Schedule
		f    func(t float64) float64 // α(t), written out independently
	}{
		{"Linear", Linear{}, func(t float64) float64 { return 1 - t }},
		{"Cosine", Cosine{}, func(t float64) float64 { return math.Cos(math.Pi * t / 2) }},
		{"Cosine eps", Cosine{Eps: 0.1}, func(t float64) float64 { return 0.1 + 0.9*math.Cos(math.Pi*t/2) }},
		{"LogLinear", LogLinear{}, func(t float64) float64 { return 1 - 0.999*t }},
		{"LogLinear eps", LogLinear{Eps: 0.2}, func(t float64) float64 { return 1 - 0.8*t }},
		{"Geometric", Geometric{}, func(t float64) float64 { return math.Exp(-1e-4 * math.Pow(20/1e-4, t)) }},
		{"Geometric set", Geometric{SigmaMin: 0.01, SigmaMax: 5}, func(t float64) float64 { return math.Exp(-0.01 * math.Pow(500, t)) }},
	}
	for _, c := range cases {
		for _, tt := range []float64{0, 0.13, 0.5, 0.77, 1} {
			a, da := c.s.Alpha(tt)
			if w := c.f(tt); !(math.Abs(a-w) <= 1e-12) {
				t.Errorf("%s: α(%v) = %v, want %v", c.name, tt, a, w)
			}
			if tt == 0 || tt == 1 {
				continue
			}
			const h = 1e-6
			w := (c.f(tt+h) - c.f(tt-h)) / (2 * h)
			if !(math.Abs(da-w) <= 1e-6*math.Max(1, math.Abs(w))) {
				t.Errorf("%s: α'(%v) = %v, want %v", c.name, tt, da, w)
			}
		}
	}
}
