package nn

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Tensor is one tensor of a safetensors file, widened to float32.
type Tensor struct {
	DType string // as stored: "F32", "F16" or "BF16"
	Shape []int
	Data  []float32 // row-major, len = product of Shape
}

// Safetensors is the content of a safetensors file: named tensors and the
// free-form string metadata of the header's "__metadata__" entry.
type Safetensors struct {
	Names    []string // in the order of their data in the file
	Tensors  map[string]Tensor
	Metadata map[string]string
}

// maxHeader is the largest header ParseSafetensors accepts (the limit of the
// reference implementation).
const maxHeader = 100_000_000

// dtypeSize returns the bytes per element of a floating-point dtype this
// package reads, or 0.
func dtypeSize(dt string) int {
	switch dt {
	case "F32":
		return 4
	case "F16", "BF16":
		return 2
	}
	return 0
}

// ParseSafetensors reads a safetensors file held in b: an 8-byte
// little-endian header length N, N bytes of JSON header mapping each tensor
// name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the
// byte buffer that follows the header) plus an optional "__metadata__" map of
// strings, then the byte buffer. F32 tensors are read as they are, F16 and
// BF16 widened exactly to float32; other dtypes are errors.
//
// The header is checked as the format requires: valid UTF-8 JSON starting
// with '{' (trailing spaces allowed), no duplicate or empty names, shapes of
// non-negative integers, each tensor's byte length equal to its element
// count times its dtype size, and the tensors tiling the byte buffer exactly
// (sorted by offset, no gap, no overlap, ending at the end of the file).
// Every error names the tensor it concerns.
func ParseSafetensors(b []byte) (*Safetensors, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("nn: safetensors: %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > maxHeader {
		return nil, fmt.Errorf("nn: safetensors: header length %d exceeds the limit %d", n, maxHeader)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("nn: safetensors: header length %d but only %d bytes follow", n, len(b)-8)
	}
	hdr, buf := b[8:8+n], b[8+n:]
	if !utf8.Valid(hdr) {
		return nil, errors.New("nn: safetensors: header is not valid UTF-8")
	}
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, errors.New("nn: safetensors: header does not start with '{'")
	}
	entries, meta, err := parseHeader(hdr)
	if err != nil {
		return nil, err
	}
	// The tensors must tile the buffer: sort by (begin, end), then walk.
	slices.SortStableFunc(entries, func(x, y headerEntry) int {
		if c := cmpU64(x.begin, y.begin); c != 0 {
			return c
		}
		return cmpU64(x.end, y.end)
	})
	st := &Safetensors{Tensors: make(map[string]Tensor, len(entries)), Metadata: meta}
	var at uint64
	for _, e := range entries {
		if e.begin != at {
			if e.begin < at {
				return nil, fmt.Errorf("nn: safetensors: tensor %q: data offsets [%d, %d) overlap the previous tensor (ending at %d)", e.name, e.begin, e.end, at)
			}
			return nil, fmt.Errorf("nn: safetensors: tensor %q: data starts at %d, leaving a gap after %d", e.name, e.begin, at)
		}
		if e.end > uint64(len(buf)) {
			return nil, fmt.Errorf("nn: safetensors: tensor %q: data offsets [%d, %d) run past the %d-byte buffer", e.name, e.begin, e.end, len(buf))
		}
		t := Tensor{DType: e.dtype, Shape: e.shape, Data: widen(buf[e.begin:e.end], e.dtype)}
		st.Tensors[e.name] = t
		st.Names = append(st.Names, e.name)
		at = e.end
	}
	if at != uint64(len(buf)) {
		return nil, fmt.Errorf("nn: safetensors: the tensors end at byte %d of a %d-byte buffer (trailing data)", at, len(buf))
	}
	return st, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type headerEntry struct {
	name       string
	dtype      string
	shape      []int
	begin, end uint64
}

// parseHeader decodes the header object token by token, so that a
// duplicate name is an error rather than a silent overwrite.
func parseHeader(hdr []byte) ([]headerEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // '{', checked above
		return nil, nil, fmt.Errorf("nn: safetensors: header: %v", err)
	}
	var entries []headerEntry
	var meta map[string]string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("nn: safetensors: header: %v", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("nn: safetensors: header: key %v is not a string", tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("nn: safetensors: tensor %q appears twice in the header", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("nn: safetensors: header entry %q: %v", name, err)
		}
		if name == "__metadata__" {
			if err := strictDecode(raw, &meta); err != nil {
				return nil, nil, fmt.Errorf("nn: safetensors: __metadata__ must map strings to strings: %v", err)
			}
			continue
		}
		e, err := parseEntry(name, raw)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, nil, fmt.Errorf("nn: safetensors: header: %v", err)
	}
	// Only space padding may follow the object.
	if strings.Trim(string(hdr[dec.InputOffset():]), " ") != "" {
		return nil, nil, errors.New("nn: safetensors: header: data other than space padding after the JSON object")
	}
	return entries, meta, nil
}

