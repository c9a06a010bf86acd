package lab

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// toyRecords returns the records file of a quick toy-coin run, whole or one
// shard of two.
func toyRecords(t testing.TB, sh Shard) []byte {
	cfg := toyCoin.Config(true)
	cfg.Shard = sh
	r, err := Run(t.Context(), toyCoin, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(r)
	if err != nil {
		t.Fatal(err)
	}
	return files[RecordsFile]
}

// edit decodes a records file, applies f to its generic JSON form and
// encodes it again.
func edit(t *testing.T, data []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func rec(m map[string]any, i int) map[string]any { return m["records"].([]any)[i].(map[string]any) }

func values(m map[string]any, i int) map[string]any { return rec(m, i)["values"].(map[string]any) }

// TestReadRecordsRejects: hand-edited but well-formed records files (the
// ones the merge and report commands used to accept, printing invalid rates
// and marking incomplete merges complete) are refused with an error that
// names the file and, for a record's fault, the record.
func TestReadRecordsRejects(t *testing.T) {
	whole := toyRecords(t, Shard{0, 1})
	if _, err := ReadRecords(bytes.NewReader(whole), "ok.json"); err != nil {
		t.Fatalf("valid file: %v", err)
	}
	for _, c := range []struct {
		name string
		f    func(m map[string]any)
		want string
	}{
		{"count above its sample size", func(m map[string]any) { values(m, 0)["heads"] = map[string]any{"k": 1059, "n": 1000} }, "record 0"},
		{"negative count", func(m map[string]any) { values(m, 0)["heads"] = map[string]any{"k": -1, "n": 10} }, "record 0"},
		{"rate with a scalar", func(m map[string]any) { values(m, 1)["heads"] = map[string]any{"x": 1.5} }, "record 1"},
		{"mean with counts", func(m map[string]any) { values(m, 1)["mean"] = map[string]any{"k": 1, "n": 2} }, "record 1"},
		{"unknown metric", func(m map[string]any) { values(m, 2)["tails"] = map[string]any{"x": 1} }, `unknown metric "tails"`},
		{"unknown table", func(m map[string]any) { rec(m, 3)["table"] = "tails" }, `unknown table "tails"`},
		{"empty label", func(m map[string]any) { rec(m, 0)["labels"] = []any{""} }, "label p is empty"},
		{"missing label", func(m map[string]any) { rec(m, 0)["labels"] = []any{} }, "0 labels"},
		{"duplicate record", func(m map[string]any) {
			rs := m["records"].([]any)
			m["records"] = append(rs, rs[4])
		}, "duplicate record"},
		{"second row with the same labels", func(m map[string]any) {
			rs := m["records"].([]any)
			c := map[string]any{}
			for k, v := range rs[0].(map[string]any) {
				c[k] = v
			}
			c["row"] = 1
			m["records"] = append(rs, c)
		}, "second row"},
		{"null records", func(m map[string]any) { m["records"] = nil }, "no records for unit"},
		{"a missing item", func(m map[string]any) { m["records"] = m["records"].([]any)[1:] }, "no records for unit"},
		{"row gap", func(m map[string]any) { rec(m, 0)["row"] = 3 }, "rows numbered up to 3"},
		{"shard out of range", func(m map[string]any) { m["shards"] = []any{5} }, "shard 5 of 1"},
		{"no shards", func(m map[string]any) { m["shards"] = []any{} }, "no shards"},
		{"unit index past the grid", func(m map[string]any) { rec(m, 0)["unit_index"] = 7 }, "record 0"},
		{"unit key not the grid's", func(m map[string]any) { rec(m, 0)["unit"] = "p=0.9" }, "record 0"},
		{"seed index past the seeds", func(m map[string]any) { rec(m, 0)["seed"] = 3 }, "seed index"},
		{"repeated unit key", func(m map[string]any) { m["units"] = []any{"p=0.25", "p=0.25", "p=0.75"} }, "repeated"},
		{"unknown experiment", func(m map[string]any) { m["experiment"] = "nope" }, "unknown experiment"},
		{"parameter out of range", func(m map[string]any) { m["config"].(map[string]any)["params"] = map[string]any{"flips": 1e99} }, "flips"},
		{"unknown parameter", func(m map[string]any) {
			m["config"].(map[string]any)["params"] = map[string]any{"flips": 500, "bias": 1}
		}, "bias"},
		{"zero seeds", func(m map[string]any) { m["config"].(map[string]any)["seeds"] = 0 }, "seeds"},
		{"unknown field", func(m map[string]any) { m["complete"] = true }, "complete"},
		{"negative elapsed", func(m map[string]any) { m["elapsed"] = -1 }, "elapsed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := edit(t, whole, c.f)
			_, err := ReadRecords(bytes.NewReader(data), "dir/records.json")
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), "dir/records.json: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want the file name and %q", err, c.want)
			}
		})
	}
}

