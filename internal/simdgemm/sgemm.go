package simdgemm

import (
	"fmt"
	"sync"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32
// matrices, where op(X) is X or its transpose Xᵀ (tA, tB). op(A) is m×k,
// op(B) is k×n and C is m×n; lda, ldb and ldc are the row strides of A, B
// and C as stored (A is m×k with lda ≥ k when !tA, k×m with lda ≥ m when
// tA; likewise B). beta = 0 overwrites C without reading it (NaN in C does
// not propagate).
//
// Each entry of C is a sum over p = 0, 1, …, k−1 in an order that depends
// only on k and the build (not on Workers or on m, n), so results are
// bit-identical whatever the number of workers.
//
// Sgemm panics if a dimension or stride is negative or a slice is too short
// for the shapes given: the shapes are the caller's own buffers.
func Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ctx := ctxPool.Get().(*Context)
	ctx.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	ctxPool.Put(ctx)
}

var ctxPool = sync.Pool{New: func() any { return new(Context) }}

// Context holds the packing buffers of Sgemm so that repeated products
// allocate nothing after the first call of each size (with Workers > 1,
// each call that splits its work starts Workers−1 goroutines, a few small
// allocations), and the number of goroutines a product may use. A product
// is split only when each worker gets at least 2²¹ flops (2·m·n·k). The
// zero value is single-threaded. A Context is not safe for concurrent use;
// use one per goroutine.
type Context struct {
	// Workers bounds the goroutines of one product; ≤ 1 means the calling
	// goroutine only. Results do not depend on it.
	Workers int

	bufs []buffers // one per worker
	wg   sync.WaitGroup
}

// buffers are one worker's packing buffers.
type buffers struct {
	a  []float32       // op(A) = Aᵀ block transposed: ⌈mc/MR⌉·MR rows of kc+3
	at []float32       // the last A row tiles padded: rows of kc+3
	b  []float32       // packed B block: ⌈nc/NR⌉ panels of kc×NR
	t  [4 * nr]float32 // an edge tile of C
}

// Sgemm is the package-level Sgemm using ctx's buffers and workers.
func (ctx *Context) Sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkShape("A", tA, m, k, a, lda)
	checkShape("B", tB, k, n, b, ldb)
	checkShape("C", false, m, n, c, ldc)
	ctx.run(tA, m, n, k, alpha, a, lda, operandB{t: tB, b: b, ld: ldb}, beta, c, ldc)
}

// SgemmPacked is Sgemm with op(B) taken from pb (k×n as packed): C =
// alpha·op(A)·B + beta·C, C m×n. Its results are bit-identical to Sgemm's
// on the matrix pb was packed from. It panics under the same conditions as
// Sgemm, and if pb is nil.
func (ctx *Context) SgemmPacked(tA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	n, k := pb.n, pb.k
	checkShape("A", tA, m, k, a, lda)
	checkShape("C", false, m, n, c, ldc)
	ctx.run(tA, m, n, k, alpha, a, lda, operandB{p: pb}, beta, c, ldc)
}

// SgemmPacked is the package-level SgemmPacked (single-threaded).
func SgemmPacked(tA bool, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	ctx := ctxPool.Get().(*Context)
	ctx.SgemmPacked(tA, m, alpha, a, lda, pb, beta, c, ldc)
	ctxPool.Put(ctx)
}

// Blocking (the defaults; gemmPart widens NC for short sums and, with
// several k blocks, runs them innermost on smaller row blocks: see
// rowsOuter and sumInner; none of this changes any entry's arithmetic).
// A KC×NR micro-panel of B is 32 KiB at KC = 256; the macro
// kernel keeps one in L1 and runs the MC×KC block of A (256 KiB, in the
// 1 MiB L2) past it: each kernel call then reads 4 KiB of A from L2 for
// 64 KFLOP. (The other order, an A micro-panel in L1 and the B block
// streamed from L2, reads 8× more per flop from L2 and measured 1.2–1.5×
// slower on the HMM and transformer shapes, alternating in one process.)
const (
	nr = 32  // micro-tile columns (all paths)
	kc = 256 // k block: the sum of each entry is split at multiples of kc
	mc = 256 // rows of A packed at a time (a multiple of every MR)
	nc = 512 // columns of B packed at a time (a multiple of nr)
)