func strictDecode(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// parseEntry validates one tensor's header entry.
func parseEntry(name string, raw json.RawMessage) (headerEntry, error) {
	e := headerEntry{name: name}
	fail := func(format string, a ...any) (headerEntry, error) {
		return headerEntry{}, fmt.Errorf("nn: safetensors: tensor %q: %s", name, fmt.Sprintf(format, a...))
	}
	if name == "" {
		return fail("empty tensor name")
	}
	var r struct {
		DType   *string        `json:"dtype"`
		Shape   *[]json.Number `json:"shape"`
		Offsets *[]json.Number `json:"data_offsets"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return fail("bad entry: %v", err)
	}
	if r.DType == nil || r.Shape == nil || r.Offsets == nil {
		return fail("entry needs dtype, shape and data_offsets")
	}
	e.dtype = *r.DType
	size := dtypeSize(e.dtype)
	if size == 0 {
		return fail("dtype %q not supported (want F32, F16 or BF16)", e.dtype)
	}
	numel := uint64(1)
	for _, d := range *r.Shape {
		v, ok := jsonUint(d)
		if !ok || v > math.MaxInt32 {
			return fail("shape entry %s is not a non-negative integer below 2³¹", d)
		}
		e.shape = append(e.shape, int(v))
		if v != 0 && numel > math.MaxInt64/v {
			return fail("shape %v overflows", *r.Shape)
		}
		numel *= v
	}
	if e.shape == nil {
		e.shape = []int{} // a scalar
	}
	if len(*r.Offsets) != 2 {
		return fail("data_offsets has %d entries, want 2", len(*r.Offsets))
	}
	var ok0, ok1 bool
	e.begin, ok0 = jsonUint((*r.Offsets)[0])
	e.end, ok1 = jsonUint((*r.Offsets)[1])
	if !ok0 || !ok1 || e.end < e.begin {
		return fail("data_offsets %v: want integers begin ≤ end", *r.Offsets)
	}
	if numel > math.MaxInt64/uint64(size) || numel*uint64(size) != e.end-e.begin {
		return fail("shape %v of %s needs %d·%d bytes, data_offsets hold %d", e.shape, e.dtype, numel, size, e.end-e.begin)
	}
	return e, nil
}

// jsonUint parses a JSON number that must be a non-negative integer.
func jsonUint(n json.Number) (uint64, bool) {
	s := string(n)
	if s == "" || len(s) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// widen converts little-endian stored values to float32.
func widen(b []byte, dtype string) []float32 {
	switch dtype {
	case "F32":
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out
	case "BF16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return out
	default: // F16
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = halfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return out
	}
}

// halfToFloat widens an IEEE 754 binary16 value exactly.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN (payload kept)
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0: // ±0
		return math.Float32frombits(sign)
	}
	// subnormal: man·2⁻²⁴, exact in float32
	f := float32(man) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}

// floatToHalf rounds a float32 to binary16, to nearest even (NaN stays NaN,
// overflow becomes ±Inf).
func floatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7c00 | uint16(man>>13) | 1<<9 // quiet NaN
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // subnormal or zero in binary16
		if e < -10 {
			return sign
		}
		m := man | 0x800000 // implicit bit
		shift := uint32(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 == 1) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 == 1) {
		h++ // may carry into the exponent, up to Inf: correct rounding
	}
	return sign | uint16(h)
}

// floatToBF16 rounds a float32 to bfloat16, to nearest even.
func floatToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN
		return uint16(b>>16) | 0x40
	}
	rounding := uint32(0x7fff) + (b>>16)&1
	return uint16((b + rounding) >> 16)
}

// WriteSafetensors writes tensors in the safetensors format, in the order
// of names, each stored in its DType (F32, or F16/BF16 rounded to nearest
// even from Data). metadata may be nil. The header is padded with spaces to
// a multiple of 8 bytes, as the reference writer does. An unknown dtype, a
// name listed twice or missing from tensors, or a shape that does not match
// the data is an error naming the tensor.
func WriteSafetensors(w io.Writer, names []string, tensors map[string]Tensor, metadata map[string]string) error {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			hdr.WriteByte(',')
		}
		first = false
	}
	if metadata != nil {
		mb, err := json.Marshal(metadata)
		if err != nil {
			return fmt.Errorf("nn: safetensors: metadata: %v", err)
		}
		sep()
		hdr.WriteString(`"__metadata__":`)
		hdr.Write(mb)
	}
	var off uint64
	seen := map[string]bool{}
	for _, name := range names {
		t, ok := tensors[name]
		if !ok {
			return fmt.Errorf("nn: safetensors: tensor %q is not in the map", name)
		}
		if seen[name] || name == "__metadata__" || name == "" {
			return fmt.Errorf("nn: safetensors: tensor name %q repeated or reserved", name)
		}
		seen[name] = true
		size := dtypeSize(t.DType)
		if size == 0 {
			return fmt.Errorf("nn: safetensors: tensor %q: dtype %q not supported", name, t.DType)
		}
		numel := 1
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("nn: safetensors: tensor %q: negative dimension in %v", name, t.Shape)
			}
			numel *= d
		}
		if numel != len(t.Data) {
			return fmt.Errorf("nn: safetensors: tensor %q: shape %v holds %d values, data has %d", name, t.Shape, numel, len(t.Data))
		}
		nb, _ := json.Marshal(name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		sb, _ := json.Marshal(shape)
		sep()
		end := off + uint64(numel*size)
		fmt.Fprintf(&hdr, `%s:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, nb, t.DType, sb, off, end)
		off = end
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(hdr.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr.Bytes()); err != nil {
		return err
	}
	for _, name := range names {
		t := tensors[name]
		var buf []byte
		switch t.DType {
		case "F32":
			buf = make([]byte, 4*len(t.Data))
			for i, x := range t.Data {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
			}
		case "F16":
			buf = make([]byte, 2*len(t.Data))
			for i, x := range t.Data {
				binary.LittleEndian.PutUint16(buf[2*i:], floatToHalf(x))
			}
		case "BF16":
			buf = make([]byte, 2*len(t.Data))
			for i, x := range t.Data {
				binary.LittleEndian.PutUint16(buf[2*i:], floatToBF16(x))
			}
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys returns the keys of a tensor map in increasing order.
func sortedKeys(m map[string]Tensor) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
