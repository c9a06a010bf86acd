package lab

import (
	"bytes"
	"fmt"
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

// MaxSeries is the most series one panel of a plot shows: one per colour
// of the palette, each with its own glyph. PlotSVG splits a plot with more
// into panels (see PlotSpec.Facet and PlotSpec.Group).
const MaxSeries = 8

// palette is a colour-blind-safe qualitative palette (Okabe–Ito); glyphs
// gives every series of a panel a shape of its own as well, so series stay
// apart where their lines coincide.
var (
	palette = []color.RGBA{
		{0, 114, 178, 255}, {230, 159, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
		{86, 180, 233, 255}, {213, 94, 0, 255}, {240, 228, 66, 255}, {0, 0, 0, 255},
	}
	glyphs = []draw.GlyphDrawer{
		draw.CircleGlyph{}, draw.BoxGlyph{}, draw.TriangleGlyph{}, draw.RingGlyph{},
		draw.PyramidGlyph{}, draw.SquareGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{},
	}
	refColor = color.RGBA{90, 90, 90, 255}
)

// series is one line of a plot: its points sorted by x with their interval
// half-widths, the exact values of PlotSpec.Exact, the facet it belongs to
// and its packing group.
type series struct {
	name, facet, group string
	xys                plotter.XYs
	errs               plotter.YErrors
	exact              plotter.XYs
}

// refLine is a horizontal reference: a value with an optional band.
type refLine struct {
	label     string
	y, lo, hi float64
}

// panel is one set of axes of a figure.
type panel struct {
	title  string
	series []*series
}

// figure is everything PlotSVG draws for one PlotSpec.
type figure struct {
	panels []panel
	refs   []refLine
	cats   []string // categorical x: the categories in order
}

// matchAll reports whether row r of t has every label value of m.
func matchAll(t *Table, r TableRow, m map[string]string) bool {
	for k, v := range m {
		if t.Label(r, k) != v {
			return false
		}
	}
	return true
}

// column returns the index of label name and of metric name (−1 if absent).
func column(t *Table, name string) (label, metric int) {
	label, metric = -1, -1
	for i, l := range t.Spec.Labels {
		if l == name {
			label = i
		}
	}
	for i, m := range t.Spec.Metrics {
		if m.Name == name {
			metric = i
		}
	}
	return label, metric
}

// clip limits [lo, hi] to p.Clip (and a rate to [0, 1]).
func clip(p PlotSpec, kind Kind, lo, hi float64) (float64, float64) {
	a, b := p.Clip[0], p.Clip[1]
	if kind == Rate && a == 0 && b == 0 {
		b = 1
	}
	if a != 0 || b != 0 {
		lo, hi = math.Max(lo, a), math.Min(hi, b)
	}
	return lo, hi
}

// buildFigure collects p's series, reference lines and panels from t. It
// returns a figure with no panels when no row has a usable x and y.
func buildFigure(t *Table, p PlotSpec) figure {
	var fig figure
	xi, xm := column(t, p.X)
	if xi >= 0 {
		xm = -1
	}
	_, yi := column(t, p.Y)
	if (xi < 0 && xm < 0) || yi < 0 {
		return fig
	}
	_, ei := column(t, p.Exact)
	kind := t.Spec.Metrics[yi].Kind
	// Reference rows become horizontal lines.
	if len(p.Ref) > 0 {
		for _, r := range t.Rows {
			if !matchAll(t, r, p.Ref) {
				continue
			}
			e := r.Cells[yi]
			if !e.Valid() || (p.LogY && e.Value <= 0) {
				continue
			}
			lo, hi := e.Value, e.Value
			if e.HasCI() {
				lo, hi = clip(p, kind, e.Lo, e.Hi)
			}
			label := p.RefLabel
			if label == "" {
				label = seriesName(t, r, p.Series)
			}
			fig.refs = append(fig.refs, refLine{label: label, y: e.Value, lo: lo, hi: hi})
		}
	}
	// Categorical x: the distinct values in numeric (else first-seen) order.
	catIndex := map[string]int{}
	if p.Categorical && xi >= 0 {
		var cats []string
		for _, r := range t.Rows {
			if matchAll(t, r, p.Filter) && !(len(p.Ref) > 0 && matchAll(t, r, p.Ref)) {
				if _, ok := catIndex[r.Labels[xi]]; !ok {
					catIndex[r.Labels[xi]] = len(cats)
					cats = append(cats, r.Labels[xi])
				}
			}
		}
		sort.SliceStable(cats, func(a, b int) bool {
			x, err1 := strconv.ParseFloat(cats[a], 64)
			y, err2 := strconv.ParseFloat(cats[b], 64)
			return err1 == nil && err2 == nil && x < y
		})
		for i, c := range cats {
			catIndex[c] = i
		}
		fig.cats = cats
	}
	var all []*series
	byName := map[string]*series{}
	for _, r := range t.Rows {
		if !matchAll(t, r, p.Filter) || (len(p.Ref) > 0 && matchAll(t, r, p.Ref)) {
			continue
		}
		var x float64
		switch {
		case p.Categorical && xi >= 0:
			x = float64(catIndex[r.Labels[xi]])
		case xi >= 0:
			v, err := strconv.ParseFloat(r.Labels[xi], 64)
			if err != nil {
				continue
			}
			x = v
		default:
			xe := r.Cells[xm]
			if !xe.Valid() {
				continue
			}
			x = xe.Value
		}
		e := r.Cells[yi]
		if !e.Valid() || math.IsInf(x, 0) || (p.LogX && !p.Categorical && x <= 0) || (p.LogY && e.Value <= 0) {
			continue
		}
		name := seriesName(t, r, p.Series)
		facet := seriesName(t, r, p.Facet)
		key := facet + "\x00" + name
		s := byName[key]
		if s == nil {
			s = &series{name: name, facet: facet}
			if p.Group != "" {
				s.group = t.Label(r, p.Group)
			}
			byName[key] = s
			all = append(all, s)
		}
		lo, hi := e.Value, e.Value
		if e.HasCI() {
			lo, hi = clip(p, kind, e.Lo, e.Hi)
		}
		if p.LogY && lo <= 0 {
			lo = e.Value
		}
		s.xys = append(s.xys, plotter.XY{X: x, Y: e.Value})
		s.errs = append(s.errs, struct{ Low, High float64 }{math.Max(0, e.Value-lo), math.Max(0, hi-e.Value)})
		if ei >= 0 {
			if ex := r.Cells[ei]; ex.Valid() && !(p.LogY && ex.Value <= 0) {
				s.exact = append(s.exact, plotter.XY{X: x, Y: ex.Value})
			}
		}
	}
	for _, s := range all {
		sortSeries(s)
	}
	fig.panels = layoutPanels(all, p)
	return fig
}

func seriesName(t *Table, r TableRow, cols []string) string {
	parts := make([]string, 0, len(cols))
	for _, c := range cols {
		parts = append(parts, t.Label(r, c))
	}
	return strings.Join(parts, " ")
}

func sortSeries(s *series) {
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
	sort.SliceStable(s.exact, func(a, b int) bool { return s.exact[a].X < s.exact[b].X })
}

// layoutPanels splits the series into panels of at most MaxSeries: one
// panel per facet value (in order of appearance), a facet with more series
// split by packing whole groups (consecutive values of PlotSpec.Group)
// greedily, and any panel still too full cut into near-equal parts. The
// series named in PlotSpec.Repeat are drawn in every panel of their facet.
func layoutPanels(all []*series, p PlotSpec) []panel {
	var facets []string
	byFacet := map[string][]*series{}
	for _, s := range all {
		if _, ok := byFacet[s.facet]; !ok {
			facets = append(facets, s.facet)
		}
		byFacet[s.facet] = append(byFacet[s.facet], s)
	}
	var out []panel
	for _, f := range facets {
		ss := byFacet[f]
		var repeat []*series
		for _, s := range ss {
			for _, n := range p.Repeat {
				if s.name == n {
					repeat = append(repeat, s)
				}
			}
		}
		var chunks [][]*series
		if len(ss) <= MaxSeries {
			chunks = [][]*series{ss}
		} else {
			chunks = packGroups(ss, repeat)
		}
		for ci, c := range chunks {
			var title []string
			if f != "" {
				title = append(title, f)
			}
			if len(chunks) > 1 {
				title = append(title, chunkTitle(c, repeat, ci, len(chunks), p.Group != ""))
			}
			out = append(out, panel{title: strings.Join(title, ", "), series: c})
		}
	}
	return out
}

// packGroups cuts ss, in order, into as few chunks of at most MaxSeries
// series as whole groups (consecutive series of equal PlotSpec.Group) allow,
// balancing their sizes, with the repeated series added to every chunk; a
// group too large for one chunk is cut into near-equal parts first.
func packGroups(ss, repeat []*series) [][]*series {
	room := max(1, MaxSeries-len(repeat))
	var groups [][]*series
	for _, s := range ss {
		if containsSeries(repeat, s) {
			continue // drawn in every chunk anyway
		}
		if n := len(groups); n > 0 && groups[n-1][0].group == s.group {
			groups[n-1] = append(groups[n-1], s)
		} else {
			groups = append(groups, []*series{s})
		}
	}
	var units [][]*series // groups, the oversized ones cut
	for _, g := range groups {
		parts := (len(g) + room - 1) / room
		for i := 0; i < parts; i++ {
			units = append(units, g[i*len(g)/parts:(i+1)*len(g)/parts])
		}
	}
	// best[i] is the best cut of units[:i]: fewest chunks, then the smallest
	// largest chunk; cut[i] where its last chunk starts.
	type score struct{ chunks, largest int }
	n := len(units)
	best := make([]score, n+1)
	cut := make([]int, n+1)
	for i := 1; i <= n; i++ {
		best[i] = score{math.MaxInt, math.MaxInt}
		size := 0
		for j := i - 1; j >= 0; j-- {
			size += len(units[j])
			if size > room {
				break
			}
			c := score{best[j].chunks + 1, max(best[j].largest, size)}
			if c.chunks < best[i].chunks || (c.chunks == best[i].chunks && c.largest < best[i].largest) {
				best[i], cut[i] = c, j
			}
		}
	}
	var chunks [][]*series
	for i := n; i > 0; i = cut[i] {
		var c []*series
		for _, u := range units[cut[i]:i] {
			c = append(c, u...)
		}
		chunks = append([][]*series{withRepeats(c, repeat)}, chunks...)
	}
	return chunks
}

func containsSeries(c []*series, s *series) bool {
	for _, x := range c {
		if x == s {
			return true
		}
	}
	return false
}

// withRepeats returns c with the repeated series first, in Repeat's order
// (so a baseline keeps its colour and glyph in every panel), then the rest
// of c.
func withRepeats(c, repeat []*series) []*series {
	out := append([]*series(nil), repeat...)
	for _, s := range c {
		if !containsSeries(repeat, s) {
			out = append(out, s)
		}
	}
	return out
}

// chunkTitle names a chunk by the groups of its own (not repeated)
// series, or by its number.
func chunkTitle(c, repeat []*series, i, n int, grouped bool) string {
	if grouped {
		var gs []string
		for _, s := range c {
			if containsSeries(repeat, s) {
				continue
			}
			if s.group != "" && !containsString(gs, s.group) {
				gs = append(gs, s.group)
			}
		}
		if len(gs) > 0 {
			return strings.Join(gs, ", ")
		}
	}
	return fmt.Sprintf("part %d of %d", i+1, n)
}

func containsString(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func hasPoints(t *Table, p PlotSpec) bool { return len(buildFigure(t, p).panels) > 0 }

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

// Plot geometry: each panel has its axes on the left and its legend in a
// column of its own on the right so it never covers a line; a figure of
// several panels puts them in two columns.
const (
	plotW   = 6 * vg.Inch
	plotH   = 4 * vg.Inch
	legendW = 2.2 * vg.Inch
	// panels of a multi-panel figure
	panelW = 4.6 * vg.Inch
	panelH = 3.4 * vg.Inch
	titleH = 0.5 * vg.Inch
)

// PlotSVG draws p from t as an SVG with its fonts embedded: one line per
// series with 95% CI error bars (clipped to PlotSpec.Clip), in as many
// panels as needed to keep at most MaxSeries series in each, sharing their
// axis ranges, with PlotSpec's reference lines and exact values. It returns
// nil and no error when no row has a usable x and y.
func PlotSVG(t *Table, p PlotSpec) ([]byte, error) {
	fig := buildFigure(t, p)
	if len(fig.panels) == 0 {
		return nil, nil
	}
	if err := useGoFont(); err != nil {
		return nil, err
	}
	plots := make([]*plot.Plot, len(fig.panels))
	legs := make([]plot.Legend, len(fig.panels))
	for i, pn := range fig.panels {
		pl, leg, _, err := buildPanel(t, p, fig, pn, len(fig.panels) == 1)
		if err != nil {
			return nil, err
		}
		plots[i], legs[i] = pl, leg
	}
	shareRanges(plots, p)
	// The legend column is as wide as the widest legend needs.
	legCol := legendW
	for i := range legs {
		r := legs[i].Rectangle(draw.Canvas{})
		// 20% slack: viewers without @font-face support substitute wider fonts.
		legCol = max(legCol, 1.2*(r.Max.X-r.Min.X)+vg.Points(12))
	}
	for _, pl := range plots {
		if math.IsInf(pl.Y.Max, 0) || math.IsNaN(pl.Y.Max) || math.IsInf(pl.Y.Min, 0) || math.IsNaN(pl.Y.Min) {
			return nil, nil
		}
	}
	var c *vgsvg.Canvas
	if len(plots) == 1 {
		c = vgsvg.NewWith(vgsvg.UseWH(plotW+legCol, plotH), vgsvg.EmbedFonts(true))
		dc := draw.New(c)
		plots[0].Draw(draw.Crop(dc, 0, -legCol, 0, 0))
		legs[0].Draw(draw.Crop(dc, plotW+vg.Points(6), 0, 0, -vg.Points(24)))
	} else {
		cols := 2
		rows := (len(plots) + cols - 1) / cols
		w, h := vg.Length(cols)*(panelW+legCol), titleH+vg.Length(rows)*panelH
		c = vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(true))
		dc := draw.New(c)
		title := p.Title
		if title == "" {
			title = t.Spec.Title
		}
		sty := plot.New().Title.TextStyle
		dc.FillText(sty, vg.Point{X: w / 2, Y: h - titleH/2}, title)
		for i, pl := range plots {
			r, col := i/cols, i%cols
			x0 := vg.Length(col) * (panelW + legCol)
			y1 := h - titleH - vg.Length(r)*panelH
			cell := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: x0, Y: y1 - panelH}, Max: vg.Point{X: x0 + panelW + legCol, Y: y1}}}
			pl.Draw(draw.Crop(cell, 0, -legCol, 0, 0))
			legs[i].Draw(draw.Crop(cell, panelW+vg.Points(6), 0, 0, -vg.Points(24)))
		}
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// buildPanel builds one panel and its legend, and returns the plotters it
// added besides the grid and the reference lines.
func buildPanel(t *Table, p PlotSpec, fig figure, pn panel, single bool) (*plot.Plot, plot.Legend, []plot.Plotter, error) {
	var added []plot.Plotter
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.TextStyle.Font.Size = vg.Points(8)
	pl := plot.New()
	if single {
		pl.Title.Text = p.Title
		if pl.Title.Text == "" {
			pl.Title.Text = t.Spec.Title
		}
		if pn.title != "" {
			pl.Title.Text += " — " + pn.title
		}
	} else {
		pl.Title.Text = pn.title
		pl.Title.TextStyle.Font.Size = vg.Points(11)
	}
	pl.X.Label.Text = p.XLabel
	if pl.X.Label.Text == "" {
		pl.X.Label.Text = p.X
	}
	pl.Y.Label.Text = p.YLabel
	if pl.Y.Label.Text == "" {
		pl.Y.Label.Text = p.Y
	}
	switch {
	case p.Categorical:
		pl.X.Tick.Marker = categoryTicks(fig.cats)
	case p.LogX:
		pl.X.Scale = plot.LogScale{}
		pl.X.Tick.Marker = logTicks{}
	default:
		pl.X.Tick.Marker = linTicks{}
	}
	if p.LogY {
		pl.Y.Scale = plot.LogScale{}
		pl.Y.Tick.Marker = logTicks{}
	} else {
		pl.Y.Tick.Marker = linTicks{}
	}
	pl.Add(plotter.NewGrid())
	n := len(pn.series)
	for j, s := range pn.series {
		c := palette[j%len(palette)]
		g := glyphs[j%len(glyphs)]
		xys := s.xys
		if p.Categorical && n > 1 {
			// Dodge the series around each category so intervals do not
			// overlap.
			xys = make(plotter.XYs, len(s.xys))
			for k, xy := range s.xys {
				xys[k] = plotter.XY{X: xy.X + 0.5*(float64(j)/float64(n-1)-0.5), Y: xy.Y}
			}
		}
		pts, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, leg, nil, err
		}
		pts.Shape, pts.Color, pts.Radius = g, c, vg.Points(2.5)
		eb, err := plotter.NewYErrorBars(xyErr{xys, s.errs})
		if err != nil {
			return nil, leg, nil, err
		}
		eb.Color = c
		name := s.name
		if name == "" {
			name = p.Y
		}
		if p.Categorical {
			// Categories are not a continuum: no line joins them.
			added = append(added, eb, pts)
			pl.Add(eb, pts)
			leg.Add(name, pts)
		} else {
			line, err := plotter.NewLine(xys)
			if err != nil {
				return nil, leg, nil, err
			}
			line.Color = c
			if o := coincides(pn.series[:j], s); o != "" {
				line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
				name += " (≈ " + o + ")"
			}
			added = append(added, line, eb, pts)
			pl.Add(line, eb, pts)
			leg.Add(name, line, pts)
		}
		if len(s.exact) > 0 {
			ex, err := plotter.NewScatter(s.exact)
			if err != nil {
				return nil, leg, nil, err
			}
			ex.Shape, ex.Color, ex.Radius = draw.RingGlyph{}, c, vg.Points(4.5)
			added = append(added, ex)
			pl.Add(ex)
		}
	}
	if p.Exact != "" && anyExact(pn.series) {
		ex, _ := plotter.NewScatter(plotter.XYs{{}})
		ex.Shape, ex.Color, ex.Radius = draw.RingGlyph{}, refColor, vg.Points(4.5)
		label := p.ExactLabel
		if label == "" {
			label = p.Exact + " (exact)"
		}
		leg.Add(label, ex)
	}
	for _, r := range fig.refs {
		addRef(pl, &leg, r)
	}
	return pl, leg, added, nil
}

