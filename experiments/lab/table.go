package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// TableSpec describes one table of an experiment: label columns that identify
// a row, and metric columns pooled over seeds.
type TableSpec struct {
	Name    string // file stem, e.g. "invalid-rate"
	Title   string
	Labels  []string
	Metrics []MetricSpec
	Plots   []PlotSpec
	Note    string // shown under the table
}

// MetricSpec is one metric column.
type MetricSpec struct {
	Name   string
	Kind   Kind
	Digits int // decimals shown; 0 means 3
	Doc    string
}

// PlotSpec draws one metric of a table against a numeric label column (or a
// metric), one line (with 95% CI error bars) per series. Filter keeps only
// rows whose labels equal the given values.
//
// A panel shows at most MaxSeries series. Facet splits the series into one
// panel per value of its label columns; a panel that still has too many is
// split by packing whole groups of series (consecutive values of the label
// column Group) greedily, and as a last resort into near-equal parts.
// Series named in Repeat (as the Series columns name them) are drawn in
// every panel of their facet, as a common baseline. All panels share their
// axis ranges.
type PlotSpec struct {
	Name       string // file stem; defaults to the table name
	Title      string
	X          string   // label column holding numbers (or a metric)
	Y          string   // metric
	Series     []string // label columns whose values name a line
	Filter     map[string]string
	LogX, LogY bool
	XLabel     string
	YLabel     string

	Facet  []string // label columns whose values make a panel each
	Group  string   // label column grouping series when a panel is split
	Repeat []string // series drawn in every panel

	// Ref selects rows (label = value, matched against all rows, not only
	// Filter's) drawn as horizontal reference lines at their Y value, with
	// their interval as a band, instead of as series: the data's own rate,
	// exact samples' noise floor. RefLabel names them in the legend
	// (default: the row's series name).
	Ref      map[string]string
	RefLabel string
	// Exact names a metric drawn beside each series as rings at its
	// points: a closed form next to the measurement. ExactLabel is its
	// legend entry (default "METRIC (exact)").
	Exact      string
	ExactLabel string
	// Categorical treats the X label's values as categories: evenly
	// spaced, labelled by their values, series dodged beside each other and
	// never joined by lines.
	Categorical bool
	// Clip is the range of valid Y values: intervals are drawn clipped to
	// [Clip[0], Clip[1]]. The zero value clips a rate to [0, 1] and nothing
	// else; use math.Inf(1) for no upper bound.
	Clip [2]float64
}

// Table is a pooled table: one row per distinct label tuple, in the order
// the rows first appear in the grid.
type Table struct {
	Spec TableSpec
	Rows []TableRow
}

// TableRow is one pooled row: its labels and one estimate per metric.
type TableRow struct {
	Labels []string
	Cells  []Estimate
}

// Get returns the estimate of metric in the first row whose labels match
// every "label=value" pair in match, and whether such a row exists.
func (t *Table) Get(metric string, match ...string) (Estimate, bool) {
	mi := -1
	for i, m := range t.Spec.Metrics {
		if m.Name == metric {
			mi = i
		}
	}
	if mi < 0 {
		return Estimate{}, false
	}
	for _, r := range t.Rows {
		if t.matches(r, match) {
			return r.Cells[mi], true
		}
	}
	return Estimate{}, false
}

// Select returns the rows whose labels match every "label=value" pair.
func (t *Table) Select(match ...string) []TableRow {
	var out []TableRow
	for _, r := range t.Rows {
		if t.matches(r, match) {
			out = append(out, r)
		}
	}
	return out
}

// Label returns row r's value of label column name ("" if absent).
func (t *Table) Label(r TableRow, name string) string {
	for i, l := range t.Spec.Labels {
		if l == name && i < len(r.Labels) {
			return r.Labels[i]
		}
	}
	return ""
}

// Cell returns row r's estimate of metric name.
func (t *Table) Cell(r TableRow, name string) Estimate {
	for i, m := range t.Spec.Metrics {
		if m.Name == name {
			return r.Cells[i]
		}
	}
	return Estimate{Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
}

func (t *Table) matches(r TableRow, match []string) bool {
	for _, kv := range match {
		k, v, _ := strings.Cut(kv, "=")
		if t.Label(r, k) != v {
			return false
		}
	}
	return true
}

// pool builds the tables of spec from records sorted in grid order.
func pool(specs []TableSpec, recs []Record) []*Table {
	var out []*Table
	for _, spec := range specs {
		t := &Table{Spec: spec}
		type acc struct {
			xs   [][]float64
			k, n []int64
			cnt  []int
		}
		index := map[string]int{}
		var accs []*acc
		for _, rec := range recs {
			if rec.Table != spec.Name {
				continue
			}
			key := strings.Join(rec.Labels, "\x00")
			i, ok := index[key]
			if !ok {
				i = len(t.Rows)
				index[key] = i
				t.Rows = append(t.Rows, TableRow{Labels: append([]string(nil), rec.Labels...)})
				accs = append(accs, &acc{xs: make([][]float64, len(spec.Metrics)), k: make([]int64, len(spec.Metrics)), n: make([]int64, len(spec.Metrics)), cnt: make([]int, len(spec.Metrics))})
			}
			a := accs[i]
			for mi, m := range spec.Metrics {
				o, ok := rec.Values[m.Name]
				if !ok {
					continue
				}
				a.cnt[mi]++
				switch m.Kind {
				case Rate:
					a.k[mi] += o.K
					a.n[mi] += o.N
				default:
					a.xs[mi] = append(a.xs[mi], o.X)
				}
			}
		}
		for i := range t.Rows {
			a := accs[i]
			cells := make([]Estimate, len(spec.Metrics))
			for mi, m := range spec.Metrics {
				switch m.Kind {
				case Rate:
					cells[mi] = Wilson(a.k[mi], a.n[mi])
					cells[mi].Seeds = a.cnt[mi]
				case Exact:
					e := Estimate{Kind: Exact, Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Seeds: a.cnt[mi]}
					if len(a.xs[mi]) > 0 {
						e.Value = a.xs[mi][0]
					}
					cells[mi] = e
				default:
					cells[mi] = MeanCI(a.xs[mi])
				}
			}
			t.Rows[i].Cells = cells
		}
		out = append(out, t)
	}
	return out
}

func (m MetricSpec) digits() int {
	if m.Digits <= 0 {
		return 3
	}
	return m.Digits
}

// Format renders e with d decimals: "v ± h" for a mean, "v [lo, hi]" for a
// rate, "v" for an exact value or a single seed, "—" when there is no value.
func Format(e Estimate, d int) string {
	if !e.Valid() {
		return "—"
	}
	v := fmt.Sprintf("%.*f", d, e.Value)
	switch {
	case e.Kind == Exact || !e.HasCI():
		return v
	case e.Kind == Rate:
		return fmt.Sprintf("%s [%.*f, %.*f]", v, d, e.Lo, d, e.Hi)
	}
	return fmt.Sprintf("%s ± %.*f", v, d, (e.Hi-e.Lo)/2)
}

func (t *Table) seeds() int {
	s := 0
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			if c.Seeds > s {
				s = c.Seeds
			}
		}
	}
	return s
}

