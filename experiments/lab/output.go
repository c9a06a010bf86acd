package lab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// RecordsFile is the name of the raw-records file in an experiment's
// output directory; Merge and report read it.
const RecordsFile = "records.json"

// WriteFileAtomic writes data to path through a temporary file in the same
// directory that is synced and then renamed over path, so a reader sees the
// old file or the new one, never a part.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// Files renders r's output files: name → contents. They are the raw records
// (records.json), the pooled tables (summary.json, one CSV and one Markdown
// file per table), the SVG plots and a README.md that presents the
// experiment.
func Files(r *Result) (map[string][]byte, error) {
	files := map[string][]byte{}
	raw, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return nil, fmt.Errorf("%s: encode records: %w", r.Experiment, err)
	}
	files[RecordsFile] = append(raw, '\n')
	sum, err := json.MarshalIndent(summary(r), "", " ")
	if err != nil {
		return nil, fmt.Errorf("%s: encode summary: %w", r.Experiment, err)
	}
	files["summary.json"] = append(sum, '\n')
	for _, t := range r.Tables {
		var b bytes.Buffer
		if err := t.WriteCSV(&b); err != nil {
			return nil, err
		}
		files[t.Spec.Name+".csv"] = b.Bytes()
		var m bytes.Buffer
		if err := t.WriteMarkdown(&m); err != nil {
			return nil, err
		}
		files[t.Spec.Name+".md"] = m.Bytes()
		for _, p := range t.Spec.Plots {
			svg, err := PlotSVG(t, p)
			if err != nil {
				return nil, fmt.Errorf("%s: plot %s: %w", r.Experiment, plotName(t, p), err)
			}
			if svg != nil {
				files[plotName(t, p)+".svg"] = svg
			}
		}
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r, MarkdownOptions{Level: 1}); err != nil {
		return nil, err
	}
	files["README.md"] = md.Bytes()
	return files, nil
}

func plotName(t *Table, p PlotSpec) string {
	if p.Name != "" {
		return p.Name
	}
	return t.Spec.Name
}

type tableJSON struct {
	Name    string         `json:"name"`
	Title   string         `json:"title"`
	Labels  []string       `json:"labels"`
	Metrics []string       `json:"metrics"`
	Rows    []tableRowJSON `json:"rows"`
}

type tableRowJSON struct {
	Labels []string            `json:"labels"`
	Cells  map[string]Estimate `json:"cells"`
}

func summary(r *Result) any {
	var ts []tableJSON
	for _, t := range r.Tables {
		tj := tableJSON{Name: t.Spec.Name, Title: t.Spec.Title, Labels: t.Spec.Labels, Metrics: metricNames(t.Spec)}
		for _, row := range t.Rows {
			cells := map[string]Estimate{}
			for i, m := range t.Spec.Metrics {
				cells[m.Name] = row.Cells[i]
			}
			tj.Rows = append(tj.Rows, tableRowJSON{Labels: row.Labels, Cells: cells})
		}
		ts = append(ts, tj)
	}
	return struct {
		Experiment string      `json:"experiment"`
		Config     Config      `json:"config"`
		Complete   bool        `json:"complete"`
		Tables     []tableJSON `json:"tables"`
		Verdicts   []string    `json:"verdicts"`
	}{r.Experiment, r.Config, r.Complete(), ts, r.Verdicts}
}

// WriteResult writes r's files into dir/<experiment>. The files are first
// written (each atomically) into a fresh staging directory beside it, which
// then replaces dir/<experiment> by rename: an existing result is never left
// half-overwritten, and results already written survive a later crash.
func WriteResult(dir string, r *Result) error {
	files, err := Files(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	stage, err := os.MkdirTemp(dir, "."+r.Experiment+".new-*")
	if err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	defer os.RemoveAll(stage)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := WriteFileAtomic(filepath.Join(stage, n), files[n]); err != nil {
			return fmt.Errorf("write %s: %w", n, err)
		}
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	final := filepath.Join(dir, r.Experiment)
	var old string
	if _, err := os.Lstat(final); err == nil {
		old = stage + ".old"
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("replace %s: %w", final, err)
		}
	}
	if err := os.Rename(stage, final); err != nil {
		if old != "" {
			os.Rename(old, final) // put the previous result back
		}
		return fmt.Errorf("replace %s: %w", final, err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// ReadResult reads the result in directory dir (one experiment's output
// directory) with ReadRecords.
func ReadResult(dir string) (*Result, error) {
	path := filepath.Join(dir, RecordsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadRecords(f, path)
}

// ReadDir reads every experiment result under dir (subdirectories holding a
// records.json), in canonical experiment order.
func ReadDir(dir string) ([]*Result, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []*Result
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(sub, RecordsFile)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		r, err := ReadResult(sub)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no experiment results (no */%s)", dir, RecordsFile)
	}
	rank := map[string]int{}
	for i, e := range All() {
		rank[e.Name] = i
	}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Experiment] < rank[out[j].Experiment] })
	return out, nil
}