// minWorkFlops is the work (2·m·n·k) each extra worker must get (tests
// lower it).
var minWorkFlops = 1 << 21

// operandB is op(B) as given: a row-major matrix (transposed when t) or a
// PackedB.
type operandB struct {
	t  bool
	b  []float32
	ld int
	p  *PackedB
}

func (ctx *Context) run(tA bool, m, n, k int, alpha float32, a []float32, lda int, ob operandB, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	p := path
	mr := pathMR[p]
	w := max(ctx.Workers, 1)
	w = min(w, max(1, 2*m*n*k/minWorkFlops))
	// Split the larger side of C into w ranges aligned to micro-tiles.
	tilesM, tilesN := (m+mr-1)/mr, (n+nr-1)/nr
	splitM := tilesM >= tilesN
	if splitM {
		w = min(w, tilesM)
	} else {
		w = min(w, tilesN)
	}
	for len(ctx.bufs) < w {
		ctx.bufs = append(ctx.bufs, buffers{})
	}
	if w == 1 {
		gemmPart(p, &ctx.bufs[0], tA, m, n, k, alpha, a, lda, 0, ob, 0, beta, c, ldc)
		return
	}
	tiles := tilesN
	if splitM {
		tiles = tilesM
	}
	part := func(i int) {
		t0, t1 := i*tiles/w, (i+1)*tiles/w
		buf := &ctx.bufs[i]
		if splitM {
			i0, i1 := t0*mr, min(t1*mr, m)
			gemmPart(p, buf, tA, i1-i0, n, k, alpha, a, lda, i0, ob, 0, beta, c[i0*ldc:], ldc)
		} else {
			j0, j1 := t0*nr, min(t1*nr, n)
			gemmPart(p, buf, tA, m, j1-j0, k, alpha, a, lda, 0, ob, j0, beta, c[j0:], ldc)
		}
	}
	ctx.wg.Add(w - 1)
	for i := 1; i < w; i++ {
		go func() {
			defer ctx.wg.Done()
			part(i)
		}()
	}
	part(0)
	ctx.wg.Wait()
}

// scaleC sets C = beta·C (C = 0 when beta = 0, without reading C).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
}

