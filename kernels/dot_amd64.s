#include "textflag.h"

// HSUM reduces the 8 lanes of Y register y (X view x) into float32 at off(DX).
#define HSUM(y, x, off) VEXTRACTF128 $1, y, X15; VADDPS X15, x, x; VHADDPS x, x, x; VHADDPS x, x, x; VMOVSS x, off(DX)

// func dot3x4AVX(a *float32, lda int, b *float32, ldb int, n int, out *[12]float32)
// out[r*4+c] = Σ_{d<n} a[r*lda+d]·b[c*ldb+d], r < 3, c < 4; n is a positive
// multiple of 8; lda, ldb in elements.
TEXT ·dot3x4AVX(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R8
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ out+40(FP), DX
	SHLQ $2, R8
	SHLQ $2, R9
	SHLQ $2, CX
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (DI)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	LEAQ (R13)(R9*1), BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ AX, AX

loop:
	VMOVUPS (SI)(AX*1), Y12
	VMOVUPS (R10)(AX*1), Y13
	VMOVUPS (R11)(AX*1), Y14
	VMOVUPS (DI)(AX*1), Y15
	VFMADD231PS Y15, Y12, Y0
	VFMADD231PS Y15, Y13, Y4
	VFMADD231PS Y15, Y14, Y8
	VMOVUPS (R12)(AX*1), Y15
	VFMADD231PS Y15, Y12, Y1
	VFMADD231PS Y15, Y13, Y5
	VFMADD231PS Y15, Y14, Y9
	VMOVUPS (R13)(AX*1), Y15
	VFMADD231PS Y15, Y12, Y2
	VFMADD231PS Y15, Y13, Y6
	VFMADD231PS Y15, Y14, Y10
	VMOVUPS (BX)(AX*1), Y15
	VFMADD231PS Y15, Y12, Y3
	VFMADD231PS Y15, Y13, Y7
	VFMADD231PS Y15, Y14, Y11
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  loop

	HSUM(Y0, X0, 0)
	HSUM(Y1, X1, 4)
	HSUM(Y2, X2, 8)
	HSUM(Y3, X3, 12)
	HSUM(Y4, X4, 16)
	HSUM(Y5, X5, 20)
	HSUM(Y6, X6, 24)
	HSUM(Y7, X7, 28)
	HSUM(Y8, X8, 32)
	HSUM(Y9, X9, 36)
	HSUM(Y10, X10, 40)
	HSUM(Y11, X11, 44)
	VZEROUPPER
	RET

// func axpyAVX(y *float64, x *float64, w float64, n int)
// y[i] += w·x[i] for i < n; n is a positive multiple of 4.
TEXT ·axpyAVX(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSD w+16(FP), Y0
	MOVQ n+24(FP), CX
	SHLQ $3, CX
	XORQ AX, AX

axloop:
	VMOVUPD (DI)(AX*1), Y1
	VFMADD231PD (SI)(AX*1), Y0, Y1
	VMOVUPD Y1, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JLT  axloop
	VZEROUPPER
	RET

// func spmv8AVX(y *float64, cur *float64, idx *int32, w *float64, nnz int)
// y[0:8] += Σ_{p<nnz} w[p]·cur[8·idx[p] : 8·idx[p]+8].
TEXT ·spmv8AVX(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ cur+8(FP), SI
	MOVQ idx+16(FP), BX
	MOVQ w+24(FP), DX
	MOVQ nnz+32(FP), CX
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y1
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	CMPQ CX, $2
	JLT  tail

pair:
	MOVLQSX (BX), AX
	MOVLQSX 4(BX), R8
	SHLQ $6, AX
	SHLQ $6, R8
	VBROADCASTSD (DX), Y2
	VBROADCASTSD 8(DX), Y5
	VFMADD231PD (SI)(AX*1), Y2, Y0
	VFMADD231PD 32(SI)(AX*1), Y2, Y1
	VFMADD231PD (SI)(R8*1), Y5, Y3
	VFMADD231PD 32(SI)(R8*1), Y5, Y4
	ADDQ $8, BX
	ADDQ $16, DX
	SUBQ $2, CX
	CMPQ CX, $2
	JGE  pair

tail:
	TESTQ CX, CX
	JEQ  done
	MOVLQSX (BX), AX
	SHLQ $6, AX
	VBROADCASTSD (DX), Y2
	VFMADD231PD (SI)(AX*1), Y2, Y0
	VFMADD231PD 32(SI)(AX*1), Y2, Y1

done:
	VADDPD Y3, Y0, Y0
	VADDPD Y4, Y1, Y1
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	VZEROUPPER
	RET
