package nn

import (
	"io/fs"
	"math"
	"os"
	"path"
	"testing"

	"github.com/softdiff/softdiff/data/models"
	"github.com/softdiff/softdiff/soft"
)

// parityTol is the largest |Go − PyTorch| accepted on a logit.
const parityTol = 1e-4

// checkParity compares the model's logits with the fixture that the
// training framework wrote beside the checkpoint (its own forward on the
// same weights and evidence, train/train.py export_checkpoint).
func checkParity(t *testing.T, fsys fs.FS, dir string) {
	t.Helper()
	m, err := LoadFS(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fs.ReadFile(fsys, path.Join(dir, ParityFile))
	if err != nil {
		t.Fatal(err)
	}
	st, err := ParseSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	ev, lg := st.Tensors["evidence"], st.Tensors["logits"]
	if len(ev.Shape) != 3 || !sameShape(ev.Shape, lg.Shape) || ev.Shape[2] != m.K {
		t.Fatalf("fixture shapes %v, %v", ev.Shape, lg.Shape)
	}
	N, L, K := ev.Shape[0], ev.Shape[1], ev.Shape[2]
	got := make([]float32, L*K)
	worst := 0.0
	for n := 0; n < N; n++ {
		e := &soft.Dense{L: L, K: K, Data: ev.Data[n*L*K : (n+1)*L*K]}
		if err := m.Logits(got, e); err != nil {
			t.Fatalf("sequence %d: %v", n, err)
		}
		want := lg.Data[n*L*K : (n+1)*L*K]
		for j := range got {
			g, w := float64(got[j]), float64(want[j])
			if math.IsInf(w, -1) || math.IsInf(g, -1) {
				if g != w {
					t.Fatalf("sequence %d, position %d, state %d: Go %v, PyTorch %v", n, j/K, j%K, g, w)
				}
				continue
			}
			d := math.Abs(g - w)
			if !(d <= parityTol) {
				t.Fatalf("sequence %d, position %d, state %d: Go %v, PyTorch %v (|Δ| = %.3g > %g)", n, j/K, j%K, g, w, d, parityTol)
			}
			worst = max(worst, d)
		}
	}
	t.Logf("%s: %d×%d×%d logits, max |Go − PyTorch| = %.3g", dir, N, L, K, worst)
}

func TestParityTestdata(t *testing.T) {
	for _, dir := range []string{"tiny-learned", "tiny-sinusoidal"} {
		t.Run(dir, func(t *testing.T) { checkParity(t, os.DirFS("testdata"), dir) })
	}
}

func TestParityShipped(t *testing.T) {
	names := ShippedNames()
	if len(names) == 0 {
		t.Fatal("no shipped models")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) { checkParity(t, models.FS, name) })
	}
}

// TestParityDir checks every checkpoint directory under $NN_PARITY_DIR (for
// example the output of train/gpu.sh before it is copied into data/models);
// it is skipped when the variable is unset.
func TestParityDir(t *testing.T) {
	dir := os.Getenv("NN_PARITY_DIR")
	if dir == "" {
		t.Skip("NN_PARITY_DIR not set")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			t.Run(e.Name(), func(t *testing.T) { checkParity(t, os.DirFS(dir), e.Name()) })
		}
	}
}
