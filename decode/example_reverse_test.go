package decode_test

import (
	"context"
	"fmt"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// Generate through a graded kernel: the hierarchical kernel over the sticky
// HMM's tokens (t0 and t1 share a cluster, t2 is alone; MASK is the top
// level). Tokens first appear at the cluster level and are refined later;
// the denoiser reads each position's likelihood row P_t(x_t | x_0 = ·).
// The kernel loses most of its information in a burst near t = 0, which 32
// uniform steps cross too fast: constant sequences (exact probability
// 0.8⁴ = 0.41) come out too rarely. Under the information-equalising time
// change (kernels.NewInfoWarp) the same 32 steps come close (2000 draws:
// ±0.01).
func ExampleKernelReverse() {
	h := oracle.Sticky3() // tokens t0 t1 t2, MASK = 3, length 5
	v := h.Vocab()
	hier := &kernels.Hierarchy{N: 3, Labels: [][]int32{{0, 0, 1}}}
	k, err := kernels.NewHierarchical(hier, v.Mask(), nil, kernels.LogLinear{})
	if err != nil {
		panic(err)
	}
	wp, err := kernels.NewInfoWarp(k, []float32{1. / 3, 1. / 3, 1. / 3, 0}, 200)
	if err != nil {
		panic(err)
	}
	kw, err := kernels.NewHierarchical(hier, v.Mask(), nil, kernels.Warped{Base: kernels.LogLinear{}, Warp: wp})
	if err != nil {
		panic(err)
	}
	res, err := decode.Generate(context.Background(), h, v, 5, decode.KernelReverse{Kernel: kw}, decode.Options{Steps: 32, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q in %d NFE\n", v.Decode(res.Tokens), res.NFE)
	for _, c := range []struct {
		name string
		k    decode.ReverseKernel
	}{{"natural time", k}, {"information-equalising time", kw}} {
		constant := 0
		const n = 2000
		for j := 0; j < n; j++ {
			res, err := decode.Generate(context.Background(), h, v, 5, decode.KernelReverse{Kernel: c.k}, decode.Options{Steps: 32, Rand: soft.BlockRand(2, j), Workers: 1})
			if err != nil {
				panic(err)
			}
			x := res.Tokens
			if x[0] == x[1] && x[1] == x[2] && x[2] == x[3] && x[3] == x[4] {
				constant++
			}
		}
		fmt.Printf("%s: constant sequences %.2f\n", c.name, float64(constant)/n)
	}
	// Output:
	// "t0 t0 t0 t0 t0" in 32 NFE
	// natural time: constant sequences 0.34
	// information-equalising time: constant sequences 0.39
}

// The reverse CTMC of a graph kernel: a path graph t0 – t1 – t2 (the kNN
// graph of three points on a line) with a MASK state; tokens jump along the
// path at the reverse rates R(y → x)·p_t(y)/p_t(x), τ-leaping over each
// step.
func ExampleKernelCTMC() {
	h := oracle.Sticky3()
	v := h.Vocab()
	adj, err := kernels.NewKNNAdjacency([]int32{1, 0, 1}, 3, 1)
	if err != nil {
		panic(err)
	}
	g, err := kernels.NewGraph(adj, v.Mask(), nil, kernels.GraphOptions{Scale: 2})
	if err != nil {
		panic(err)
	}
	alg := decode.KernelCTMC{Kernel: g}
	res, err := decode.Generate(context.Background(), h, v, 5, alg, decode.Options{Steps: 64, Seed: 3})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %q in %d NFE\n", alg.Name(), v.Decode(res.Tokens), res.NFE)
	// Output:
	// kernel-ctmc: "t0 t1 t1 t1 t0" in 64 NFE
}
