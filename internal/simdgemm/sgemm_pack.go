package simdgemm

import "fmt"

// PackedB is a k×n right operand packed once into the micro-kernel's
// layout, for weights used in many products (SgemmPacked). It is
// read-only after PackB and safe to share between goroutines.
type PackedB struct {
	k, n, np int
	// data holds, for each k block at pc (multiples of kc), np panels of
	// kcb×nr floats, block at offset pc·np·nr.
	data []float32
}

// Dims returns the k×n shape of op(B) that pb holds.
func (pb *PackedB) Dims() (k, n int) { return pb.k, pb.n }

// PackB packs op(B) (k×n; B stored k×n with row stride ldb, or n×k when tB)
// for SgemmPacked. It panics on bad shapes as Sgemm does.
func PackB(tB bool, k, n int, b []float32, ldb int) *PackedB {
	checkShape("B", tB, k, n, b, ldb)
	np := (n + nr - 1) / nr
	pb := &PackedB{k: k, n: n, np: np, data: make([]float32, k*np*nr)}
	for pc := 0; pc < k; pc += kc {
		kcb := min(kc, k-pc)
		packB(pb.data[pc*np*nr:], tB, b, ldb, pc, kcb, 0, n)
	}
	return pb
}

// String describes pb's shape.
func (pb *PackedB) String() string { return fmt.Sprintf("PackedB(%d×%d)", pb.k, pb.n) }

// packB writes rows pc…pc+kcb−1, columns j0…j0+ncb−1 of op(B) into dst as
// ⌈ncb/nr⌉ panels of kcb×nr (zero-padded columns).
func packB(dst []float32, tB bool, b []float32, ldb, pc, kcb, j0, ncb int) {
	for jp := 0; jp < ncb; jp += nr {
		cols := min(nr, ncb-jp)
		panel := dst[(jp/nr)*kcb*nr : (jp/nr+1)*kcb*nr]
		if !tB {
			for p := 0; p < kcb; p++ {
				row := b[(pc+p)*ldb+j0+jp:]
				d := panel[p*nr : p*nr+nr]
				copy(d, row[:cols])
				clear(d[cols:])
			}
			continue
		}
		if cols < nr {
			clear(panel)
		}
		for j := 0; j < cols; j++ {
			col := b[(j0+jp+j)*ldb+pc : (j0+jp+j)*ldb+pc+kcb]
			for p, x := range col {
				panel[p*nr+j] = x
			}
		}
	}
}

// packAT writes rows i0…i0+mcb−1, columns pc…pc+kcb−1 of op(A) = Aᵀ into
// dst as row-major rows of stride ld (≥ kcb), zeroing the slack after each
// row and the rows up to len(dst)/ld.
func packAT(dst []float32, ld int, a []float32, lda, i0, mcb, pc, kcb int) {
	clear(dst)
	for p := 0; p < kcb; p++ {
		src := a[(pc+p)*lda+i0 : (pc+p)*lda+i0+mcb]
		for i, x := range src {
			dst[i*ld+p] = x
		}
	}
}