// TestMergeCompleteNeedsRecords: a shard that lists itself but holds no
// records cannot make a merge complete; a shard of a different count is
// refused.
func TestMergeCompleteNeedsRecords(t *testing.T) {
	var parts []*Result
	for i := 0; i < 2; i++ {
		r, err := ReadRecords(bytes.NewReader(toyRecords(t, Shard{i, 2})), "shard")
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, r)
	}
	if m, err := Merge(parts...); err != nil || !m.Complete() {
		t.Fatalf("honest merge: %v", err)
	}
	hollow := *parts[1]
	hollow.Records = nil
	if m, err := Merge(parts[0], &hollow); err == nil {
		t.Fatalf("merge with an empty shard succeeded (complete %v)", m.Complete())
	}
	five := *parts[1]
	five.Shards = []int{5}
	if _, err := Merge(parts[0], &five); err == nil {
		t.Fatal("merge with shard 5 of 2 succeeded")
	}
}

// TestReadRecordsOldKeyCasing: files written before the row keys were lower
// case ("Table", "Labels", "Values") still read, to the same result.
func TestReadRecordsOldKeyCasing(t *testing.T) {
	data := toyRecords(t, Shard{0, 1})
	if !bytes.Contains(data, []byte(`"table"`)) || bytes.Contains(data, []byte(`"Table"`)) {
		t.Fatal("records are not written with lower-case keys")
	}
	old := bytes.ReplaceAll(data, []byte(`"table"`), []byte(`"Table"`))
	old = bytes.ReplaceAll(old, []byte(`"labels"`), []byte(`"Labels"`))
	old = bytes.ReplaceAll(old, []byte(`"values"`), []byte(`"Values"`))
	old = bytes.ReplaceAll(old, []byte(`"i"`), []byte(`"I"`))
	old = bytes.ReplaceAll(old, []byte(`"n": 1\n`), []byte(`"N": 1\n`))
	a, err := ReadRecords(bytes.NewReader(data), "new")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadRecords(bytes.NewReader(old), "old")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Records, b.Records) || !sameTables(a, b) {
		t.Fatal("old-cased file reads differently")
	}
}

// FuzzReadRecords: no input makes ReadRecords panic, and whatever it accepts
// survives a write and a second read unchanged. The seed corpus (a whole
// run, a shard, and edits of them) runs with the ordinary tests.
func FuzzReadRecords(f *testing.F) {
	whole := toyRecords(f, Shard{0, 1})
	f.Add(whole)
	f.Add(toyRecords(f, Shard{1, 2}))
	f.Add(bytes.Replace(whole, []byte(`"k": `), []byte(`"k": 9`), 1))
	f.Add(bytes.Replace(whole, []byte(`"shards": [`), []byte(`"shards": [5,`), 1))
	f.Add(bytes.Replace(whole, []byte(`"seed": 0`), []byte(`"seed": -1`), 1))
	f.Add([]byte(`{"experiment":"test-coin","config":{"seeds":1,"shard":{"i":0,"n":1},"params":{"flips":1}},"units":["p=0.25"],"shards":[0],"records":null}`))
	f.Add([]byte(`{"experiment":"marginal-trap"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadRecords(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		files, err := Files(r)
		if err != nil {
			t.Fatalf("accepted file does not render: %v", err)
		}
		back, err := ReadRecords(bytes.NewReader(files[RecordsFile]), "again")
		if err != nil {
			t.Fatalf("accepted file does not read back after writing: %v", err)
		}
		if !reflect.DeepEqual(back.Records, r.Records) || !sameTables(back, r) {
			t.Fatal("records change through a write and a read")
		}
	})
}