func anyExact(ss []*series) bool {
	for _, s := range ss {
		if len(s.exact) > 0 {
			return true
		}
	}
	return false
}

// coincides returns the name of an earlier series whose line s would hide:
// the same x values, every y within 1% of the panel's y span (0.5% of the
// larger |y| when both are flat).
func coincides(earlier []*series, s *series) string {
	for _, o := range earlier {
		if len(o.xys) != len(s.xys) || len(s.xys) < 2 {
			continue
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, q := range append(append(plotter.XYs(nil), o.xys...), s.xys...) {
			lo, hi = math.Min(lo, q.Y), math.Max(hi, q.Y)
		}
		tol := 0.01 * (hi - lo)
		if tol == 0 {
			tol = 0.005 * math.Max(math.Abs(lo), math.Abs(hi))
		}
		same := true
		for k := range s.xys {
			if s.xys[k].X != o.xys[k].X || !(math.Abs(s.xys[k].Y-o.xys[k].Y) <= tol) {
				same = false
				break
			}
		}
		if same {
			return o.name
		}
	}
	return ""
}

// addRef draws a horizontal reference line (dashed, grey) with its
// interval as a light band; the line spans the axes whatever their range.
func addRef(pl *plot.Plot, leg *plot.Legend, r refLine) {
	h := &hline{ref: r}
	pl.Add(h)
	l := plotter.NewFunction(func(float64) float64 { return r.y })
	l.Color, l.Dashes, l.Width = refColor, []vg.Length{vg.Points(6), vg.Points(3)}, vg.Points(1.2)
	leg.Add(r.label, l)
}

// hline is a plotter for a reference line: a band [lo, hi] and the line at
// y across the whole x range of the axes.
type hline struct{ ref refLine }

func (h *hline) Plot(c draw.Canvas, pl *plot.Plot) {
	trX, trY := pl.Transforms(&c)
	x0, x1 := trX(pl.X.Min), trX(pl.X.Max)
	if h.ref.hi > h.ref.lo {
		y0, y1 := trY(h.ref.lo), trY(h.ref.hi)
		c.FillPolygon(color.RGBA{160, 160, 160, 60}, c.ClipPolygonY([]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}))
	}
	y := trY(h.ref.y)
	sty := draw.LineStyle{Color: refColor, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(6), vg.Points(3)}}
	c.StrokeLines(sty, c.ClipLinesY([]vg.Point{{X: x0, Y: y}, {X: x1, Y: y}})...)
}

