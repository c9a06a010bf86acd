package soft

import (
	"fmt"
	"math"

	"github.com/chewxy/math32"
)

// RowSumTol is the largest |Σ_v p(v) − 1| that Validate accepts for a row.
// float32 storage carries a relative rounding error of 2⁻²⁴ ≈ 6e-8 per
// entry; a row written by a float32 loop over K = 2¹⁷ entries may drift by
// up to about K·2⁻²⁴ ≈ 8e-3 in the worst case and by far less in practice
// (errors cancel), and every constructor in this package normalises in
// float64, landing within 1e-6. 1e-4 accepts honest float32 producers and
// rejects rows that were never normalised.
const RowSumTol = 1e-4

// Dense is an L×K state: L positions, each a probability distribution over K
// states, stored row-major in one contiguous float32 slice. Row i is
// Data[i*K : (i+1)*K].
//
// The zero value is an empty state. A Dense made with NewDense holds zeros and
// is meant as a destination buffer; the other constructors return valid
// distributions.
type Dense struct {
	L, K int
	Data []float32
}

// NewDense returns an L×K state of zeros, a destination buffer. It panics if
// L < 0 or K < 1.
func NewDense(L, K int) *Dense {
	if L < 0 || K < 1 {
		panic(fmt.Sprintf("soft: NewDense(%d, %d): need L ≥ 0 and K ≥ 1", L, K))
	}
	return &Dense{L: L, K: K, Data: make([]float32, L*K)}
}

