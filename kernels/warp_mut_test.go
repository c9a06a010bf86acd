package kernels

import (
	"math"
	"strings"
	"testing"
)

// Tests written to kill surviving mutants of warp.go.

func TestInfoWarpTable(t *testing.T) {
	// Hand table: ts = 0, 1/3, 2/3, 1 and ρ = 0, 0, 0.5, 1 (a flat start).
	ts := []float64{0, 1.0 / 3, 2.0 / 3, 1}
	w, err := newInfoWarp(ts, []float64{0, 0, 0.5, 1})
	if err != nil {
		t.Fatal(err)
	}
	// Map inverts the piecewise-linear ρ: on [1/3, 2/3] ρ = (t − 1/3)·1.5,
	// on [2/3, 1] ρ = 0.5 + (t − 2/3)·1.5, so t = 1/3 + u/1.5 and dt/du = 2/3;
	// u = 0 maps to the start of the first rising segment, 1/3.
	for _, c := range []struct{ u, t, dt float64 }{
		{0, 1.0 / 3, 2.0 / 3}, {0.25, 0.5, 2.0 / 3}, {0.5, 2.0 / 3, 2.0 / 3}, {0.75, 5.0 / 6, 2.0 / 3}, {1, 1, 2.0 / 3},
	} {
		tt, dt := w.Map(c.u)
		if !(math.Abs(tt-c.t) <= 1e-12 && math.Abs(dt-c.dt) <= 1e-12) {
			t.Errorf("Map(%v) = %v, %v, want %v, %v", c.u, tt, dt, c.t, c.dt)
		}
	}
	// Warped Linear: α(u) = 1 − Map(u), α'(u) = −1·dt/du.
	a, da := Warped{Base: Linear{}, Warp: w}.Alpha(0.25)
	if !(math.Abs(a-0.5) <= 1e-12 && math.Abs(da+2.0/3) <= 1e-12) {
		t.Errorf("Warped.Alpha(0.25) = %v, %v, want 0.5, −2/3", a, da)
	}
	// Running maximum, then division by ρ(1) = 2.
	w, err = newInfoWarp([]float64{0, 0.5, 1, 1.5}, []float64{0.7, 1, 0.4, 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{0, 0.5, 0.5, 1} {
		if !(math.Abs(w.r[i]-want) <= 1e-15) {
			t.Fatalf("normalised ρ %v, want [0 0.5 0.5 1]", w.r)
		}
	}
	if _, err := newInfoWarp([]float64{0, 0.5, 1}, []float64{0, 0, 0}); err == nil {
		t.Error("ρ(1) = 0 accepted")
	}
}

func TestNewInfoWarpArgs(t *testing.T) {
	k, err := NewAbsorbing(3, 2, Linear{})
	if err != nil {
		t.Fatal(err)
	}
	// n = 2 is the smallest grid. For the absorbing kernel ρ(t) = 1 − α(t)
	// = t under Linear, so the warp is the identity.
	w, err := NewInfoWarp(k, []float32{0.5, 0.5, 0}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if tt, _ := w.Map(0.3); !(math.Abs(tt-0.3) <= 1e-6) {
		t.Errorf("Map(0.3) = %v, want 0.3", tt)
	}
	if _, err := NewInfoWarp(k, []float32{0.5, 0.5, 0}, 1); err == nil {
		t.Error("n = 1 accepted")
	}
	if _, err := NewInfoWarp(k, []float32{1, 0, 0}, 4); err == nil || !strings.Contains(err.Error(), "zero entropy") {
		t.Errorf("one-hot p0: %v, want a zero-entropy error", err)
	}
}