// DataRange implements plot.DataRanger: the reference's y extent only.
func (h *hline) DataRange() (xmin, xmax, ymin, ymax float64) {
	return math.Inf(1), math.Inf(-1), math.Min(h.ref.lo, h.ref.y), math.Max(h.ref.hi, h.ref.y)
}

// shareRanges gives every panel the union of the panels' axis ranges, keeps
// 0 in view on a linear y axis when the data are nonnegative and not far
// from it, and pads categorical x axes by half a category.
func shareRanges(plots []*plot.Plot, p PlotSpec) {
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, pl := range plots {
		xmin, xmax = math.Min(xmin, pl.X.Min), math.Max(xmax, pl.X.Max)
		ymin, ymax = math.Min(ymin, pl.Y.Min), math.Max(ymax, pl.Y.Max)
	}
	if !p.LogY && ymin > 0 && ymin < 0.5*ymax {
		// Keep 0 in view for rates and distances so lines are not magnified.
		ymin = 0
	}
	if p.Categorical {
		xmin, xmax = math.Round(xmin)-0.5, math.Round(xmax)+0.5
	}
	for _, pl := range plots {
		pl.X.Min, pl.X.Max, pl.Y.Min, pl.Y.Max = xmin, xmax, ymin, ymax
	}
}

// logTicks labels a logarithmic axis at 1, 2 and 5 times each power of ten
// when it spans at most three decades (every power of ten otherwise), with
// unlabelled minor ticks at the other integer multiples.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max >= min) {
		return nil
	}
	lo, hi := int(math.Floor(math.Log10(min))), int(math.Ceil(math.Log10(max)))
	labelled := map[int]bool{1: true}
	if hi-lo <= 3 {
		labelled[2], labelled[5] = true, true
	}
	var ts []plot.Tick
	for e := lo; e <= hi; e++ {
		for m := 1; m <= 9; m++ {
			v, _ := strconv.ParseFloat(fmt.Sprintf("%de%d", m, e), 64)
			if v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			tk := plot.Tick{Value: v}
			if labelled[m] {
				tk.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ts = append(ts, tk)
		}
	}
	return ts
}