// ciNote describes the intervals of t.
func (t *Table) ciNote() string {
	var mean, rate bool
	for _, m := range t.Spec.Metrics {
		mean = mean || m.Kind == Mean
		rate = rate || m.Kind == Rate
	}
	var parts []string
	if mean {
		parts = append(parts, "mean ± 95% Student-t half-width over seeds")
	}
	if rate {
		parts = append(parts, "rate [95% Wilson interval] of counts pooled over seeds")
	}
	if len(parts) == 0 {
		return "exact values: no sampling, no interval"
	}
	return fmt.Sprintf("%d seeds; %s", t.seeds(), strings.Join(parts, "; "))
}

// WriteText writes t as aligned text columns.
func (t *Table) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s\n", t.Spec.Title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := append(append([]string(nil), t.Spec.Labels...), metricNames(t.Spec)...)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range t.Rows {
		cols := append([]string(nil), r.Labels...)
		for i, c := range r.Cells {
			cols = append(cols, Format(c, t.Spec.Metrics[i].digits()))
		}
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "(%s)\n", t.ciNote())
	return err
}

func metricNames(s TableSpec) []string {
	out := make([]string, len(s.Metrics))
	for i, m := range s.Metrics {
		out[i] = m.Name
	}
	return out
}

// WriteMarkdown writes t as a Markdown table with its CI note.
func (t *Table) WriteMarkdown(w io.Writer) error {
	head := append(append([]string(nil), t.Spec.Labels...), metricNames(t.Spec)...)
	fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
	seps := make([]string, len(head))
	for i := range seps {
		seps[i] = "---"
		if i >= len(t.Spec.Labels) {
			seps[i] = "---:"
		}
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
	for _, r := range t.Rows {
		cols := append([]string(nil), r.Labels...)
		for i, c := range r.Cells {
			cols = append(cols, Format(c, t.Spec.Metrics[i].digits()))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cols, " | "))
	}
	_, err := fmt.Fprintf(w, "\n%s.\n", t.ciNote())
	return err
}

// WriteCSV writes t with, per metric, its value, interval ends and seed
// count (and pooled trials for a rate); empty fields where undefined.
func (t *Table) WriteCSV(w io.Writer) error {
	head := append([]string(nil), t.Spec.Labels...)
	for _, m := range t.Spec.Metrics {
		head = append(head, m.Name, m.Name+"_lo", m.Name+"_hi", m.Name+"_seeds")
		if m.Kind == Rate {
			head = append(head, m.Name+"_k", m.Name+"_n")
		}
	}
	var b strings.Builder
	b.WriteString(csvLine(head))
	for _, r := range t.Rows {
		cols := append([]string(nil), r.Labels...)
		for i, c := range r.Cells {
			cols = append(cols, num(c.Value), num(c.Lo), num(c.Hi), fmt.Sprint(c.Seeds))
			if t.Spec.Metrics[i].Kind == Rate {
				cols = append(cols, fmt.Sprint(c.K), fmt.Sprint(c.N))
			}
		}
		b.WriteString(csvLine(cols))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return fmt.Sprintf("%.6g", x)
}

func csvLine(cols []string) string {
	for i, c := range cols {
		if strings.ContainsAny(c, ",\"\n") {
			cols[i] = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
		}
	}
	return strings.Join(cols, ",") + "\n"
}

// MarshalJSON writes an estimate with null for undefined numbers.
func (e Estimate) MarshalJSON() ([]byte, error) {
	f := func(x float64) *float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return &x
	}
	return json.Marshal(struct {
		Kind  string   `json:"kind"`
		Value *float64 `json:"value"`
		Lo    *float64 `json:"lo"`
		Hi    *float64 `json:"hi"`
		Seeds int      `json:"seeds"`
		K     int64    `json:"k,omitempty"`
		N     int64    `json:"n,omitempty"`
	}{e.Kind.String(), f(e.Value), f(e.Lo), f(e.Hi), e.Seeds, e.K, e.N})
}
