package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// ReadRecords decodes a records file (the records.json that WriteResult
// writes) from rd, validates it and pools its tables. name, normally the
// file's path, begins every error.
//
// Nothing in the file is trusted. It must name a registered experiment and
// a configuration that experiment accepts; list its grid's unit keys once
// each and shard indices below the shard count once each; and every record
// must lie in that grid (unit index and key agree, seed index below the
// seed count, in one of the listed shards), appear once, belong to a table
// of the experiment with one non-empty value per label, and carry only that
// table's metrics, with finite values and, for a rate, counts
// 0 ≤ k ≤ n. Every (unit, seed) item of a listed shard must be present
// with its rows numbered 0, 1, …, so a file whose shards list more than its
// records hold is refused: Complete then means every shard with all its
// records. The error names the file and the record (by index, unit, seed
// and row).
func ReadRecords(rd io.Reader, name string) (*Result, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var r Result
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: data after the records object", name)
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := Repool(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &r, nil
}

// validate checks r as ReadRecords documents.
func (r *Result) validate() error {
	e, ok := Lookup(r.Experiment)
	if !ok {
		return fmt.Errorf("unknown experiment %q", r.Experiment)
	}
	if r.Config.Params == nil {
		r.Config.Params = map[string]float64{}
	}
	if err := e.Validate(r.Config); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if !(r.Elapsed >= 0) || math.IsInf(r.Elapsed, 0) {
		return fmt.Errorf("elapsed = %v seconds", r.Elapsed)
	}
	if len(r.Units) == 0 {
		return fmt.Errorf("no units")
	}
	units := map[string]bool{}
	for i, k := range r.Units {
		if k == "" || units[k] {
			return fmt.Errorf("unit %d: key %q empty or repeated", i, k)
		}
		units[k] = true
	}
	N := r.Config.Shard.N
	if len(r.Shards) == 0 {
		return fmt.Errorf("no shards listed")
	}
	shards := map[int]bool{}
	for _, s := range r.Shards {
		if s < 0 || s >= N || shards[s] {
			return fmt.Errorf("shard %d of %d out of range or repeated", s, N)
		}
		shards[s] = true
	}
	seeds := r.Config.Seeds
	if e.Deterministic {
		seeds = 1
	}
	// rows[u*seeds+s] counts the rows of item (u, s); the grid has at most
	// len(Units)·MaxSeeds items.
	rows := make([]int, len(r.Units)*seeds)
	maxRow := make([]int, len(rows))
	type rowKey struct{ u, s, row int }
	seen := map[rowKey]bool{}
	type labelKey struct {
		u, s   int
		table  string
		labels string
	}
	seenLabels := map[labelKey]bool{}
	for j, rec := range r.Records {
		where := fmt.Sprintf("record %d (unit %q, seed %d, row %d)", j, rec.Unit, rec.Seed, rec.RowIndex)
		if rec.UnitIndex < 0 || rec.UnitIndex >= len(r.Units) || r.Units[rec.UnitIndex] != rec.Unit {
			return fmt.Errorf("%s: unit index %d does not name this unit in the grid of %d", where, rec.UnitIndex, len(r.Units))
		}
		if rec.Seed < 0 || rec.Seed >= seeds {
			return fmt.Errorf("%s: seed index outside [0, %d)", where, seeds)
		}
		item := rec.UnitIndex*seeds + rec.Seed
		if !shards[item%N] {
			return fmt.Errorf("%s: belongs to shard %d, which the file does not list (shards %v)", where, item%N, r.Shards)
		}
		if rec.RowIndex < 0 || rec.RowIndex >= 1<<20 {
			return fmt.Errorf("%s: row index out of range", where)
		}
		if k := (rowKey{rec.UnitIndex, rec.Seed, rec.RowIndex}); seen[k] {
			return fmt.Errorf("%s: duplicate record", where)
		} else {
			seen[k] = true
		}
		if err := checkRow(e, rec.Row); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if k := (labelKey{rec.UnitIndex, rec.Seed, rec.Table, strings.Join(rec.Labels, "\x00")}); seenLabels[k] {
			return fmt.Errorf("%s: a second row of table %s labelled %v at the same unit and seed", where, rec.Table, rec.Labels)
		} else {
			seenLabels[k] = true
		}
		rows[item]++
		maxRow[item] = max(maxRow[item], rec.RowIndex+1)
	}
	for item := range rows {
		if !shards[item%N] {
			continue
		}
		u, s := item/seeds, item%seeds
		if rows[item] == 0 {
			return fmt.Errorf("shard %d has no records for unit %q seed %d", item%N, r.Units[u], s)
		}
		if maxRow[item] != rows[item] {
			return fmt.Errorf("unit %q seed %d: rows numbered up to %d but only %d present", r.Units[u], s, maxRow[item]-1, rows[item])
		}
	}
	return nil
}

// checkRow checks one row against e's tables: a known table, one non-empty
// value per label, known metrics, finite values, and counts 0 ≤ k ≤ n (and
// no scalar) for a rate, no counts for a scalar metric.
func checkRow(e *Experiment, r Row) error {
	var spec *TableSpec
	for i := range e.Tables {
		if e.Tables[i].Name == r.Table {
			spec = &e.Tables[i]
		}
	}
	if spec == nil {
		return fmt.Errorf("row for unknown table %q", r.Table)
	}
	if len(r.Labels) != len(spec.Labels) {
		return fmt.Errorf("table %s: row has %d labels, want %d", r.Table, len(r.Labels), len(spec.Labels))
	}
	for i, l := range r.Labels {
		if l == "" {
			return fmt.Errorf("table %s: label %s is empty", r.Table, spec.Labels[i])
		}
	}
	// Metrics in the table's order, so the first fault reported does not
	// depend on map order.
	for _, m := range spec.Metrics {
		o, ok := r.Values[m.Name]
		if !ok {
			continue
		}
		if math.IsNaN(o.X) || math.IsInf(o.X, 0) {
			return fmt.Errorf("table %s row %v: metric %s is %v", r.Table, r.Labels, m.Name, o.X)
		}
		if m.Kind == Rate {
			if o.N < 0 || o.K < 0 || o.K > o.N || o.X != 0 {
				return fmt.Errorf("table %s row %v: rate %s has counts %d of %d (and scalar %v): need 0 ≤ k ≤ n and no scalar", r.Table, r.Labels, m.Name, o.K, o.N, o.X)
			}
		} else if o.K != 0 || o.N != 0 {
			return fmt.Errorf("table %s row %v: %s metric %s has counts %d of %d", r.Table, r.Labels, m.Kind, m.Name, o.K, o.N)
		}
	}
	var unknown []string
	for name := range r.Values {
		if spec.metric(name) == nil {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("table %s: unknown metric %q", r.Table, unknown[0])
	}
	return nil
}

func (s *TableSpec) metric(name string) *MetricSpec {
	for i := range s.Metrics {
		if s.Metrics[i].Name == name {
			return &s.Metrics[i]
		}
	}
	return nil
}