// gemmPart computes the m×n block of C (c starts at its first entry) from
// rows i0… of op(A) and columns j0… of op(B), all k terms.
func gemmPart(p Path, buf *buffers, tA bool, m, n, k int, alpha float32, a []float32, lda, i0 int, ob operandB, j0 int, beta float32, c []float32, ldc int) {
	mr := pathMR[p]
	// Columns of B packed at a time: nc, or for a sum short enough to run
	// rows-outer (macro) more, the packed block staying within nc·kc
	// floats, so that each row tile of C is written across all of them
	// in one sweep.
	ncs := nc
	if rowsOuter(k) {
		ncs = max(nc, nc*kc/k/nr*nr)
	}
	for jc := 0; jc < n; jc += ncs {
		ncb := min(ncs, n-jc)
		np := (ncb + nr - 1) / nr
		// bpAt returns the packed k block at pc of these columns: from
		// the PackedB operand, or from buf.b, which holds either that
		// one block or (sumInner) all of them, laid out like a PackedB.
		bpAt := func(pc, kcb int, all bool) []float32 {
			if ob.p != nil {
				pan := (j0 + jc) / nr
				return ob.p.data[pc*ob.p.np*nr+pan*kcb*nr:]
			}
			if all {
				return buf.b[pc*np*nr:]
			}
			return buf.b
		}
		macroAt := func(ic, mcb, pc int, bp []float32) {
			kcb := min(kc, k-pc)
			betaB, load := beta, beta != 0
			if pc > 0 {
				betaB, load = 1, true
			}
			// The kernels read A rows as stored; op(A) = Aᵀ is first
			// transposed into buf.a (rows padded to a multiple of mr,
			// three floats of slack per row).
			ab, ld := a[(i0+ic)*lda+pc:], lda
			if tA {
				ld = kcb + 3
				buf.a = grow(buf.a, (mcb+mr-1)/mr*mr*ld)
				packAT(buf.a, ld, a, lda, i0+ic, mcb, pc, kcb)
				ab = buf.a
			}
			macro(p, buf, mr, mcb, ncb, kcb, alpha, betaB, load, ab, ld, bp, c[ic*ldc+jc:], ldc)
		}
		if sumInner(k, np) {
			// Every k block of these columns packed first, then each
			// row block of C runs through all of them while it is in L2
			// (instead of C streaming from L3 once per k block).
			if ob.p == nil {
				buf.b = grow(buf.b, np*k*nr)
				for pc := 0; pc < k; pc += kc {
					packB(buf.b[pc*np*nr:], ob.t, ob.b, ob.ld, pc, min(kc, k-pc), j0+jc, ncb)
				}
			}
			// Row blocks of at most mcSumFloats of C (a multiple of
			// every MR, ≤ mc).
			mcs := min(mc, max(mcQuantum, mcSumFloats/ncb/mcQuantum*mcQuantum))
			for ic := 0; ic < m; ic += mcs {
				for pc := 0; pc < k; pc += kc {
					macroAt(ic, min(mcs, m-ic), pc, bpAt(pc, min(kc, k-pc), true))
				}
			}
			continue
		}
		for pc := 0; pc < k; pc += kc {
			kcb := min(kc, k-pc)
			if ob.p == nil {
				buf.b = grow(buf.b, np*kcb*nr)
				packB(buf.b, ob.t, ob.b, ob.ld, pc, kcb, j0+jc, ncb)
			}
			bp := bpAt(pc, kcb, false)
			for ic := 0; ic < m; ic += mc {
				macroAt(ic, min(mc, m-ic), pc, bp)
			}
		}
	}
}

// sumInner reports whether gemmPart runs the k blocks innermost for a
// column block of np panels: when there are several and all of them,
// packed, take at most sumInnerMax floats.
func sumInner(k, np int) bool { return sumInnerMax > 0 && k > kc && k*np*nr <= sumInnerMax }

// sumInnerMax bounds the packed B that sumInner allows (floats: 4 MiB;
// tests vary it, 0 turns the order off).
var sumInnerMax = 1 << 20

// mcSumFloats bounds the block of C that the sumInner order keeps in L2
// across the k blocks (256 KiB, a quarter of the L2 of the CPUs measured,
// leaving room for the streamed B panels and the A block), and mcQuantum
// is the multiple of every micro-tile height its row count is rounded to.
const (
	mcSumFloats = 1 << 16
	mcQuantum   = 4
)

