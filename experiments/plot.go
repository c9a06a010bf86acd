package experiments

import (
	"bytes"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// palette is a colour-blind-safe qualitative palette (Okabe–Ito).
var palette = []color.RGBA{
	{0, 114, 178, 255}, {230, 159, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{86, 180, 233, 255}, {213, 94, 0, 255}, {240, 228, 66, 255}, {0, 0, 0, 255},
}

type series struct {
	name string
	xys  plotter.XYs
	errs plotter.YErrors
}

func plotSeries(t *Table, p PlotSpec) []*series {
	// X is a numeric label column or, failing that, a metric (its pooled
	// value).
	xi, xm, yi := -1, -1, -1
	for i, l := range t.Spec.Labels {
		if l == p.X {
			xi = i
		}
	}
	for i, m := range t.Spec.Metrics {
		if m.Name == p.Y {
			yi = i
		}
		if m.Name == p.X && xi < 0 {
			xm = i
		}
	}
	if (xi < 0 && xm < 0) || yi < 0 {
		return nil
	}
	var out []*series
	byName := map[string]*series{}
rows:
	for _, r := range t.Rows {
		for k, v := range p.Filter {
			if t.Label(r, k) != v {
				continue rows
			}
		}
		var x float64
		var err error
		if xi >= 0 {
			x, err = strconv.ParseFloat(r.Labels[xi], 64)
		} else if xe := r.Cells[xm]; xe.Valid() {
			x = xe.Value
		} else {
			continue
		}
		e := r.Cells[yi]
		if err != nil || !e.Valid() {
			continue
		}
		if (p.LogX && x <= 0) || (p.LogY && e.Value <= 0) {
			continue
		}
		var parts []string
		for _, s := range p.Series {
			parts = append(parts, t.Label(r, s))
		}
		name := strings.Join(parts, " ")
		s := byName[name]
		if s == nil {
			s = &series{name: name}
			byName[name] = s
			out = append(out, s)
		}
		lo, hi := e.Value, e.Value
		if e.HasCI() {
			lo, hi = e.Lo, e.Hi
		}
		if p.LogY && lo <= 0 {
			lo = e.Value
		}
		s.xys = append(s.xys, plotter.XY{X: x, Y: e.Value})
		s.errs = append(s.errs, struct{ Low, High float64 }{e.Value - lo, hi - e.Value})
	}
	for _, s := range out {
		idx := make([]int, len(s.xys))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return s.xys[idx[a]].X < s.xys[idx[b]].X })
		xys, errs := make(plotter.XYs, len(idx)), make(plotter.YErrors, len(idx))
		for i, j := range idx {
			xys[i], errs[i] = s.xys[j], s.errs[j]
		}
		s.xys, s.errs = xys, errs
	}
	return out
}

func hasPoints(t *Table, p PlotSpec) bool { return len(plotSeries(t, p)) > 0 }

// goFont is the Go Regular typeface (golang.org/x/image/font/gofont),
// embedded in every SVG: about 130 kB against 400 kB for gonum's default
// Liberation Serif, with the same glyph coverage for our labels.
var goFont = font.Font{Typeface: "Go"}

var fontOnce sync.Once
var fontErr error

// useGoFont registers Go Regular with gonum's font cache and makes it the
// default plot font (plot.DefaultFont is global; only this package plots).
func useGoFont() error {
	fontOnce.Do(func() {
		f, err := opentype.Parse(goregular.TTF)
		if err != nil {
			fontErr = err
			return
		}
		font.DefaultCache.Add(font.Collection{{Font: goFont, Face: f}})
		plot.DefaultFont = goFont
	})
	return fontErr
}

type xyErr struct {
	plotter.XYs
	plotter.YErrors
}

// PlotSVG draws p from t as an SVG with its fonts embedded, one line per
// series with 95% CI error bars. It returns nil and no error when no row has
// a numeric x and a value.
func PlotSVG(t *Table, p PlotSpec) ([]byte, error) {
	pl, leg, err := buildPlot(t, p)
	if pl == nil || err != nil {
		return nil, err
	}
	c := vgsvg.NewWith(vgsvg.UseWH(plotW+legendW, plotH), vgsvg.EmbedFonts(true))
	drawPlot(draw.New(c), pl, leg)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Plot geometry: the axes on the left, the legend in a column of its own on
// the right so it never covers a line.
const (
	plotW   = 6 * vg.Inch
	plotH   = 4 * vg.Inch
	legendW = 2.2 * vg.Inch
)

// drawPlot draws pl on the left of dc and its legend in the right column.
func drawPlot(dc draw.Canvas, pl *plot.Plot, leg plot.Legend) {
	pl.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
	leg.Draw(draw.Crop(dc, plotW+vg.Points(6), 0, 0, -vg.Points(24)))
}

// buildPlot builds the plot of p from t and its legend; nil if it has no
// points.
func buildPlot(t *Table, p PlotSpec) (*plot.Plot, plot.Legend, error) {
	leg := plot.NewLegend()
	ss := plotSeries(t, p)
	if len(ss) == 0 {
		return nil, leg, nil
	}
	if err := useGoFont(); err != nil {
		return nil, leg, err
	}
	leg = plot.NewLegend()
	pl := plot.New()
	pl.Title.Text = p.Title
	if pl.Title.Text == "" {
		pl.Title.Text = t.Spec.Title
	}
	pl.X.Label.Text = p.XLabel
	if pl.X.Label.Text == "" {
		pl.X.Label.Text = p.X
	}
	pl.Y.Label.Text = p.YLabel
	if pl.Y.Label.Text == "" {
		pl.Y.Label.Text = p.Y
	}
	if p.LogX {
		pl.X.Scale = plot.LogScale{}
		pl.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if p.LogY {
		pl.Y.Scale = plot.LogScale{}
		pl.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	leg.Top = true
	leg.Left = true
	leg.TextStyle.Font.Size = vg.Points(8)
	pl.Add(plotter.NewGrid())
	for i, s := range ss {
		c := palette[i%len(palette)]
		line, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return nil, leg, err
		}
		line.Color = c
		// After the eight colours, cycle dash patterns and glyphs so every
		// series stays distinguishable.
		switch (i / len(palette)) % 3 {
		case 0:
			pts.Shape = draw.CircleGlyph{}
		case 1:
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			pts.Shape = draw.BoxGlyph{}
		case 2:
			line.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
			pts.Shape = draw.TriangleGlyph{}
		}
		pts.Color = c
		pts.Radius = vg.Points(2)
		eb, err := plotter.NewYErrorBars(xyErr{s.xys, s.errs})
		if err != nil {
			return nil, leg, err
		}
		eb.Color = c
		pl.Add(line, pts, eb)
		name := s.name
		if name == "" {
			name = p.Y
		}
		leg.Add(name, line, pts)
	}
	if !p.LogY {
		// Keep 0 in view for rates and distances so lines are not magnified.
		if pl.Y.Min > 0 && pl.Y.Min < 0.5*pl.Y.Max {
			pl.Y.Min = 0
		}
	}
	if math.IsInf(pl.Y.Max, 0) || math.IsNaN(pl.Y.Max) {
		return nil, leg, nil
	}
	return pl, leg, nil
}
