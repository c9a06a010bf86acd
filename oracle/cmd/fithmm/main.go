// Command fithmm fits an HMM by Baum–Welch EM to a text with one sequence
// per line (an optional leading reference such as "Ge1:1" is dropped) and
// writes it as JSON for oracle.LoadHMM. The run is deterministic in -seed.
//
//	go run ./oracle/cmd/fithmm -text data/kjv-pentateuch.txt -out data/kjv-hmm.json
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/softdiff/softdiff/oracle"
)

var ref = regexp.MustCompile(`^[0-9]?[A-Za-z]+[0-9]+:[0-9]+\s+`)

func main() {
	text := flag.String("text", "data/kjv-pentateuch.txt", "input text, one sequence per line")
	out := flag.String("out", "data/kjv-hmm.json", "output model (JSON)")
	states := flag.Int("states", 24, "hidden states")
	words := flag.Int("vocab", 300, "vocabulary cap (most frequent tokens; the rest become <unk>)")
	iters := flag.Int("iters", 40, "EM iterations")
	seed := flag.Uint64("seed", 1, "seed of the initial parameters")
	flag.Parse()
	log.SetFlags(0)
	f, err := os.Open(*text)
	if err != nil {
		log.Fatal(err)
	}
	var seqs [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := ref.ReplaceAllString(strings.TrimSpace(sc.Text()), "")
		if toks := oracle.Tokenize(line); len(toks) > 0 {
			seqs = append(seqs, toks)
		}
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	f.Close()
	v, err := oracle.TextVocab(seqs, *words)
	if err != nil {
		log.Fatal(err)
	}
	ids, err := oracle.EncodeText(v, seqs)
	if err != nil {
		log.Fatal(err)
	}
	ntok := 0
	for _, x := range ids {
		ntok += len(x)
	}
	start := time.Now()
	h, trace, err := oracle.FitHMM(v, 16, ids, oracle.FitOptions{States: *states, Iters: *iters, Seed: *seed})
	if err != nil {
		log.Fatal(err)
	}
	last := trace[len(trace)-1]
	log.Printf("%d sequences, %d tokens, K=%d, S=%d: log-likelihood %.1f → %.1f (%.4f nats/token) in %d iterations, %v",
		len(ids), ntok, v.Size(), *states, trace[0], last, -last/float64(ntok), len(trace)-1, time.Since(start).Round(time.Millisecond))
	comment := fmt.Sprintf("fitted by: go run ./oracle/cmd/fithmm -text %s -out %s -states %d -vocab %d -iters %d -seed %d; %d sequences, %d tokens, final log-likelihood %.1f (%.4f nats/token)",
		*text, *out, *states, *words, *iters, *seed, len(ids), ntok, last, -last/float64(ntok))
	w, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := oracle.WriteHMM(w, h, comment); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
}
