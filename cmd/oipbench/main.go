// Command oipbench times softdiff's samplers against a denoiser served
// under the Open Inference Protocol (serve/server.py or any server of
// docs/remote.md): for each batch size B, sampler and transfer mode it runs
// B generations in lockstep (one infer request per step for the whole
// batch) and reports, per step, the model's forward time (as the server
// reports it), the server's whole compute, the client's encoding and
// decoding, the rest of the request (HTTP, the server's parsing and
// serialising, the transfer), the Go sampler's own time, the engine's share
// of the step (everything but the forward) and the tokens committed per
// second.
//
//	oipbench --url http://127.0.0.1:8000 --model rand1b --len 256 --out DIR
//
// serve/bench_gpu.sh starts a server with a random model and runs this.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/remote"
	"github.com/softdiff/softdiff/soft"
)

type config struct {
	sampler  string
	B        int
	transfer string // "top-k" or "dense"
}

// row is one configuration's per-step means over the timed steps.
type row struct {
	config
	steps                      int
	fwd, srv, call, enc, dec   float64 // ms
	net, samp, step            float64 // ms
	engine, wire               float64 // % of the step that is not the forward; that is HTTP+rest
	tokPerStep, tokPerS, kbOut float64
	kbIn                       float64
	err                        string
}

type flushRec struct {
	f     flush
	stats remote.Stats // the flush's own requests (a delta)
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "oipbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("oipbench", flag.ContinueOnError)
	url := fs.String("url", "", "server URL, http://host:port (required)")
	model := fs.String("model", "", "model name (required)")
	L := fs.Int("len", 256, "sequence length")
	block := fs.Int("block", 32, "block length of LLaDA and Fast-dLLM")
	batches := fs.String("batches", "1,2,4,8,16,32,64", "batch sizes B")
	denseB := fs.String("dense-batches", "1,4", "batch sizes also timed with dense transfer (\"\" for none)")
	samplers := fs.String("samplers", "llada,fastdllm", "llada (low confidence, one token per step), fastdllm (threshold)")
	topk := fs.Int("topk", 64, "k of the top-k transfer")
	threshold := fs.Float64("threshold", 0.9, "Fast-dLLM confidence threshold")
	warm := fs.Int("warmup", 2, "untimed steps per configuration")
	steps := fs.Int("steps", 8, "timed steps per configuration")
	budget := fs.Duration("budget", 6*time.Minute, "start no configuration after this much time")
	out := fs.String("out", "", "directory for oipbench.md and oipbench.csv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *model == "" {
		return errors.New("--url and --model are required")
	}
	bs, err := ints(*batches)
	if err != nil {
		return err
	}
	dbs, err := ints(*denseB)
	if err != nil {
		return err
	}
	if *warm < 1 || *steps < 1 || *L < 1 || *block < 1 {
		return errors.New("--warmup, --steps, --len and --block must be ≥ 1")
	}
	probe, err := remote.Dial(ctx, *url, *model, remote.Options{})
	if err != nil {
		return err
	}
	K := probe.VocabSize()
	if *L > probe.MaxLen() {
		return fmt.Errorf("--len %d exceeds the model's %d positions", *L, probe.MaxLen())
	}
	vocab, err := probe.IDVocab()
	if err != nil {
		return err
	}
	algs := map[string]decode.Algorithm{
		"llada":    decode.LLaDA{},
		"fastdllm": decode.FastDLLM{Threshold: *threshold},
	}
	var cfgs []config
	for _, s := range strings.Split(*samplers, ",") {
		if algs[s] == nil {
			return fmt.Errorf("unknown sampler %q (llada, fastdllm)", s)
		}
		for _, B := range bs {
			cfgs = append(cfgs, config{s, B, "top-k"})
		}
		for _, B := range dbs {
			cfgs = append(cfgs, config{s, B, "dense"})
		}
	}
	fmt.Fprintf(stdout, "oipbench: model %s at %s, K = %d, L = %d, block %d, top-k %d, GOMAXPROCS %d, %d warm-up + %d timed steps\n",
		*model, *url, K, *L, *block, *topk, runtime.GOMAXPROCS(0), *warm, *steps)
	start := time.Now()
	var rows []row
	for _, c := range cfgs {
		if time.Since(start) > *budget {
			rows = append(rows, row{config: c, err: "skipped: over the time budget"})
			continue
		}
		opts := remote.Options{MaxBatch: max(c.B, 1), Concurrency: 1}
		if c.transfer == "top-k" {
			opts.TopK = *topk
		} else {
			opts.DenseEvidence = true
		}
		t0 := time.Now()
		r := measure(ctx, *url, *model, opts, vocab, *L, algs[c.sampler], decode.Options{Steps: *L, BlockLen: *block, NoEntropy: true}, c, *warm, *steps)
		rows = append(rows, r)
		fmt.Fprintf(stdout, "  %-9s B=%-3d %-6s step %8.2f ms  forward %8.2f ms  engine %5.1f%%  %9.1f tok/s  (%.1f s)%s\n",
			c.sampler, c.B, c.transfer, r.step, r.fwd, r.engine, r.tokPerS, time.Since(t0).Seconds(), suffix(r.err))
		runtime.GC()
		debug.FreeOSMemory()
	}
	fmt.Fprintf(stdout, "total %.1f s\n\n", time.Since(start).Seconds())
	table := markdown(rows)
	fmt.Fprint(stdout, table)
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		head := fmt.Sprintf("Model %s (K = %d), L = %d, block %d, top-k %d, %d timed steps after %d warm-up, GOMAXPROCS %d.\n\n",
			*model, K, *L, *block, *topk, *steps, *warm, runtime.GOMAXPROCS(0))
		if err := os.WriteFile(filepath.Join(*out, "oipbench.md"), []byte(head+table), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*out, "oipbench.csv"), []byte(csv(rows)), 0o644); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if r.err != "" && !strings.HasPrefix(r.err, "skipped") {
			return fmt.Errorf("%s B=%d %s: %s", r.sampler, r.B, r.transfer, r.err)
		}
	}
	return nil
}

