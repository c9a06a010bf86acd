package soft

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// BlockRows is the default number of rows in one block of parallel work.
const BlockRows = 64

// Blocks returns the number of blocks of size block covering L rows.
func Blocks(L, block int) int {
	if block < 1 {
		panic(fmt.Sprintf("soft: block size %d < 1", block))
	}
	return (L + block - 1) / block
}

// ForBlocks calls fn(b, lo, hi) for every block b of rows [lo, hi) =
// [b·block, min(L, (b+1)·block)), on up to workers goroutines (workers ≤ 0
// means GOMAXPROCS). The partition depends only on L and block, never on the
// number of workers, so work that draws its randomness from BlockRand(seed, b)
// gives bit-identical output at any GOMAXPROCS. fn must only write state
// belonging to its own rows. ForBlocks returns when every call has returned.
func ForBlocks(L, block, workers int, fn func(b, lo, hi int)) {
	nb := Blocks(L, block)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > nb {
		workers = nb
	}
	if workers <= 1 {
		for b := 0; b < nb; b++ {
			fn(b, b*block, min(L, (b+1)*block))
		}
		return
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for {
				b := int(next.Add(1) - 1)
				if b >= nb {
					return
				}
				fn(b, b*block, min(L, (b+1)*block))
			}
		})
	}
	wg.Wait()
}

// StreamSeed returns the second PCG seed word of stream (seed, block): a
// SplitMix64 scramble of the block index, so neighbouring blocks get
// unrelated streams.
func StreamSeed(seed uint64, block int) (uint64, uint64) {
	z := uint64(block) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return seed, z
}

// BlockRand returns the random stream of block b under seed: a PCG seeded by
// StreamSeed(seed, b). To avoid the allocation in a hot loop, keep a
// *rand.PCG per worker and reseed it with (*rand.PCG).Seed(StreamSeed(seed, b)).
func BlockRand(seed uint64, b int) *rand.Rand {
	return rand.New(rand.NewPCG(StreamSeed(seed, b)))
}

// SampleRows draws one token per row of d into dst, row blocks of BlockRows
// in parallel on up to workers goroutines, block b drawing from
// BlockRand(seed, b). The output depends on seed only, not on workers or
// GOMAXPROCS. It panics if len(dst) != d.L or a row has no positive entry.
func SampleRows(dst []int32, d *Dense, seed uint64, workers int) {
	mustLen("SampleRows", len(dst), d.L)
	ForBlocks(d.L, BlockRows, workers, func(b, lo, hi int) {
		rng := BlockRand(seed, b)
		for i := lo; i < hi; i++ {
			dst[i] = Sample(rng, d.Row(i))
		}
	})
}