// linTicks labels a linear axis at a round step (1, 2, 2.5 or 5 times a
// power of ten) giving four to eight labels, with a minor tick between.
type linTicks struct{}

func (linTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		if lo == hi && !math.IsInf(lo, 0) && !math.IsNaN(lo) {
			return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
		}
		return nil
	}
	span := hi - lo
	mag := math.Pow(10, math.Floor(math.Log10(span)))
	var step float64
	for _, m := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10} {
		step = m * mag
		if span/step <= 7 {
			break
		}
	}
	dec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	if math.Abs(step*math.Pow10(dec)-math.Round(step*math.Pow10(dec))) > 1e-9 {
		dec++ // 0.25, 2.5
	}
	var ts []plot.Tick
	k0 := math.Ceil(lo/step - 1e-9)
	first := k0 * step
	for k := k0; k*step <= hi+step*1e-9; k++ {
		v := k * step
		if k == 0 {
			v = 0 // not −0
		}
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', dec, 64)})
		if m := v + step/2; m < hi {
			ts = append(ts, plot.Tick{Value: m})
		}
	}
	if m := first - step/2; m > lo {
		ts = append(ts, plot.Tick{Value: m})
	}
	return ts
}

// categoryTicks labels the integer positions of a categorical axis.
type categoryTicks []string

func (c categoryTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for i, s := range c {
		if float64(i) >= min-1e-9 && float64(i) <= max+1e-9 {
			ts = append(ts, plot.Tick{Value: float64(i), Label: s})
		}
	}
	return ts
}
