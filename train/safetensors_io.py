"""A minimal safetensors reader and writer (F32, F16, BF16) on numpy.

Format: 8-byte little-endian header length N, N bytes of JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
{str: str}} padded with spaces to a multiple of 8, then the byte buffer.
"""

import json
import struct

import numpy as np

_SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def _to_bf16_bits(a):
    """Round float32 to bfloat16 bits, to nearest even (NaN kept NaN)."""
    b = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    nan = (b & 0x7FFFFFFF) > 0x7F800000
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)
    r[nan] = ((b[nan] >> 16) | 0x40).astype(np.uint16)
    return r


def encode(arr, dtype):
    a = np.asarray(arr, dtype=np.float32)
    if dtype == "F32":
        return a.astype("<f4").tobytes()
    if dtype == "F16":
        return a.astype("<f2").tobytes()
    if dtype == "BF16":
        return _to_bf16_bits(a).astype("<u2").tobytes()
    raise ValueError("dtype %r not supported" % dtype)


def decode(buf, dtype, shape):
    if dtype == "F32":
        a = np.frombuffer(buf, dtype="<f4")
    elif dtype == "F16":
        a = np.frombuffer(buf, dtype="<f2").astype(np.float32)
    elif dtype == "BF16":
        a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        raise ValueError("dtype %r not supported" % dtype)
    return a.reshape(shape).astype(np.float32)


def write(path, tensors, dtype="F32", metadata=None, dtypes=None):
    """Write {name: array} in insertion order; dtypes may override per name."""
    header, chunks, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, arr in tensors.items():
        dt = (dtypes or {}).get(name, dtype)
        b = encode(arr, dt)
        header[name] = {"dtype": dt, "shape": list(np.shape(arr)), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in chunks:
            f.write(b)


def read(path):
    """Return ({name: float32 array}, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode())
    buf = data[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, end = e["data_offsets"]
        out[name] = decode(buf[b:end], e["dtype"], e["shape"])
    return out, meta
