package remote

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"unsafe"
)

// The JSON parts of an infer request and answer (the Open Inference
// Protocol's $inference_request and $inference_response, with the binary
// tensor extension's parameters).

type inferRequest struct {
	ID         string          `json:"id,omitempty"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Inputs     []requestInput  `json:"inputs"`
	Outputs    []requestOutput `json:"outputs"`
}

type requestInput struct {
	Name       string             `json:"name"`
	Shape      []int              `json:"shape"`
	Datatype   string             `json:"datatype"`
	Parameters *binSize           `json:"parameters,omitempty"`
	Data       any                `json:"data,omitempty"`
	bin        func([]byte) error // checks and writes the binary data (size bytes), or nil for JSON data
	check      func() error       // checks JSON data, if set
	size       int
}

type binSize struct {
	BinaryDataSize int `json:"binary_data_size"`
}

type requestOutput struct {
	Name       string   `json:"name"`
	Parameters *binFlag `json:"parameters,omitempty"`
}

type binFlag struct {
	BinaryData bool `json:"binary_data"`
}

type inferResponse struct {
	ModelName  string           `json:"model_name"`
	ID         string           `json:"id"`
	Outputs    []responseOutput `json:"outputs"`
	Parameters map[string]any   `json:"parameters"`
}

type responseOutput struct {
	Name       string          `json:"name"`
	Datatype   string          `json:"datatype"`
	Shape      []int64         `json:"shape"`
	Parameters map[string]any  `json:"parameters"`
	Data       json.RawMessage `json:"data"`
}

// buildBody lays out a request: the JSON header followed by the binary
// data of the inputs that have it, written by their bin functions into
// body (grown from buf). It returns the body and the header's length, or
// −1 for a JSON-only request.
func buildBody(buf []byte, req *inferRequest) ([]byte, int, error) {
	total := 0
	for i := range req.Inputs {
		in := &req.Inputs[i]
		if in.check != nil {
			if err := in.check(); err != nil {
				return nil, 0, err
			}
		}
		if in.bin != nil {
			in.Parameters = &binSize{BinaryDataSize: in.size}
			total += in.size
		}
	}
	hdr, err := json.Marshal(req)
	if err != nil {
		return nil, 0, fmt.Errorf("remote: encoding the request: %v", err)
	}
	n := len(hdr) + total
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	body := buf[:n]
	copy(body, hdr)
	off := len(hdr)
	for i := range req.Inputs {
		in := &req.Inputs[i]
		if in.bin != nil {
			if err := in.bin(body[off : off+in.size]); err != nil {
				return nil, 0, err
			}
			off += in.size
		}
	}
	if total == 0 {
		return body, -1, nil
	}
	return body, len(hdr), nil
}

// tensor is one output of an answer: its binary data, little-endian (JSON
// data are converted to the same form).
type tensor struct {
	dtype string
	shape []int64
	data  []byte
}

// parseResponse splits an answer into its outputs. hdrLen is the
// Inference-Header-Content-Length header ("" when absent).
func parseResponse(body []byte, hdrLen string) (*inferResponse, map[string]tensor, error) {
	n := len(body)
	if hdrLen != "" {
		v, err := strconv.Atoi(hdrLen)
		if err != nil || v < 0 || v > len(body) {
			return nil, nil, badResponse("Inference-Header-Content-Length %q for a body of %d bytes", hdrLen, len(body))
		}
		n = v
	}
	var resp inferResponse
	dec := json.NewDecoder(bytes.NewReader(body[:n]))
	dec.UseNumber()
	if err := dec.Decode(&resp); err != nil {
		return nil, nil, badResponse("answer JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, badResponse("answer JSON: data after the object")
	}
	out := make(map[string]tensor, len(resp.Outputs))
	off := n
	for _, o := range resp.Outputs {
		if _, dup := out[o.Name]; dup {
			return nil, nil, badResponse("output %q given twice", o.Name)
		}
		size := dtypeSize(o.Datatype)
		if size == 0 {
			return nil, nil, badResponse("output %q has datatype %q (want FP32 or INT32)", o.Name, o.Datatype)
		}
		count := int64(1)
		for _, d := range o.Shape {
			if d < 0 || (d > 0 && count > (math.MaxInt64/4)/d) {
				return nil, nil, badResponse("output %q has shape %v", o.Name, o.Shape)
			}
			count *= d
		}
		t := tensor{dtype: o.Datatype, shape: o.Shape}
		if bs, ok := o.Parameters["binary_data_size"]; ok {
			sz, err := jsonInt(bs)
			if err != nil || sz != count*int64(size) {
				return nil, nil, badResponse("output %q: binary_data_size %v, shape %v needs %d bytes", o.Name, bs, o.Shape, count*int64(size))
			}
			if int64(off)+sz > int64(len(body)) {
				return nil, nil, badResponse("output %q: binary data ends at byte %d of a %d-byte answer", o.Name, int64(off)+sz, len(body))
			}
			t.data = body[off : off+int(sz)]
			off += int(sz)
		} else {
			b, err := jsonData(o.Data, count, o.Datatype)
			if err != nil {
				return nil, nil, badResponse("output %q: %v", o.Name, err)
			}
			t.data = b
		}
		out[o.Name] = t
	}
	if off != len(body) {
		return nil, nil, badResponse("%d bytes after the outputs' binary data", len(body)-off)
	}
	return &resp, out, nil
}

func dtypeSize(dt string) int {
	switch dt {
	case "FP32", "INT32":
		return 4
	}
	return 0
}

func jsonInt(v any) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Int64()
	case float64:
		if x == math.Trunc(x) {
			return int64(x), nil
		}
	}
	return 0, fmt.Errorf("not an integer: %v", v)
}

// jsonData converts the JSON data of a tensor (a flat or nested array of
// numbers) to count little-endian values of dtype.
func jsonData(raw json.RawMessage, count int64, dtype string) ([]byte, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("neither data nor binary_data_size")
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	// Every value takes at least one byte of raw: a shape that claims more
	// values than that fails below, and must not size the buffer (a shape
	// of 10¹⁸ made this allocation panic; FuzzParseResponse).
	out := make([]byte, 0, 4*min(count, int64(len(raw))))
	var walk func(any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
			return nil
		case json.Number:
			if int64(len(out)) >= 4*count {
				return fmt.Errorf("more than the %d values of its shape", count)
			}
			if dtype == "INT32" {
				i, err := x.Int64()
				if err != nil || i != int64(int32(i)) {
					return fmt.Errorf("%s is not an INT32", x)
				}
				out = binary.LittleEndian.AppendUint32(out, uint32(int32(i)))
				return nil
			}
			f, err := x.Float64()
			if err != nil {
				return fmt.Errorf("%s is not an FP32", x)
			}
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(f)))
			return nil
		}
		return fmt.Errorf("data holds %T, want numbers", v)
	}
	if err := walk(v); err != nil {
		return nil, err
	}
	if int64(len(out)) != 4*count {
		return nil, fmt.Errorf("%d values for %d", len(out)/4, count)
	}
	return out, nil
}

// want checks that output name exists with datatype dt and shape shape.
func want(outs map[string]tensor, name, dt string, shape ...int) (tensor, error) {
	t, ok := outs[name]
	if !ok {
		return t, badResponse("output %q is missing", name)
	}
	if t.dtype != dt {
		return t, badResponse("output %q has datatype %s, want %s", name, t.dtype, dt)
	}
	same := len(t.shape) == len(shape)
	for i := 0; same && i < len(shape); i++ {
		same = t.shape[i] == int64(shape[i])
	}
	if !same {
		return t, badResponse("output %q has shape %v, want %v", name, t.shape, shape)
	}
	return t, nil
}

func f32At(b []byte, i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])) }

func i32At(b []byte, i int) int32 { return int32(binary.LittleEndian.Uint32(b[4*i:])) }

func putF32(b []byte, i int, x float32) { binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x)) }

func putI32(b []byte, i int, x int32) { binary.LittleEndian.PutUint32(b[4*i:], uint32(x)) }

// hostLE: this machine stores integers little-endian, the protocol's byte
// order, so a tensor's bytes can be copied into a slice as they are.
var hostLE = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// copyI32 decodes the little-endian INT32 values of src (4·len(dst) bytes)
// into dst: one memory copy on a little-endian machine. (dst's own memory
// is viewed as bytes, which needs no alignment of src.)
func copyI32(dst []int32, src []byte) {
	if hostLE && len(dst) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst)), src[:4*len(dst)])
		return
	}
	for i := range dst {
		dst[i] = i32At(src, i)
	}
}

// copyF32 is copyI32 for FP32 values.
func copyF32(dst []float32, src []byte) {
	if hostLE && len(dst) > 0 {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst)), src[:4*len(dst)])
		return
	}
	for i := range dst {
		dst[i] = f32At(src, i)
	}
}
