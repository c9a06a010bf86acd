package experiments

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/soft"
)

// KernelTableFormat names the file format WriteKernelTable writes (the
// "format" entry of its metadata); train/kernel_table.py checks it.
const KernelTableFormat = "softdiff-kernel-table/1"

// GradedKernelNames lists the kernels of the graded-generation experiment
// by the keys WriteKernelTable accepts, in a fixed order.
func GradedKernelNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range gradedGens {
		if !seen[g.kernel] {
			seen[g.kernel] = true
			out = append(out, g.kernel)
		}
	}
	return out
}

// KernelTableInfo describes a written kernel table.
type KernelTableInfo struct {
	Testbed string
	Kernel  string
	States  int   // K, MASK included
	Mask    int32 // MASK id
	Times   int   // T
}

// gradedKernel returns kernel name of testbed tbName exactly as
// graded-generation builds it for the given kNN size (untabulated: every
// value from the kernel itself).
func gradedKernel(tbName, name string, neighbours int) (kernels.Kernel, *gradedSetup, error) {
	tb, err := getTestbed(tbName)
	if err != nil {
		return nil, nil, err
	}
	su, err := gradedSetupFor(tb, neighbours, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", tbName, err)
	}
	k, ok := su.kernels[name]
	if !ok {
		return nil, nil, fmt.Errorf("unknown kernel %q (have %v)", name, GradedKernelNames())
	}
	return k, su, nil
}

// WriteKernelTable writes the forward process of graded-generation's kernel
// name on testbed tbName (kNN size neighbours, the experiment's parameter)
// tabulated on the grid t_j = j/T, j = 1…T, as a safetensors file of two
// float32 tensors:
//
//	times       [T]        t_j
//	transition  [T, K, K]  transition[j, v, x] = P(x_{t_j} = x | x_0 = v)
//
// Row v of transition[j] is the forward marginal from x_0 = v (what a
// trainer draws x_t from); column x is the likelihood row ℓ(v) of an
// observed x_t = x, the values kernels.Likelihooder gives at s = 0 and
// decode.KernelEvidence hands a denoiser (before it zeroes the MASK entry
// and scales the row to maximum 1). The metadata holds the format name
// (KernelTableFormat), testbed, kernel, states, mask, times and
// neighbours. The columns come from the kernel's Likelihood, one call per
// time for all K states.
func WriteKernelTable(w io.Writer, tbName, name string, T, neighbours int) (KernelTableInfo, error) {
	if T < 1 || T > 4096 {
		return KernelTableInfo{}, fmt.Errorf("kernel table: %d times, want 1…4096", T)
	}
	k, su, err := gradedKernel(tbName, name, neighbours)
	if err != nil {
		return KernelTableInfo{}, err
	}
	lk, ok := k.(kernels.Likelihooder)
	if !ok {
		return KernelTableInfo{}, fmt.Errorf("kernel %s: %T gives no likelihoods", name, k)
	}
	K := su.K
	if float64(T)*float64(K)*float64(K) > 1<<28 {
		return KernelTableInfo{}, fmt.Errorf("kernel table: %d×%d×%d is too large", T, K, K)
	}
	times := make([]float32, T)
	tr := make([]float32, T*K*K)
	xt := make([]int32, K)
	for x := range xt {
		xt[x] = int32(x)
	}
	lik := soft.NewDense(K, K)
	for j := 0; j < T; j++ {
		t := float64(j+1) / float64(T)
		times[j] = float32(t)
		lk.Likelihood(lik, xt, 0, t) // lik[x][v] = P(x_t = x | x_0 = v)
		blk := tr[j*K*K : (j+1)*K*K]
		for x := 0; x < K; x++ {
			for v, p := range lik.Row(x) {
				if !(p >= 0) || math.IsInf(float64(p), 0) {
					return KernelTableInfo{}, fmt.Errorf("kernel %s: P(x_t = %d | x_0 = %d) = %v at t = %v", name, x, v, p, t)
				}
				blk[v*K+x] = p
			}
		}
	}
	meta := map[string]string{
		"format": KernelTableFormat, "testbed": tbName, "kernel": name,
		"states": strconv.Itoa(K), "mask": strconv.Itoa(int(su.mask)),
		"times": strconv.Itoa(T), "grid": "t_j = j/T, j = 1..T", "neighbours": strconv.Itoa(neighbours),
	}
	err = writeSafetensorsF32(w, meta, []stTensor{
		{"times", []int{T}, times},
		{"transition", []int{T, K, K}, tr},
	})
	return KernelTableInfo{Testbed: tbName, Kernel: name, States: K, Mask: su.mask, Times: T}, err
}

type stTensor struct {
	name  string
	shape []int
	data  []float32
}

// writeSafetensorsF32 writes float32 tensors in the safetensors layout:
// an 8-byte little-endian header length, the JSON header (padded with
// spaces to a multiple of 8), the little-endian data in tensor order.
func writeSafetensorsF32(w io.Writer, meta map[string]string, ts []stTensor) error {
	type entry struct {
		DType   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	hdr := map[string]any{"__metadata__": meta}
	off := 0
	for _, t := range ts {
		n := 1
		for _, d := range t.shape {
			n *= d
		}
		if n != len(t.data) {
			return fmt.Errorf("safetensors: tensor %s has %d values for shape %v", t.name, len(t.data), t.shape)
		}
		hdr[t.name] = entry{"F32", slices.Clone(t.shape), [2]int{off, off + 4*n}}
		off += 4 * n
	}
	h, err := json.Marshal(hdr) // map keys sorted: deterministic
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	bw := bufio.NewWriter(w)
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(len(h)))
	bw.Write(b[:])
	bw.Write(h)
	for _, t := range ts {
		for _, x := range t.data {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(x))
			bw.Write(b[:4])
		}
	}
	return bw.Flush()
}