// macro runs the micro-kernel over an mcb×ncb block of C from A rows (row
// stride lda) and packed B (⌈ncb/nr⌉ panels): for each B panel (kcb×nr,
// in L1) every row tile of A (from L2) in turn, so that the heavier operand
// of each kernel call is the one in the nearest cache; for a short block
// (rowsOuter) the other way round, each row tile of A against every B
// panel, so that C is written row tile by row tile. Tiles at the edges
// of C run the same kernel on a copy of the C tile, and the A row tiles
// from the first one that is short or lacks the kernel's slack on are run
// from a padded copy, so that every entry sees the same arithmetic
// wherever it lies.
func macro(p Path, buf *buffers, mr, mcb, ncb, kcb int, alpha, beta float32, load bool, a []float32, lda int, bp, c []float32, ldc int) {
	// ir0: the first row tile that needs the padded copy (later ones need
	// it too: the slack left only shrinks).
	ir0 := (mcb / mr) * mr
	for ir0 > 0 && len(a)-(ir0-mr)*lda < (mr-1)*lda+kcb+3 {
		ir0 -= mr
	}
	ldt := kcb + 3
	if ir0 < mcb {
		n := (mcb - ir0 + mr - 1) / mr * mr
		buf.at = grow(buf.at, n*ldt)
		clear(buf.at)
		for r := 0; r < mcb-ir0; r++ {
			copy(buf.at[r*ldt:r*ldt+kcb], a[(ir0+r)*lda:(ir0+r)*lda+kcb])
		}
	}
	if rowsOuter(kcb) {
		for ir := 0; ir < mcb; ir += mr {
			for jr := 0; jr < ncb; jr += nr {
				tile(p, buf, mr, mcb, ncb, kcb, ir, jr, ir0, ldt, alpha, beta, load, a, lda, bp, c, ldc)
			}
		}
		return
	}
	for jr := 0; jr < ncb; jr += nr {
		for ir := 0; ir < mcb; ir += mr {
			tile(p, buf, mr, mcb, ncb, kcb, ir, jr, ir0, ldt, alpha, beta, load, a, lda, bp, c, ldc)
		}
	}
}

// tile runs the micro-kernel on the tile of C at (ir, jr) of macro's block.
func tile(p Path, buf *buffers, mr, mcb, ncb, kcb, ir, jr, ir0, ldt int, alpha, beta float32, load bool, a []float32, lda int, bp, c []float32, ldc int) {
	cols := min(nr, ncb-jr)
	b := bp[(jr/nr)*kcb*nr:]
	rows := min(mr, mcb-ir)
	at, ld := a[ir*lda:], lda
	if ir >= ir0 {
		at, ld = buf.at[(ir-ir0)*ldt:], ldt
	}
	if rows == mr && cols == nr {
		kern(p, kcb, at, ld, b, c[ir*ldc+jr:], ldc, alpha, beta, load)
		return
	}
	t := buf.t[:mr*nr]
	if load {
		for r := 0; r < rows; r++ {
			copy(t[r*nr:r*nr+cols], c[(ir+r)*ldc+jr:])
		}
	}
	kern(p, kcb, at, ld, b, t, nr, alpha, beta, load)
	for r := 0; r < rows; r++ {
		copy(c[(ir+r)*ldc+jr:(ir+r)*ldc+jr+cols], t[r*nr:])
	}
}

// rowsOuter reports whether macro sweeps C row tile by row tile (each row
// tile against every B panel, so that C is written in row order and the A
// micro-panel stays in L1) rather than B panel by B panel: for short sums
// (k = 64: the HMM posterior's 16384×1000 C), where writing C costs as
// much as the arithmetic and the whole packed B (kc·nc floats at most)
// sits in L2.
func rowsOuter(kcb int) bool { return kcb <= rowsOuterK }

// rowsOuterK is the longest sum run rows-outer (tests vary it; 0 turns
// the order off).
var rowsOuterK = 64

func grow(x []float32, n int) []float32 {
	if cap(x) < n {
		return make([]float32, n)
	}
	return x[:n]
}

// checkShape panics unless x holds a rows×cols matrix (stored transposed
// when t) with row stride ld.
func checkShape(name string, t bool, rows, cols int, x []float32, ld int) {
	if t {
		rows, cols = cols, rows
	}
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("simdgemm: %s has negative dimension %d×%d", name, rows, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("simdgemm: %s stride %d < %d columns", name, ld, cols))
	}
	if need := (rows-1)*ld + cols; len(x) < need {
		panic(fmt.Sprintf("simdgemm: %s has %d elements, %d×%d with stride %d needs %d", name, len(x), rows, cols, ld, need))
	}
}
