package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/softdiff/softdiff/experiments"
	"github.com/softdiff/softdiff/soft"
)

const sampleSynopsis = `sample --testbed NAME --n N --out FILE.npy [flags]

Draws N exact sequences from a testbed (the names the experiments use, e.g.
kjv-hmm-32, agreement-pcfg) and writes them as an N×L NumPy array of token
ids (int16 when the vocabulary fits, else int32) to FILE.npy, with
FILE.json beside it: the testbed, length, vocabulary tokens, MASK id, seed
and command. Sequence j is drawn from its own random stream (seed, j), so
the file does not depend on --workers. This is the training data of train/.`

// sampleMeta is the JSON written beside the samples.
type sampleMeta struct {
	Testbed     string   `json:"testbed"`
	Length      int      `json:"length"`
	N           int      `json:"n"`
	Seed        uint64   `json:"seed"`
	DType       string   `json:"dtype"`
	VocabSize   int      `json:"vocab_size"`
	MaskTokenID int      `json:"mask_token_id"`
	Tokens      []string `json:"tokens"`
	Command     string   `json:"command"`
}

func cmdSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sample", sampleSynopsis, stderr)
	tbName := fs.String("testbed", "", "testbed name (required)")
	n := fs.Int("n", 0, "number of sequences (required, ≥ 1)")
	seed := fs.Uint64("seed", 1, "seed of the random streams")
	out := fs.String("out", "", "output file, ending in .npy (required)")
	workers := fs.Int("workers", 0, "goroutines (0: GOMAXPROCS); the output does not depend on it")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("sample: unexpected argument %q", pos[0])
	case *tbName == "":
		return usagef("sample: --testbed is required")
	case *n < 1:
		return usagef("sample: --n %d: need at least 1", *n)
	case !strings.HasSuffix(*out, ".npy"):
		return usagef("sample: --out %q: want a file name ending in .npy", *out)
	case *workers < 0:
		return usagef("sample: --workers %d: need 0 or more", *workers)
	}
	m, err := experiments.TestbedModel(*tbName)
	if err != nil {
		return usagef("sample: %v", err)
	}
	v, L := m.Vocab(), m.Len()
	K := v.Size()
	x := make([]int32, *n*L)
	w := *workers
	if w == 0 {
		w = max(1, min(*n, runtime.GOMAXPROCS(0)))
	}
	var wg sync.WaitGroup
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for j := g; j < *n; j += w {
				m.Sample(x[j*L:(j+1)*L], soft.BlockRand(*seed, j))
			}
		}(g)
	}
	wg.Wait()
	meta := sampleMeta{Testbed: *tbName, Length: L, N: *n, Seed: *seed, DType: "<i4", VocabSize: K,
		MaskTokenID: int(v.Mask()), Command: "softdiff sample " + strings.Join(args, " ")}
	if K <= 1<<15 {
		meta.DType = "<i2"
	}
	for id := 0; id < K; id++ {
		meta.Tokens = append(meta.Tokens, v.Token(int32(id)))
	}
	if err := writeAtomic(*out, func(f io.Writer) error { return writeNpy(f, x, *n, L, meta.DType) }); err != nil {
		return err
	}
	jsonPath := strings.TrimSuffix(*out, ".npy") + ".json"
	err = writeAtomic(jsonPath, func(f io.Writer) error {
		enc := json.NewEncoder(f)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(meta)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d sequences of length %d from %s to %s (%s)\n", *n, L, *tbName, *out, jsonPath)
	return nil
}

// writeNpy writes an n×L C-order array in NumPy's .npy format (version
// 1.0): magic, header dict padded with spaces to a multiple of 64 bytes
// ending in a newline, then the little-endian data (dtype "<i2" or "<i4").
func writeNpy(w io.Writer, x []int32, n, L int, dtype string) error {
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }", dtype, n, L)
	pad := 64 - (10+len(hdr)+1)%64
	hdr += strings.Repeat(" ", pad%64) + "\n"
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(hdr)))
	bw.WriteString(hdr)
	var b [4]byte
	for _, v := range x {
		if dtype == "<i2" {
			binary.LittleEndian.PutUint16(b[:2], uint16(int16(v)))
			bw.Write(b[:2])
		} else {
			binary.LittleEndian.PutUint32(b[:], uint32(v))
			bw.Write(b[:])
		}
	}
	return bw.Flush()
}

// writeAtomic writes a file through a temporary file in the same
// directory, renamed into place once complete.
func writeAtomic(path string, fill func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".sample-*")
	if err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
