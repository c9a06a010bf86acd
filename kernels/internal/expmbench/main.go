// Command expmbench builds the K = 32768, D = 256, k = 16 kNN graph of the
// kernels benchmark, applies the graph kernel's exp(τR) to 64 one-hot rows at
// τ ∈ {0.1, 1, 10}, and writes the graph, the rows, a tight reference
// (series tolerance 1e-16) and the Go timings as .npy/.json files for
// bench/expm.py, which times scipy.sparse.linalg.expm_multiply on the same
// data. Usage: go run ./kernels/internal/expmbench -out bench/out/expm;
// then `expmbench -load -out bench/out/expm -taus 1 -reps 3` re-times the
// stored graph (bench/expm.py alternates such runs with scipy's).
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

type result struct {
	Tau     float64 `json:"tau"`
	Terms   int     `json:"terms"`
	Seconds float64 `json:"seconds"`
	RelErr  float64 `json:"rel_err"`
	Tol     float64 `json:"tol"`
	Workers int     `json:"workers,omitempty"`
}

type report struct {
	N, D, K, Rows int
	Seed          uint64
	KNNSeconds    float64 `json:"knn_seconds"`
	Edges         int
	MaxDegree     float64 `json:"max_degree"`
	HalfWidth     float64 `json:"half_width"`
	GOMAXPROCS    int
	AVX           string
	Results       []result
}

