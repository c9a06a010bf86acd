package experiments

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/nn"
	"github.com/softdiff/softdiff/soft"
)

var updateKernelFixture = flag.Bool("update-kernel-fixture", false, "rewrite train/testdata's kernel table fixture")

// readKernelTable parses a written table with nn's safetensors reader (an
// independent parser of the layout).
func readKernelTable(t *testing.T, b []byte) (times, tr nn.Tensor, meta map[string]string) {
	t.Helper()
	st, err := nn.ParseSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	return st.Tensors["times"], st.Tensors["transition"], st.Metadata
}

// The exported table holds P(x_t = x | x_0 = v) on the grid j/T: checked
// against the kernel's Marginal of the one-hot row of v (Transition's
// path, not the Likelihood columns the export reads), and every token row
// sums to 1 (a forward marginal).
func TestWriteKernelTable(t *testing.T) {
	const T = 4
	for _, key := range []string{"graph", "hierarchical", "uniform"} {
		var buf bytes.Buffer
		info, err := WriteKernelTable(&buf, "agreement-hmm-4", key, T, 8)
		if err != nil {
			t.Fatal(err)
		}
		times, tr, meta := readKernelTable(t, buf.Bytes())
		K := info.States
		if meta["format"] != KernelTableFormat || meta["kernel"] != key || meta["states"] != itoa(K) {
			t.Fatalf("%s: metadata %v", key, meta)
		}
		if len(times.Shape) != 1 || times.Shape[0] != T || len(tr.Shape) != 3 || tr.Shape[0] != T || tr.Shape[1] != K || tr.Shape[2] != K {
			t.Fatalf("%s: shapes %v %v", key, times.Shape, tr.Shape)
		}
		k, _, err := gradedKernel("agreement-hmm-4", key, 8)
		if err != nil {
			t.Fatal(err)
		}
		src, dst := soft.NewDense(1, K), soft.NewDense(1, K)
		for j := 0; j < T; j++ {
			tj := float64(j+1) / T
			if d := math.Abs(float64(times.Data[j]) - tj); !(d <= 1e-7) {
				t.Fatalf("%s: time %d is %v, want %v", key, j, times.Data[j], tj)
			}
			for v := 0; v < K; v++ {
				clear(src.Data)
				src.Data[v] = 1
				k.Marginal(dst, src, tj)
				var sum float64
				for x := 0; x < K; x++ {
					got := float64(tr.Data[(j*K+v)*K+x])
					sum += got
					if d := math.Abs(got - float64(dst.Data[x])); !(d <= 2e-6) {
						t.Fatalf("%s: P(x_%v = %d | x_0 = %d) = %v, Marginal gives %v", key, tj, x, v, got, dst.Data[x])
					}
				}
				if int32(v) != info.Mask {
					if d := math.Abs(sum - 1); !(d <= 1e-5) {
						t.Fatalf("%s: row %d at t = %v sums to %v", key, v, tj, sum)
					}
				}
			}
		}
	}
	if _, err := WriteKernelTable(&bytes.Buffer{}, "agreement-hmm-4", "no-such", T, 8); err == nil {
		t.Fatal("unknown kernel accepted")
	}
	if _, err := WriteKernelTable(&bytes.Buffer{}, "agreement-hmm-4", "graph", 0, 8); err == nil {
		t.Fatal("T = 0 accepted")
	}
}

// kernelFixtureCase is one evidence row of the Python cross-check: x_t at
// time index j (t = (j+1)/T) and the row decode.KernelEvidence writes.
type kernelFixtureCase struct {
	J   int       `json:"j"`
	Xt  int32     `json:"xt"`
	Row []float32 `json:"row"`
}

// The fixture train/test_train.py reads: a table of the graph kernel of
// agreement-hmm-4 and the evidence rows Go's samplers hand over for a few
// (t, x_t); the Python side must rebuild the same rows from the table
// (kernel_table.KernelTable.evidence_rows). This test keeps the fixture
// equal to what the Go code writes (run with -update-kernel-fixture to
// rewrite it).
func TestKernelTableFixture(t *testing.T) {
	const T = 4
	dir := filepath.Join("..", "train", "testdata")
	var buf bytes.Buffer
	info, err := WriteKernelTable(&buf, "agreement-hmm-4", "graph", T, 8)
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := gradedKernel("agreement-hmm-4", "graph", 8)
	if err != nil {
		t.Fatal(err)
	}
	var cases []kernelFixtureCase
	K := info.States
	ev := soft.NewDense(1, K)
	for j := 0; j < T; j++ {
		for _, x := range []int32{0, int32(K / 2), info.Mask} {
			if err := decode.KernelEvidence(ev, k.(kernels.Likelihooder), []int32{x}, float64(j+1)/T, info.Mask); err != nil {
				t.Fatal(err)
			}
			cases = append(cases, kernelFixtureCase{J: j, Xt: x, Row: append([]float32(nil), ev.Data...)})
		}
	}
	js, err := json.MarshalIndent(map[string]any{"mask": info.Mask, "states": K, "cases": cases}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	tabPath, jsPath := filepath.Join(dir, "kernel-table.safetensors"), filepath.Join(dir, "kernel-table.json")
	if *updateKernelFixture {
		if err := os.WriteFile(tabPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(jsPath, append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gotTab, err := os.ReadFile(tabPath)
	if err != nil {
		t.Fatal(err)
	}
	gotJS, err := os.ReadFile(jsPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotTab, buf.Bytes()) || !bytes.Equal(bytes.TrimSpace(gotJS), js) {
		t.Fatal("train/testdata/kernel-table.* differ from what the Go code writes: rerun with -update-kernel-fixture")
	}
}
