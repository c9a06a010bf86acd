package lab

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// plotTable builds a table with labels (group, sampler, x) and a mean metric
// y whose interval is y ± 1 (so it runs below 0 for small y), and a rate.
func plotTable(groups []int) *Table {
	t := &Table{Spec: TableSpec{Name: "t", Labels: []string{"oracle", "family", "sampler", "x"},
		Metrics: []MetricSpec{{Name: "y", Kind: Mean}, {Name: "r", Kind: Rate}, {Name: "ex", Kind: Exact}}}}
	s := 0
	for _, o := range []string{"exact", "degraded"} {
		for g, n := range groups {
			for i := 0; i < n; i++ {
				for _, x := range []string{"1", "2", "4"} {
					y := 0.1 * float64(s+1)
					t.Rows = append(t.Rows, TableRow{Labels: []string{o, fmt.Sprintf("g%d", g), fmt.Sprintf("s%d", s), x},
						Cells: []Estimate{{Kind: Mean, Value: y, Lo: y - 1, Hi: y + 1, Seeds: 3}, Wilson(3, 10), {Kind: Exact, Value: 0.5, Lo: math.NaN(), Hi: math.NaN(), Seeds: 1}}})
				}
				s++
			}
		}
		s = 0
	}
	t.Rows = append(t.Rows, TableRow{Labels: []string{"—", "reference", "data", "—"},
		Cells: []Estimate{{Kind: Mean, Value: 1, Lo: 0.9, Hi: 1.1, Seeds: 3}, Wilson(1, 10), {Kind: Exact, Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}}})
	return t
}

// TestPanelsNeverExceedMaxSeries: whatever the grouping, repeats and
// facets, no panel shows more than MaxSeries series, every series appears,
// and a repeated baseline is in every panel of its facet.
func TestPanelsNeverExceedMaxSeries(t *testing.T) {
	for _, groups := range [][]int{{20}, {7, 5, 2, 2, 2, 2}, {6, 2, 1}, {1, 1, 1, 1, 1, 1, 1, 1, 1}, {9}, {3}} {
		tb := plotTable(groups)
		total := 0
		for _, n := range groups {
			total += n
		}
		for _, p := range []PlotSpec{
			{X: "x", Y: "y", Series: []string{"sampler"}, Filter: map[string]string{"oracle": "exact"}},
			{X: "x", Y: "y", Series: []string{"sampler"}, Filter: map[string]string{"oracle": "exact"}, Group: "family"},
			{X: "x", Y: "y", Series: []string{"sampler"}, Filter: map[string]string{"oracle": "exact"}, Group: "family", Repeat: []string{"s0", "s1"}},
			{X: "x", Y: "y", Series: []string{"sampler", "oracle"}},
			{X: "x", Y: "y", Series: []string{"sampler"}, Facet: []string{"oracle"}, Group: "family"},
		} {
			fig := buildFigure(tb, p)
			seen := map[string]bool{}
			for _, pn := range fig.panels {
				if len(pn.series) > MaxSeries {
					t.Errorf("groups %v, spec %+v: panel %q has %d series", groups, p, pn.title, len(pn.series))
				}
				for _, s := range pn.series {
					seen[s.facet+"/"+s.name] = true
				}
				for _, r := range p.Repeat {
					if total > MaxSeries && !slices.ContainsFunc(pn.series, func(s *series) bool { return s.name == r }) {
						t.Errorf("groups %v: repeated %s missing from panel %q", groups, r, pn.title)
					}
				}
			}
			want := total
			if p.Filter == nil {
				want = 2 * total
			}
			if len(seen) != want {
				t.Errorf("groups %v, spec %+v: %d series drawn, want %d", groups, p, len(seen), want)
			}
			if svg, err := PlotSVG(tb, p); err != nil || len(svg) == 0 {
				t.Errorf("PlotSVG: %v", err)
			}
		}
	}
	// Group packing keeps groups whole and balances: groups of 6, 2 and 1
	// series make two panels of 6 and 3 (not 8 and 1); 7, 5, 2, 2, 2, 2
	// make three of 7, 7 and 6.
	for _, c := range []struct {
		groups []int
		sizes  []int
	}{{[]int{6, 2, 1}, []int{6, 3}}, {[]int{7, 5, 2, 2, 2, 2}, []int{7, 7, 6}}, {[]int{20}, []int{6, 7, 7}}} {
		fig := buildFigure(plotTable(c.groups), PlotSpec{X: "x", Y: "y", Series: []string{"sampler"}, Filter: map[string]string{"oracle": "exact"}, Group: "family"})
		var sizes []int
		for _, pn := range fig.panels {
			sizes = append(sizes, len(pn.series))
		}
		if !slices.Equal(sizes, c.sizes) {
			t.Errorf("groups %v: panel sizes %v, want %v", c.groups, sizes, c.sizes)
		}
	}
}

// TestPlotClipsIntervals: a mean's interval y ± 1 is drawn clipped to Clip,
// never below 0; a rate stays in [0, 1] by default.
func TestPlotClipsIntervals(t *testing.T) {
	tb := plotTable([]int{3})
	fig := buildFigure(tb, PlotSpec{X: "x", Y: "y", Series: []string{"sampler"}, Filter: map[string]string{"oracle": "exact"}, Clip: [2]float64{0, math.Inf(1)}})
	for _, pn := range fig.panels {
		for _, s := range pn.series {
			for k, xy := range s.xys {
				if lo := xy.Y - s.errs[k].Low; !(lo >= 0) || !(math.Abs(s.errs[k].High-1) <= 1e-12) {
					t.Errorf("%s at %v: interval [%v, %v], want [max(0, y−1), y+1]", s.name, xy.X, lo, xy.Y+s.errs[k].High)
				}
			}
		}
	}
	unclipped := buildFigure(tb, PlotSpec{X: "x", Y: "y", Series: []string{"sampler"}, Filter: map[string]string{"oracle": "exact"}})
	if s := unclipped.panels[0].series[0]; !(math.Abs(s.errs[0].Low-1) <= 1e-12) {
		t.Errorf("without Clip the interval is clipped: low %v", s.errs[0].Low)
	}
}