func suffix(err string) string {
	if err == "" {
		return ""
	}
	return "  " + err
}

// measure runs one configuration: c.B generations in lockstep for warm +
// steps + 1 steps, timing steps warm … warm+steps−1 (each from its request
// to the next step's request).
func measure(ctx context.Context, url, model string, opts remote.Options, v *soft.Vocab, L int, alg decode.Algorithm,
	o decode.Options, c config, warm, steps int) row {
	r := row{config: c}
	m, err := remote.Dial(ctx, url, model, opts)
	if err != nil {
		r.err = err.Error()
		return r
	}
	ls := newLockstep(m, c.B)
	var recs []flushRec
	prev := m.Stats()
	ls.observe = func(f flush) {
		s := m.Stats()
		recs = append(recs, flushRec{f: f, stats: sub(s, prev)})
		prev = s
	}
	committed := make([][]int, c.B) // per run, after each step
	errs := make([]error, c.B)
	var wg sync.WaitGroup
	for b := 0; b < c.B; b++ {
		ob := o
		ob.Seed = uint64(b + 1)
		ob.MaxNFE = warm + steps + 1
		ob.Progress = func(si decode.StepInfo) { committed[b] = append(committed[b], si.Committed) }
		wg.Go(func() {
			defer ls.leave()
			_, err := decode.Generate(ctx, ls.member(b), v, L, alg, ob)
			if err != nil && !errors.Is(err, decode.ErrNFEBudget) {
				errs[b] = err
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			r.err = err.Error()
			return r
		}
	}
	hi := min(warm+steps, len(recs)-1)
	if hi <= warm {
		r.err = fmt.Sprintf("only %d steps ran", len(recs))
		return r
	}
	n := float64(hi - warm)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 / n }
	var fwd, srv, call, enc, dec, cyc time.Duration
	var out, in int64
	for k := warm; k < hi; k++ {
		s := recs[k].stats
		fwd += s.ServerForward
		srv += s.ServerCompute
		enc += s.Encode
		dec += s.Decode
		call += recs[k].f.end.Sub(recs[k].f.start)
		cyc += recs[k+1].f.start.Sub(recs[k].f.start)
		out += s.BytesSent
		in += s.BytesReceived
	}
	r.steps = hi - warm
	r.fwd, r.srv, r.call, r.enc, r.dec, r.step = ms(fwd), ms(srv), ms(call), ms(enc), ms(dec), ms(cyc)
	r.net = r.call - r.enc - r.dec - r.srv
	r.samp = r.step - r.call
	r.engine = 100 * (r.step - r.fwd) / r.step
	r.wire = 100 * r.net / r.step
	toks := 0
	for _, cm := range committed {
		// committed[k] is the count after step k (the step whose request is flush k)
		if len(cm) >= hi {
			toks += cm[hi-1] - cm[warm-1]
		}
	}
	r.tokPerStep = float64(toks) / n
	r.tokPerS = float64(toks) / cyc.Seconds()
	r.kbOut, r.kbIn = float64(out)/1024/n, float64(in)/1024/n
	return r
}

func sub(a, b remote.Stats) remote.Stats {
	return remote.Stats{Requests: a.Requests - b.Requests, Sequences: a.Sequences - b.Sequences, Retries: a.Retries - b.Retries,
		BytesSent: a.BytesSent - b.BytesSent, BytesReceived: a.BytesReceived - b.BytesReceived,
		Wall: a.Wall - b.Wall, Encode: a.Encode - b.Encode, Decode: a.Decode - b.Decode,
		ServerForward: a.ServerForward - b.ServerForward, ServerCompute: a.ServerCompute - b.ServerCompute}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("batch size %q: want a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

const tableHead = "| sampler | B | transfer | forward ms | server ms | encode ms | decode ms | HTTP+rest ms | sampler ms | step ms | engine % | wire % | tokens/step | tokens/s | KiB out+in/step |\n" +
	"|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"

func markdown(rows []row) string {
	var b strings.Builder
	b.WriteString(tableHead)
	for _, r := range rows {
		if r.err != "" {
			fmt.Fprintf(&b, "| %s | %d | %s | %s ||||||||||||\n", r.sampler, r.B, r.transfer, r.err)
			continue
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f | %.2f | %.1f | %.0f |\n",
			r.sampler, r.B, r.transfer, r.fwd, r.srv, r.enc, r.dec, r.net, r.samp, r.step, r.engine, r.wire, r.tokPerStep, r.tokPerS, r.kbOut+r.kbIn)
	}
	b.WriteString("\nforward: the network's forward pass as the server times it (between two CUDA events on a GPU); server: the server's whole compute " +
		"(evidence weights, forward, skip, softmax or top-k, copy to the host); encode/decode: the client building the request and " +
		"checking and writing the beliefs; HTTP+rest: the remainder of the request (transfer, the server's parsing, queueing and " +
		"serialising); sampler: the Go sampler between requests (decode.Generate's belief checks and the sampler's rule over L×K " +
		"states); engine %: (step − forward)/step; wire %: HTTP+rest/step.\n")
	return b.String()
}

func csv(rows []row) string {
	var b strings.Builder
	fmt.Fprintln(&b, "sampler,B,transfer,steps,forward_ms,server_ms,encode_ms,decode_ms,http_rest_ms,sampler_ms,step_ms,engine_pct,wire_pct,tokens_per_step,tokens_per_s,kib_out,kib_in,error")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%d,%s,%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.3f,%.3f,%.4f,%.2f,%.1f,%.1f,%q\n",
			r.sampler, r.B, r.transfer, r.steps, r.fwd, r.srv, r.enc, r.dec, r.net, r.samp, r.step, r.engine, r.wire, r.tokPerStep, r.tokPerS, r.kbOut, r.kbIn, r.err)
	}
	return b.String()
}
