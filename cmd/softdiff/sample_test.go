package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/experiments"
	"github.com/softdiff/softdiff/soft"
)

func TestSample(t *testing.T) {
	dir := t.TempDir()
	var files [2][]byte
	for i, w := range []string{"1", "3"} {
		out := filepath.Join(dir, "w"+w+".npy")
		var so, se bytes.Buffer
		if err := run(context.Background(), []string{"sample", "--testbed", "agreement-pcfg", "--n", "5", "--seed", "9", "--workers", w, "--out", out}, &so, &se); err != nil {
			t.Fatalf("workers %s: %v (%s)", w, err, se.String())
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = b
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("output depends on --workers")
	}
	b := files[0]
	// .npy v1.0: magic, 2-byte header length, header, data (64-byte aligned).
	if string(b[:8]) != "\x93NUMPY\x01\x00" {
		t.Fatalf("magic %q", b[:8])
	}
	hl := int(binary.LittleEndian.Uint16(b[8:10]))
	hdr := string(b[10 : 10+hl])
	if (10+hl)%64 != 0 || !strings.Contains(hdr, "'descr': '<i2'") || !strings.Contains(hdr, "'shape': (5, 7)") || !strings.HasSuffix(hdr, "\n") {
		t.Fatalf("header %q (length %d)", hdr, hl)
	}
	data := b[10+hl:]
	if len(data) != 5*7*2 {
		t.Fatalf("%d data bytes, want 70", len(data))
	}
	// Sequence 2 is the testbed's exact sample from stream (9, 2).
	m, err := experiments.TestbedModel("agreement-pcfg")
	if err != nil {
		t.Fatal(err)
	}
	x := make([]int32, 7)
	m.Sample(x, soft.BlockRand(9, 2))
	for i, id := range x {
		if got := int16(binary.LittleEndian.Uint16(data[(2*7+i)*2:])); int32(got) != id {
			t.Fatalf("sequence 2, position %d: %d, want %d", i, got, id)
		}
	}
	var meta sampleMeta
	mb, err := os.ReadFile(filepath.Join(dir, "w1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(mb, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Length != 7 || meta.N != 5 || meta.VocabSize != 17 || len(meta.Tokens) != 17 || meta.Tokens[meta.MaskTokenID] != "[MASK]" {
		t.Errorf("metadata %+v", meta)
	}
}

func TestSampleErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sample", "--n", "3", "--out", "x.npy"}, "--testbed is required"},
		{[]string{"sample", "--testbed", "agreement-pcfg", "--out", "x.npy"}, "--n 0"},
		{[]string{"sample", "--testbed", "agreement-pcfg", "--n", "3", "--out", "x.bin"}, "ending in .npy"},
		{[]string{"sample", "--testbed", "nope", "--n", "3", "--out", "x.npy"}, `unknown testbed "nope"`},
	} {
		var so, se bytes.Buffer
		err := run(context.Background(), c.args, &so, &se)
		if err == nil || !strings.Contains(err.Error(), c.want) || exitCode(err, &se) != 2 {
			t.Errorf("%v: error %v, want a usage error containing %q", c.args, err, c.want)
		}
	}
}