// TestPlotReferenceAndExact: Ref rows become a reference line at their value
// (not a series), Exact values ride along each series.
func TestPlotReferenceAndExact(t *testing.T) {
	tb := plotTable([]int{2})
	fig := buildFigure(tb, PlotSpec{X: "x", Y: "y", Series: []string{"sampler"}, Filter: map[string]string{"oracle": "exact"}, Ref: map[string]string{"sampler": "data"}, RefLabel: "data", Exact: "ex"})
	if len(fig.refs) != 1 || fig.refs[0].y != 1 || fig.refs[0].lo != 0.9 || fig.refs[0].hi != 1.1 || fig.refs[0].label != "data" {
		t.Fatalf("refs %+v", fig.refs)
	}
	for _, pn := range fig.panels {
		for _, s := range pn.series {
			if s.name == "data" {
				t.Error("the reference row is drawn as a series too")
			}
			if len(s.exact) != 3 || s.exact[0].Y != 0.5 {
				t.Errorf("%s: exact %v", s.name, s.exact)
			}
		}
	}
	svg, err := PlotSVG(tb, PlotSpec{X: "x", Y: "y", Series: []string{"sampler"}, Ref: map[string]string{"sampler": "data"}, RefLabel: "the data's rate", Exact: "ex"})
	if err != nil || !bytes.Contains(svg, []byte("the data")) {
		t.Fatalf("reference missing from the SVG: %v", err)
	}
}

// TestPlotCategorical: categorical x values are evenly spaced categories in
// numeric order, and no line joins them.
func TestPlotCategorical(t *testing.T) {
	tb := plotTable([]int{2})
	p := PlotSpec{X: "x", Y: "y", Series: []string{"sampler"}, Filter: map[string]string{"oracle": "exact"}, Categorical: true}
	fig := buildFigure(tb, p)
	if !slices.Equal(fig.cats, []string{"1", "2", "4"}) {
		t.Fatalf("categories %v", fig.cats)
	}
	for _, s := range fig.panels[0].series {
		for k, xy := range s.xys {
			if xy.X != float64(k) {
				t.Errorf("%s: point %d at x = %v", s.name, k, xy.X)
			}
		}
	}
	_, _, added, err := buildPanel(tb, p, fig, fig.panels[0], true)
	if err != nil {
		t.Fatal(err)
	}
	if n := countLines(added); n != 0 {
		t.Errorf("categorical panel has %d lines", n)
	}
	p.Categorical = false
	nf := buildFigure(tb, p)
	_, _, added, _ = buildPanel(tb, p, nf, nf.panels[0], true)
	if countLines(added) == 0 {
		t.Error("numeric panel has no lines")
	}
}

// TestLogTicksLabelled: a log axis over 1..40 labels 1, 2, 5, 10, 20 (not
// only the powers of ten), one over six decades only the powers.
func TestLogTicksLabelled(t *testing.T) {
	var got []string
	for _, tk := range (logTicks{}).Ticks(1, 40) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	if !slices.Equal(got, []string{"1", "2", "5", "10", "20"}) {
		t.Errorf("labels over [1, 40]: %v", got)
	}
	got = nil
	for _, tk := range (logTicks{}).Ticks(1e-3, 1e3) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	if !slices.Equal(got, []string{"0.001", "0.01", "0.1", "1", "10", "100", "1000"}) {
		t.Errorf("labels over [1e-3, 1e3]: %v", got)
	}
	var lin []string
	for _, tk := range (linTicks{}).Ticks(0, 2.7) {
		if tk.Label != "" {
			lin = append(lin, tk.Label)
		}
	}
	if !slices.Equal(lin, []string{"0.0", "0.5", "1.0", "1.5", "2.0", "2.5"}) {
		t.Errorf("linear labels over [0, 2.7]: %v", lin)
	}
}

// TestCoincidingSeriesMarked: a series that lies on an earlier one is
// named as coinciding (drawn dashed, with its own glyph).
func TestCoincidingSeriesMarked(t *testing.T) {
	a := &series{name: "a"}
	b := &series{name: "b"}
	c := &series{name: "c"}
	for x := 0.0; x <= 1; x += 0.25 {
		a.xys = append(a.xys, struct{ X, Y float64 }{x, x})
		b.xys = append(b.xys, struct{ X, Y float64 }{x, x * (1 + 1e-4)})
		c.xys = append(c.xys, struct{ X, Y float64 }{x, x * x})
	}
	if o := coincides([]*series{a}, b); o != "a" {
		t.Errorf("b on a: %q", o)
	}
	if o := coincides([]*series{a}, c); o != "" {
		t.Errorf("c is not on a: %q", o)
	}
}

// countLines counts the lines among ps.
func countLines(ps []plot.Plotter) int {
	n := 0
	for _, p := range ps {
		if _, ok := p.(*plotter.Line); ok {
			n++
		}
	}
	return n
}
