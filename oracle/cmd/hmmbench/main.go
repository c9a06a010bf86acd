// Command hmmbench times oracle.HMM.DenoiseBatch (forward–backward with
// token posteriors) on a random HMM and a batch of evidence states, and
// optionally writes the model, the evidence and the posteriors as raw
// little-endian float32 files so bench/hmm.py can time numpy on exactly the
// same inputs and check its output against Go's.
//
//	go run ./oracle/cmd/hmmbench -evidence masked -dump /tmp/hmmbench
//
// Evidence kinds: "masked" (each position independently all-MASK with
// probability ½, else a one-hot commit — a masked-diffusion state) and
// "soft" (every row a dense distribution: ½ MASK mass and ½ spread over all
// tokens by a random softmax).
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

func main() {
	S := flag.Int("S", 64, "hidden states")
	V := flag.Int("V", 1000, "data tokens (K = V+1 with MASK)")
	L := flag.Int("L", 64, "sequence length")
	B := flag.Int("B", 256, "batch size (sequences)")
	kind := flag.String("evidence", "masked", "evidence kind: masked or soft")
	reps := flag.Int("reps", 7, "timed repetitions")
	seed := flag.Uint64("seed", 1, "seed of the model and evidence")
	dump := flag.String("dump", "", "directory to write model, evidence and posteriors for bench/hmm.py")
	cpuprof := flag.String("cpuprofile", "", "write a CPU profile of the timed runs to this file")
	flag.Parse()
	log.SetFlags(0)

	h, err := oracle.RandomHMM(rand.New(rand.NewPCG(*seed, 1)), *S, *V, *L)
	if err != nil {
		log.Fatal(err)
	}
	K := *V + 1
	evs, dsts, err := Evidence(*kind, *B, *L, K, *seed)
	if err != nil {
		log.Fatal(err)
	}
	ts := make([]float64, len(evs))
	if err := h.DenoiseBatch(dsts, evs, ts); err != nil { // warm-up
		log.Fatal(err)
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	times := make([]float64, *reps)
	for r := range times {
		t0 := time.Now()
		if err := h.DenoiseBatch(dsts, evs, ts); err != nil {
			log.Fatal(err)
		}
		times[r] = time.Since(t0).Seconds()
	}
	sort.Float64s(times)
	fmt.Printf("go: S=%d V=%d L=%d B=%d evidence=%s GOMAXPROCS=%d: min %.2f ms, median %.2f ms over %d runs\n",
		*S, *V, *L, *B, *kind, runtime.GOMAXPROCS(0), 1e3*times[0], 1e3*times[len(times)/2], *reps)
	if *dump == "" {
		return
	}
	if err := os.MkdirAll(*dump, 0o755); err != nil {
		log.Fatal(err)
	}
	init, trans, emit := h.Params()
	emitData := make([]float64, 0, *S**V)
	for s := 0; s < *S; s++ {
		emitData = append(emitData, emit[s*K:s*K+*V]...)
	}
	write := func(name string, f64 []float64, f32 []float32) {
		buf := make([]byte, 0, 4*(len(f64)+len(f32)))
		for _, x := range f64 {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(x)))
		}
		for _, x := range f32 {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		}
		if err := os.WriteFile(filepath.Join(*dump, name), buf, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	write("init.f32", init, nil)
	write("trans.f32", trans, nil)
	write("emit.f32", emitData, nil)
	all := make([]float32, 0, *B**L*K)
	post := make([]float32, 0, *B**L*K)
	for j := range evs {
		all = append(all, evs[j].Data...)
		post = append(post, dsts[j].Data...)
	}
	write("evidence.f32", nil, all)
	write("posterior.f32", nil, post)
	shape := fmt.Sprintf("%d %d %d %d\n", *S, *V, *L, *B)
	if err := os.WriteFile(filepath.Join(*dump, "shape.txt"), []byte(shape), 0o644); err != nil {
		log.Fatal(err)
	}
}

// Evidence builds B evidence states of the given kind (and destination
// buffers) from a fixed seed.
func Evidence(kind string, B, L, K int, seed uint64) ([]*soft.Dense, []*soft.Dense, error) {
	rng := rand.New(rand.NewPCG(seed, 2))
	evs := make([]*soft.Dense, B)
	dsts := make([]*soft.Dense, B)
	mask := K - 1
	for j := range evs {
		ev := soft.NewDense(L, K)
		for i := 0; i < L; i++ {
			row := ev.Row(i)
			switch kind {
			case "masked":
				if rng.IntN(2) == 0 {
					row[mask] = 1
				} else {
					row[rng.IntN(K-1)] = 1
				}
			case "soft":
				sum := 0.0
				for v := 0; v < K-1; v++ {
					x := math.Exp(2 * rng.NormFloat64())
					row[v] = float32(x)
					sum += x
				}
				for v := 0; v < K-1; v++ {
					row[v] = float32(0.5 * float64(row[v]) / sum)
				}
				row[mask] = 0.5
			default:
				return nil, nil, fmt.Errorf("unknown evidence kind %q (want masked or soft)", kind)
			}
		}
		evs[j] = ev
		dsts[j] = soft.NewDense(L, K)
	}
	return evs, dsts, nil
}