// FromProbs wraps data (not copied) as an L×K state after Validate. The error
// names the first bad row and column.
func FromProbs(L, K int, data []float32) (*Dense, error) {
	if err := checkShape(L, K, len(data)); err != nil {
		return nil, err
	}
	d := &Dense{L: L, K: K, Data: data}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// FromLogits returns the L×K state softmax(logits) row by row, computed with
// max subtraction and float64 accumulation. -Inf logits get probability 0;
// NaN or +Inf logits and rows that are all -Inf are errors naming the row.
func FromLogits(L, K int, logits []float32) (*Dense, error) {
	if err := checkShape(L, K, len(logits)); err != nil {
		return nil, err
	}
	d := NewDense(L, K)
	for i := 0; i < L; i++ {
		if _, err := Softmax(d.Row(i), logits[i*K:(i+1)*K]); err != nil {
			return nil, fmt.Errorf("soft: logits row %d: %w", i, err)
		}
	}
	return d, nil
}

// FromTokens returns the len(ids)×K state with row i one-hot at ids[i]: hard
// evidence. An id outside [0, K) is an error naming the position.
func FromTokens(ids []int32, K int) (*Dense, error) {
	if K < 1 {
		return nil, fmt.Errorf("soft: width K = %d, need K ≥ 1", K)
	}
	d := NewDense(len(ids), K)
	for i, id := range ids {
		if id < 0 || int(id) >= K {
			return nil, fmt.Errorf("soft: position %d: token id %d outside [0,%d)", i, id, K)
		}
		d.Data[i*K+int(id)] = 1
	}
	return d, nil
}

// Uniform returns the L×K state whose rows are all 1/K.
func Uniform(L, K int) *Dense {
	d := NewDense(L, K)
	u := float32(1 / float64(K))
	for i := range d.Data {
		d.Data[i] = u
	}
	return d
}

// AllMask returns the L×K state whose rows are one-hot at mask: no evidence.
// It panics if mask is outside [0, K).
func AllMask(L, K int, mask int32) *Dense {
	if mask < 0 || int(mask) >= K {
		panic(fmt.Sprintf("soft: AllMask: mask id %d outside [0,%d)", mask, K))
	}
	d := NewDense(L, K)
	for i := 0; i < L; i++ {
		d.Data[i*K+int(mask)] = 1
	}
	return d
}

func checkShape(L, K, n int) error {
	if L < 0 || K < 1 {
		return fmt.Errorf("soft: shape %d×%d: need L ≥ 0 and K ≥ 1", L, K)
	}
	if L > math.MaxInt/K {
		return fmt.Errorf("soft: shape %d×%d: L·K overflows int", L, K)
	}
	if n != L*K {
		return fmt.Errorf("soft: shape %d×%d needs %d values, got %d", L, K, L*K, n)
	}
	return nil
}

// Row returns row i as a slice of Data, without copying. It panics if i is
// out of range.
func (d *Dense) Row(i int) []float32 {
	if i < 0 || i >= d.L {
		panic(fmt.Sprintf("soft: row %d out of range [0,%d)", i, d.L))
	}
	return d.Data[i*d.K : (i+1)*d.K : (i+1)*d.K]
}

// Rows returns rows [lo, hi) as an (hi−lo)×K view sharing Data.
func (d *Dense) Rows(lo, hi int) *Dense {
	if lo < 0 || hi > d.L || lo > hi {
		panic(fmt.Sprintf("soft: rows [%d,%d) out of range [0,%d)", lo, hi, d.L))
	}
	return &Dense{L: hi - lo, K: d.K, Data: d.Data[lo*d.K : hi*d.K : hi*d.K]}
}

// Clone returns a deep copy.
func (d *Dense) Clone() *Dense {
	c := &Dense{L: d.L, K: d.K, Data: make([]float32, len(d.Data))}
	copy(c.Data, d.Data)
	return c
}

// CopyFrom copies src into d. It panics if the shapes differ.
func (d *Dense) CopyFrom(src *Dense) {
	mustSameShape("CopyFrom", d, src)
	copy(d.Data, src.Data)
}

func mustSameShape(op string, a, b *Dense) {
	if a.L != b.L || a.K != b.K {
		panic(fmt.Sprintf("soft: %s: shape %d×%d vs %d×%d", op, a.L, a.K, b.L, b.K))
	}
}

// RowError describes the first invalid entry of a state.
type RowError struct {
	Row, Col int    // Col is −1 for a fault of the whole row (its sum)
	What     string // "NaN", "+Inf", "-Inf", "negative", "sum"
	Value    float64
}

func (e *RowError) Error() string {
	if e.Col < 0 {
		return fmt.Sprintf("soft: row %d: entries sum to %.9g, not 1 (tolerance %g)", e.Row, e.Value, RowSumTol)
	}
	return fmt.Sprintf("soft: row %d, column %d: %s entry %g", e.Row, e.Col, e.What, e.Value)
}

// Validate reports the first row that is not a probability distribution: a
// NaN, infinite or negative entry (row and column named), or a row whose
// float64 sum is off from 1 by more than RowSumTol. It never modifies d.
func (d *Dense) Validate() error {
	if err := checkShape(d.L, d.K, len(d.Data)); err != nil {
		return err
	}
	for i := 0; i < d.L; i++ {
		if err := ValidateRow(d.Row(i)); err != nil {
			e := err.(*RowError)
			e.Row = i
			return e
		}
	}
	return nil
}

// ValidateRow checks one row as Validate does; the returned *RowError has
// Row 0.
func ValidateRow(p []float32) error {
	var s float64
	for j, x := range p {
		switch {
		case math32.IsNaN(x):
			return &RowError{Col: j, What: "NaN", Value: math.NaN()}
		case math32.IsInf(x, 1):
			return &RowError{Col: j, What: "+Inf", Value: math.Inf(1)}
		case math32.IsInf(x, -1):
			return &RowError{Col: j, What: "-Inf", Value: math.Inf(-1)}
		case x < 0:
			return &RowError{Col: j, What: "negative", Value: float64(x)}
		}
		s += float64(x)
	}
	if !(math.Abs(s-1) <= RowSumTol) {
		return &RowError{Col: -1, What: "sum", Value: s}
	}
	return nil
}
