package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

func loadTiny(t testing.TB, name string) *Model {
	t.Helper()
	m, err := Load("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// randomEvidence returns L rows of every kind: one-hot, MASK, channel
// evidence at SNRs 0.3…1000 (float32 softmax, zeros where it underflows),
// and LRD-like mixtures.
func randomEvidence(rng *rand.Rand, L, K, mask int) *soft.Dense {
	e := soft.NewDense(L, K)
	for i := 0; i < L; i++ {
		row := e.Row(i)
		x := rng.IntN(K - 1)
		if x >= mask {
			x++
		}
		switch i % 4 {
		case 0:
			row[x] = 1
		case 1:
			row[mask] = 1
		case 2:
			s := []float64{0.3, 3, 30, 1000}[rng.IntN(4)]
			mx := math.Inf(-1)
			lam := make([]float64, K)
			for v := range lam {
				if v == mask {
					continue
				}
				lam[v] = math.Sqrt(s) * rng.NormFloat64()
				if v == x {
					lam[v] += s
				}
				mx = max(mx, lam[v])
			}
			var z float64
			for v := range lam {
				if v != mask {
					z += math.Exp(lam[v] - mx)
				}
			}
			for v := range lam {
				if v != mask {
					row[v] = float32(math.Exp(lam[v]-mx) / z)
				}
			}
		default:
			row[mask] = 0.4
			row[x] = 0.6
		}
	}
	return e
}

func TestOneHotEmbeddingExact(t *testing.T) {
	for _, name := range []string{"tiny-learned", "tiny-sinusoidal"} {
		m := loadTiny(t, name)
		L := m.cfg.MaxPositions
		e := soft.NewDense(L, m.K)
		for i := 0; i < L; i++ {
			e.Row(i)[i%m.K] = 1 // token i%K, or MASK when that is the mask id
		}
		ws := &workspace{}
		ws.ensure(m, L, L)
		if err := m.embed(ws, []*soft.Dense{e}, L); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < L; i++ {
			u := i % m.K
			for j := 0; j < m.d; j++ {
				want := m.emb[u*m.d+j] + m.pos[i*m.d+j]
				if got := ws.h[i*m.d+j]; got != want {
					t.Fatalf("%s: position %d (state %d), dim %d: input %v, want E+P = %v exactly", name, i, u, j, got, want)
				}
			}
		}
	}
}

func TestEvidenceSkip(t *testing.T) {
	m := loadTiny(t, "tiny-learned") // has the skip
	L, K := m.cfg.MaxPositions, m.K
	rng := rand.New(rand.NewPCG(1, 2))
	e := randomEvidence(rng, L, K, m.mask)
	bel := soft.NewDense(L, K)
	if err := m.Denoise(bel, e, 0.5); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < L; i++ {
		row, b := e.Row(i), bel.Row(i)
		if err := soft.ValidateRow(b); err != nil {
			t.Fatalf("position %d: %v", i, err)
		}
		if b[m.mask] != 0 {
			t.Errorf("position %d: MASK belief %v", i, b[m.mask])
		}
		for v := range row {
			// Where the evidence likelihood is zero the belief is exactly zero.
			if v != m.mask && row[v]+row[m.mask] == 0 && b[v] != 0 {
				t.Errorf("position %d: token %d excluded by the evidence has belief %v", i, v, b[v])
			}
		}
		if i%4 == 0 { // one-hot: belief exactly one-hot
			x := soft.Argmax(row)
			if b[x] != 1 {
				t.Errorf("position %d: one-hot evidence at %d gives belief %v there", i, x, b[x])
			}
		}
	}
	// At an all-MASK row the skip adds −log V to every token logit: the
	// same row's logits without the skip differ by that constant.
	noSkip := *m
	noSkip.cfg.EvidenceSkip = false
	noSkip.pool = &wsPool{}
	z1, z0 := make([]float32, L*K), make([]float32, L*K)
	if err := m.Logits(z1, e); err != nil {
		t.Fatal(err)
	}
	if err := noSkip.Logits(z0, e); err != nil {
		t.Fatal(err)
	}
	logV := math.Log(float64(K - 1))
	for i := 1; i < L; i += 4 {
		for v := 0; v < K; v++ {
			if v == m.mask {
				continue
			}
			if d := float64(z1[i*K+v]) - float64(z0[i*K+v]); !(math.Abs(d+logV) <= 1e-5) {
				t.Fatalf("MASK row %d, token %d: skip adds %v, want −log V = %v", i, v, d, -logV)
			}
		}
	}
}

func TestScaleInvariance(t *testing.T) {
	m := loadTiny(t, "tiny-learned")
	L, K := m.cfg.MaxPositions, m.K
	e := randomEvidence(rand.New(rand.NewPCG(3, 4)), L, K, m.mask)
	want := soft.NewDense(L, K)
	if err := m.Denoise(want, e, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []float32{3.7, 1e-30, 1e30} {
		s := e.Clone()
		for i := range s.Data {
			s.Data[i] *= c
		}
		got := soft.NewDense(L, K)
		if err := m.Denoise(got, s, 0); err != nil {
			t.Fatal(err)
		}
		for i := range got.Data {
			if !(math.Abs(float64(got.Data[i]-want.Data[i])) <= 1e-5) {
				t.Fatalf("scale %g: belief %d is %v, unscaled %v", c, i, got.Data[i], want.Data[i])
			}
		}
	}
}

func TestBatchMatchesSingle(t *testing.T) {
	m := loadTiny(t, "tiny-sinusoidal")
	K := m.K
	rng := rand.New(rand.NewPCG(5, 6))
	lens := []int{12, 5, 1, 9}
	var evs, dsts []*soft.Dense
	for _, L := range lens {
		evs = append(evs, randomEvidence(rng, L, K, m.mask))
		dsts = append(dsts, soft.NewDense(L, K))
	}
	for _, workers := range []int{1, 3} {
		mw := m.WithOptions(Options{Workers: workers})
		if err := mw.DenoiseBatch(dsts, evs, make([]float64, len(evs))); err != nil {
			t.Fatal(err)
		}
		for b, e := range evs {
			one := soft.NewDense(e.L, K)
			if err := m.Denoise(one, e, 0); err != nil {
				t.Fatal(err)
			}
			for i := range one.Data {
				if one.Data[i] != dsts[b].Data[i] {
					t.Fatalf("workers %d, sequence %d, entry %d: batch %v, alone %v (want bit-identical)", workers, b, i, dsts[b].Data[i], one.Data[i])
				}
			}
		}
	}
	if got := m.NFE(); got != 2*4+2*4 {
		t.Errorf("NFE = %d, want 16 (two batches of 4 and 8 single calls)", got)
	}
}

func TestDenoiseErrors(t *testing.T) {
	m := loadTiny(t, "tiny-learned")
	L, K := 6, m.K
	good := func() *soft.Dense { return soft.AllMask(L, K, int32(m.mask)) }
	dst := soft.NewDense(L, K)
	nan := float32(math.NaN())
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"wrong K", func() error { return m.Denoise(soft.NewDense(L, K+1), soft.AllMask(L, K+1, 0), 0) }, "6×12"},
		{"too long", func() error {
			n := m.cfg.MaxPositions + 1
			return m.Denoise(soft.NewDense(n, K), soft.AllMask(n, K, int32(m.mask)), 0)
		}, "1…12 positions"},
		{"empty", func() error { return m.Denoise(soft.NewDense(0, K), soft.NewDense(0, K), 0) }, "0×11"},
		{"nil evidence", func() error { return m.Denoise(dst, nil, 0) }, "nil evidence"},
		{"dst shape", func() error { return m.Denoise(soft.NewDense(L-1, K), good(), 0) }, "dst"},
		{"NaN", func() error { e := good(); e.Row(2)[1] = nan; return m.Denoise(dst, e, 0) }, "sequence 0, position 2"},
		{"negative", func() error { e := good(); e.Row(3)[0] = -1; return m.Denoise(dst, e, 0) }, "position 3: evidence entry 0"},
		{"zero likelihood", func() error { e := good(); e.Row(4)[m.mask] = 0; return m.Denoise(dst, e, 0) }, "position 4: evidence no token"},
		{"batch names the sequence", func() error {
			e := good()
			e.Row(1)[0] = float32(math.Inf(1))
			return m.DenoiseBatch([]*soft.Dense{soft.NewDense(L, K), soft.NewDense(L, K)}, []*soft.Dense{good(), e}, []float64{0, 0})
		}, "sequence 1, position 1"},
		{"batch lengths", func() error {
			return m.DenoiseBatch([]*soft.Dense{dst}, []*soft.Dense{good(), good()}, []float64{0, 0})
		}, "1 destinations for 2"},
		{"batch times", func() error { return m.DenoiseBatch([]*soft.Dense{dst}, []*soft.Dense{good()}, nil) }, "0 times"},
		{"empty batch", func() error { return m.DenoiseBatch(nil, nil, nil) }, "empty batch"},
	}
	for _, c := range cases {
		err := c.run()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	m := loadTiny(t, "tiny-learned").WithOptions(Options{Workers: 2})
	K := m.K
	rng := rand.New(rand.NewPCG(7, 8))
	e := randomEvidence(rng, 12, K, m.mask)
	dst := soft.NewDense(12, K)
	evs := []*soft.Dense{e, randomEvidence(rng, 7, K, m.mask)}
	dsts := []*soft.Dense{dst, soft.NewDense(7, K)}
	ts := []float64{0, 0}
	m.Denoise(dst, e, 0)
	m.DenoiseBatch(dsts, evs, ts)
	if a := testing.AllocsPerRun(20, func() { m.Denoise(dst, e, 0) }); a != 0 {
		t.Errorf("Denoise allocates %v times per call", a)
	}
	if a := testing.AllocsPerRun(20, func() { m.DenoiseBatch(dsts, evs, ts) }); a != 0 {
		t.Errorf("DenoiseBatch allocates %v times per call", a)
	}
}

func TestConcurrent(t *testing.T) {
	m := loadTiny(t, "tiny-learned")
	K := m.K
	const n = 8
	evs := make([]*soft.Dense, n)
	want := make([]*soft.Dense, n)
	for j := range evs {
		evs[j] = randomEvidence(rand.New(rand.NewPCG(uint64(j), 9)), 12, K, m.mask)
		want[j] = soft.NewDense(12, K)
		if err := m.Denoise(want[j], evs[j], 0); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]string, n)
	for j := 0; j < n; j++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := soft.NewDense(12, K)
			for rep := 0; rep < 20; rep++ {
				if err := m.Denoise(got, evs[j], 0); err != nil {
					errs[j] = err.Error()
					return
				}
				for i := range got.Data {
					if got.Data[i] != want[j].Data[i] {
						errs[j] = "beliefs differ under concurrent calls"
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for j, e := range errs {
		if e != "" {
			t.Errorf("goroutine %d: %s", j, e)
		}
	}
}

func TestCheckVocab(t *testing.T) {
	m := loadTiny(t, "tiny-learned")
	v, err := soft.NewVocab(m.cfg.Tokens, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CheckVocab(v); err != nil {
		t.Errorf("own vocabulary: %v", err)
	}
	toks := append([]string(nil), m.cfg.Tokens...)
	toks[0], toks[1] = toks[1], toks[0]
	v2, _ := soft.NewVocab(toks, soft.VocabOptions{Mask: "[MASK]"})
	if err := m.CheckVocab(v2); err == nil || !strings.Contains(err.Error(), "token 0") {
		t.Errorf("swapped tokens: %v", err)
	}
}
