package simdgemm

// Path names a micro-kernel of Sgemm.
type Path int

const (
	PathGo     Path = iota // pure Go, 4×32 tile (every build)
	PathAVX2               // archsimd AVX2+FMA, 2×32 tile
	PathAVX512             // archsimd AVX-512, 4×32 tile
)

func (p Path) String() string {
	switch p {
	case PathGo:
		return "go"
	case PathAVX2:
		return "avx2"
	case PathAVX512:
		return "avx512"
	}
	return "unknown"
}

// pathMR is each path's micro-tile height (its packed-A panel width).
var pathMR = [...]int{PathGo: 4, PathAVX2: 2, PathAVX512: 4}

var (
	// available lists the paths this build and CPU can run, slowest first;
	// the simd build's init appends the vector ones.
	available = []Path{PathGo}
	// path is the one Sgemm uses: the last of available. Tests switch it.
	path = PathGo
)

// ActivePath reports the micro-kernel Sgemm runs: the widest the build and
// CPU allow.
func ActivePath() Path { return path }

// kern computes the mr×nr tile acc[r][j] = Σ_{p<kc} a[r·lda+p]·b[p·nr+j]
// (A rows as stored, each with three readable floats after its kc, for the
// vector loads; B a packed panel) in float32 in the order p = 0, 1, …, and
// stores C = alpha·acc + beta·C (C = alpha·acc when !load, without reading
// C) into c (row stride ldc).
func kern(p Path, kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, load bool) {
	if p == PathGo {
		kernGo(kc, a, lda, b, c, ldc, alpha, beta, load)
		return
	}
	kernVec(p, kc, a, lda, b, c, ldc, alpha, beta, load)
}

// kernGo is the pure-Go micro-kernel (4×32): eight columns of one row at a
// time in registers, products and sums rounded to float32 separately.
func kernGo(kc int, a []float32, lda int, b, c []float32, ldc int, alpha, beta float32, load bool) {
	b = b[:nr*kc]
	_ = c[3*ldc+nr-1]
	for r := 0; r < 4; r++ {
		ar := a[r*lda : r*lda+kc]
		for h := 0; h < nr; h += 8 {
			var s0, s1, s2, s3, s4, s5, s6, s7 float32
			for d, x := range ar {
				bd := (*[8]float32)(b[nr*d+h:])
				s0 += float32(x * bd[0])
				s1 += float32(x * bd[1])
				s2 += float32(x * bd[2])
				s3 += float32(x * bd[3])
				s4 += float32(x * bd[4])
				s5 += float32(x * bd[5])
				s6 += float32(x * bd[6])
				s7 += float32(x * bd[7])
			}
			o := (*[8]float32)(c[r*ldc+h:])
			acc := [8]float32{s0, s1, s2, s3, s4, s5, s6, s7}
			for j := range o {
				if load {
					o[j] = float32(alpha*acc[j]) + float32(beta*o[j])
				} else {
					o[j] = float32(alpha * acc[j])
				}
			}
		}
	}
}