func main() {
	out := flag.String("out", "bench/out/expm", "output directory")
	n := flag.Int("n", 32768, "nodes")
	d := flag.Int("d", 256, "embedding dimension")
	k := flag.Int("k", 16, "neighbours")
	rows := flag.Int("rows", 64, "rows")
	tol := flag.Float64("tol", 1e-10, "series tolerance of the timed runs")
	reps := flag.Int("reps", 3, "timed repetitions (best is reported)")
	seed := flag.Uint64("seed", 1, "seed")
	load := flag.Bool("load", false, "time only: load the graph, rows and references written earlier to -out and print one JSON line per τ (for bench/expm.py, which alternates Go and scipy runs so that both see the same machine load)")
	taus := flag.String("taus", "0.1,1,10", "comma-separated τ values for -load")
	workers := flag.Int("workers", 0, "goroutines of the graph kernel in -load timings (≤ 0: GOMAXPROCS)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		must(err)
		must(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	if *load {
		timeLoaded(*out, *taus, *tol, *reps, *workers)
		return
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(*seed, 0))
	emb := kernels.RandomEmbeddings(rng, *n, *d)
	st := time.Now()
	nbr, err := kernels.KNN(emb, *n, *d, kernels.KNNOptions{K: *k})
	if err != nil {
		log.Fatal(err)
	}
	knnSec := time.Since(st).Seconds()
	adj, err := kernels.NewKNNAdjacency(nbr, *n, *k)
	if err != nil {
		log.Fatal(err)
	}
	g, err := kernels.NewGraph(adj, soft.NoToken, nil, kernels.GraphOptions{})
	if err != nil {
		log.Fatal(err)
	}
	rep := report{N: *n, D: *d, K: *k, Rows: *rows, Seed: *seed, KNNSeconds: knnSec, Edges: len(adj.Indices),
		MaxDegree: g.MaxDegree(), HalfWidth: g.SpectralHalfWidth(), GOMAXPROCS: runtime.GOMAXPROCS(0), AVX: avx()}
	fmt.Printf("kNN n=%d d=%d k=%d: %.2f s on GOMAXPROCS=%d, %d directed edges, max degree %.4f, spectral half-width %.4f\n", *n, *d, *k, knnSec, rep.GOMAXPROCS, len(adj.Indices), g.MaxDegree(), g.SpectralHalfWidth())
	indptr := make([]int64, len(adj.Indptr))
	for i, x := range adj.Indptr {
		indptr[i] = int64(x)
	}
	must(writeNpy(filepath.Join(*out, "indptr.npy"), "<i8", []int{len(indptr)}, indptr))
	must(writeNpy(filepath.Join(*out, "indices.npy"), "<i4", []int{len(adj.Indices)}, adj.Indices))
	must(writeNpy(filepath.Join(*out, "weights.npy"), "<f8", []int{len(adj.Weights)}, adj.Weights))
	src := make([]float64, *rows**n)
	for r := 0; r < *rows; r++ {
		src[r**n+rng.IntN(*n)] = 1
	}
	must(writeNpy(filepath.Join(*out, "rows.npy"), "<f8", []int{*rows, *n}, src))
	dst := make([]float64, len(src))
	ref := make([]float64, len(src))
	for _, tau := range []float64{0.1, 1, 10} {
		g.Action(ref, src, *rows, tau, 1e-16)
		must(writeNpy(filepath.Join(*out, fmt.Sprintf("ref_tau%g.npy", tau)), "<f8", []int{*rows, *n}, ref))
		best := math.Inf(1)
		terms := 0
		for i := 0; i < *reps; i++ {
			st := time.Now()
			terms = g.Action(dst, src, *rows, tau, *tol)
			best = math.Min(best, time.Since(st).Seconds())
		}
		r := result{Tau: tau, Terms: terms, Seconds: best, RelErr: relErr(dst, ref), Tol: *tol}
		rep.Results = append(rep.Results, r)
		fmt.Printf("go τ=%-4g terms=%-4d time=%.4f s rel.err=%.2e\n", tau, terms, best, r.RelErr)
	}
	b, _ := json.MarshalIndent(rep, "", " ")
	must(os.WriteFile(filepath.Join(*out, "go.json"), b, 0o644))
}

// timeLoaded reads the CSR arrays in dir and times, at each τ (best of
// reps), NewGraph (validation, degrees, the spectral bound, scaled
// weights: what scipy's norm estimate stands for on the other side) plus
// Action on workers goroutines, and prints
// {"tau","terms","seconds","rel_err","workers"} lines, the error against
// the stored tight reference.
func timeLoaded(dir, taus string, tol float64, reps, workers int) {
	var indptr []int64
	var indices []int32
	var weights, src []float64
	must(readNpy(filepath.Join(dir, "indptr.npy"), &indptr))
	must(readNpy(filepath.Join(dir, "indices.npy"), &indices))
	must(readNpy(filepath.Join(dir, "weights.npy"), &weights))
	must(readNpy(filepath.Join(dir, "rows.npy"), &src))
	n := len(indptr) - 1
	adj := &kernels.Adjacency{N: n, Indptr: make([]int, n+1), Indices: indices, Weights: weights}
	for i, x := range indptr {
		adj.Indptr[i] = int(x)
	}
	opt := kernels.GraphOptions{Workers: workers}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rows := len(src) / n
	dst := make([]float64, len(src))
	for _, f := range strings.Split(taus, ",") {
		tau, err := strconv.ParseFloat(f, 64)
		must(err)
		var ref []float64
		must(readNpy(filepath.Join(dir, fmt.Sprintf("ref_tau%g.npy", tau)), &ref))
		best, terms := math.Inf(1), 0
		for i := 0; i < reps; i++ {
			st := time.Now()
			g, err := kernels.NewGraph(adj, soft.NoToken, nil, opt)
			must(err)
			terms = g.Action(dst, src, rows, tau, tol)
			best = math.Min(best, time.Since(st).Seconds())
		}
		b, _ := json.Marshal(result{Tau: tau, Terms: terms, Seconds: best, RelErr: relErr(dst, ref), Tol: tol, Workers: workers})
		fmt.Println(string(b))
	}
}

func relErr(x, ref []float64) float64 {
	var num, den float64
	for i := range ref {
		e := x[i] - ref[i]
		num += e * e
		den += ref[i] * ref[i]
	}
	return math.Sqrt(num / den)
}

// readNpy reads a file written by writeNpy into *dst (its element type must
// match the file's; the length comes from the file size).
func readNpy(path string, dst any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return fmt.Errorf("%s: not an .npy file", path)
	}
	body := b[10+int(binary.LittleEndian.Uint16(b[8:10])):]
	r := bytes.NewReader(body)
	switch d := dst.(type) {
	case *[]int64:
		*d = make([]int64, len(body)/8)
		return binary.Read(r, binary.LittleEndian, *d)
	case *[]int32:
		*d = make([]int32, len(body)/4)
		return binary.Read(r, binary.LittleEndian, *d)
	case *[]float64:
		*d = make([]float64, len(body)/8)
		return binary.Read(r, binary.LittleEndian, *d)
	}
	return fmt.Errorf("readNpy: unsupported destination %T", dst)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// writeNpy writes a little-endian array in NumPy's .npy format, version 1.0.
func writeNpy(path, descr string, shape []int, data any) error {
	sh := ""
	for _, s := range shape {
		sh += fmt.Sprintf("%d, ", s)
	}
	if len(shape) > 1 {
		sh = sh[:len(sh)-2]
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	pad := 64 - (10+len(h)+1)%64
	if pad == 64 {
		pad = 0
	}
	for i := 0; i < pad; i++ {
		h += " "
	}
	h += "\n"
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	if _, err := f.Write(append(hdr, h...)); err != nil {
		return err
	}
	return binary.Write(f, binary.LittleEndian, data)
}
