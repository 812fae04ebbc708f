#!/usr/bin/env python3
"""Independent numpy reference for the GGML block formats, written from the format
definitions (block layouts as in ggml-common.h / gguf-py), used by tests/test_quant_reference.

  quant_ref.py quantize TYPE IN.f32 OUT.bin     encode raw little-endian float32 (q8_0 q4_0 q4_1 q5_0 q5_1 f16 bf16)
  quant_ref.py dequantize TYPE IN.bin OUT.f32   decode whole blocks of TYPE to float32

Arithmetic mirrors the C reference exactly: every product/sum is float32 and rounded once,
ggml's roundf rounds half away from zero, and its (int) casts truncate toward zero.
"""
import sys

import numpy as np

F32 = np.float32
QK = 32
QK_K = 256

# type name -> (block elements, block bytes)
SIZES = {
    "f32": (1, 4), "f16": (1, 2), "bf16": (1, 2),
    "q4_0": (32, 18), "q4_1": (32, 20), "q5_0": (32, 22), "q5_1": (32, 24), "q8_0": (32, 34),
    "q2_k": (256, 84), "q3_k": (256, 110), "q4_k": (256, 144), "q5_k": (256, 176), "q6_k": (256, 210),
}


def f16(raw):
    """Little-endian f16 bytes (shape [..., 2]) -> float32."""
    return np.ascontiguousarray(raw).view("<f2").astype(F32)[..., 0]


def to_f16_bytes(values):
    return values.astype("<f2").view(np.uint8).reshape(values.shape + (2,))


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(F32)


def f32_to_bf16(values):
    bits = values.view(np.uint32).astype(np.uint64)
    nan = (bits & 0x7FFFFFFF) > 0x7F800000
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(nan, ((bits >> 16) | 0x40).astype(np.uint16), rounded)


def round_half_away(v):
    """C roundf of float32 values (evaluated in float64, where |v| + 0.5 is exact)."""
    v = v.astype(np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def nibbles_to_values(qs):
    """[..., 16] bytes -> [..., 32] quants: low nibbles are elements 0..15, high 16..31."""
    return np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int32)


def high_bits(qh_bytes):
    """[..., 4] bytes of a little-endian u32 -> [..., 32] bits, bit j for element j."""
    word = qh_bytes.astype(np.uint32) @ (np.uint32(1) << (8 * np.arange(4, dtype=np.uint32)))
    return ((word[..., None] >> np.arange(32, dtype=np.uint32)) & 1).astype(np.int32)


def pack_nibbles(q):
    return (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)


def pack_high_bits(q):
    bits = ((q >> 4) & 1).astype(np.uint64) << np.arange(32, dtype=np.uint64)
    word = bits.sum(axis=1).astype("<u4")
    return word.view(np.uint8).reshape(-1, 4)


# ---- encoders (the *_ref quantizers) ----

def signed_absmax(x):
    """Per block, the first element of largest magnitude (keeps its sign)."""
    return np.take_along_axis(x, np.abs(x).argmax(axis=1)[:, None], axis=1)


def inverse(d):
    with np.errstate(divide="ignore"):
        return np.where(d == 0, F32(0), F32(1) / d).astype(F32)


def encode_q8_0(x):
    d = (np.abs(x).max(axis=1, keepdims=True) / F32(127)).astype(F32)
    q = round_half_away(x * inverse(d)).astype(np.int8)
    return np.concatenate([to_f16_bytes(d[:, 0]), q.view(np.uint8)], axis=1)


def encode_q4_0(x):
    d = (signed_absmax(x) / F32(-8)).astype(F32)
    q = np.minimum(15, np.trunc(x * inverse(d) + F32(8.5))).astype(np.int32)
    return np.concatenate([to_f16_bytes(d[:, 0]), pack_nibbles(q)], axis=1)


def encode_q5_0(x):
    d = (signed_absmax(x) / F32(-16)).astype(F32)
    q = np.minimum(31, np.trunc(x * inverse(d) + F32(16.5))).astype(np.int32)
    return np.concatenate([to_f16_bytes(d[:, 0]), pack_high_bits(q), pack_nibbles(q & 0x0F)], axis=1)


def affine(x, levels):
    lo = x.min(axis=1, keepdims=True)
    d = ((x.max(axis=1, keepdims=True) - lo) / F32(levels)).astype(F32)
    q = np.trunc((x - lo) * inverse(d) + F32(0.5)).astype(np.int32)
    return lo, d, q


def encode_q4_1(x):
    lo, d, q = affine(x, 15)
    q = np.minimum(15, q)
    return np.concatenate([to_f16_bytes(d[:, 0]), to_f16_bytes(lo[:, 0]), pack_nibbles(q)], axis=1)


def encode_q5_1(x):
    lo, d, q = affine(x, 31)
    return np.concatenate([to_f16_bytes(d[:, 0]), to_f16_bytes(lo[:, 0]), pack_high_bits(q), pack_nibbles(q & 0x0F)],
                          axis=1)


# ---- decoders ----

def decode_q4_0(b):
    return (nibbles_to_values(b[:, 2:18]) - 8).astype(F32) * f16(b[:, 0:2])[:, None]


def decode_q4_1(b):
    return nibbles_to_values(b[:, 4:20]).astype(F32) * f16(b[:, 0:2])[:, None] + f16(b[:, 2:4])[:, None]


def decode_q5_0(b):
    q = nibbles_to_values(b[:, 6:22]) | (high_bits(b[:, 2:6]) << 4)
    return (q - 16).astype(F32) * f16(b[:, 0:2])[:, None]


def decode_q5_1(b):
    q = nibbles_to_values(b[:, 8:24]) | (high_bits(b[:, 4:8]) << 4)
    return q.astype(F32) * f16(b[:, 0:2])[:, None] + f16(b[:, 2:4])[:, None]


def decode_q8_0(b):
    return b[:, 2:34].copy().view(np.int8).astype(F32) * f16(b[:, 0:2])[:, None]


def decode_q2_k(b):
    scales, qs = b[:, 0:16].astype(np.int32), b[:, 16:80].astype(np.int32)
    d, dmin = f16(b[:, 80:82])[:, None], f16(b[:, 82:84])[:, None]
    out = np.empty((len(b), QK_K), F32)
    # Element 128*h + 32*s + 16*p + l is bits 2s..2s+1 of qs[32h + 16p + l], group 8h + 2s + p.
    for h in range(2):
        for s in range(4):
            for p in range(2):
                g = 8 * h + 2 * s + p
                q = (qs[:, 32 * h + 16 * p: 32 * h + 16 * p + 16] >> (2 * s)) & 3
                dl = (d * (scales[:, g:g + 1] & 0x0F).astype(F32)).astype(F32)
                ml = (dmin * (scales[:, g:g + 1] >> 4).astype(F32)).astype(F32)
                start = 128 * h + 32 * s + 16 * p
                out[:, start:start + 16] = dl * q.astype(F32) - ml
    return out


def q3_k_scales(packed):
    """12 bytes -> 16 signed scales: low nibble from bytes 0-7 (low then high nibbles),
    two high bits from bytes 8-11, minus the bias 32."""
    packed = packed.astype(np.int32)
    out = np.empty((len(packed), 16), np.int32)
    for i in range(16):
        low = packed[:, i] & 0x0F if i < 8 else packed[:, i - 8] >> 4
        high = (packed[:, 8 + i % 4] >> (2 * (i // 4))) & 3
        out[:, i] = (low | (high << 4)) - 32
    return out


def decode_q3_k(b):
    hmask, qs = b[:, 0:32].astype(np.int32), b[:, 32:96].astype(np.int32)
    scales, d = q3_k_scales(b[:, 96:108]), f16(b[:, 108:110])[:, None]
    out = np.empty((len(b), QK_K), F32)
    for h in range(2):
        for s in range(4):
            bit = 4 * h + s  # hmask bit for this 32-element slice
            for p in range(2):
                g = 8 * h + 2 * s + p
                idx = slice(16 * p, 16 * p + 16)
                q = ((qs[:, 32 * h:32 * h + 32][:, idx] >> (2 * s)) & 3) - np.where((hmask[:, idx] >> bit) & 1, 0, 4)
                dl = (d * scales[:, g:g + 1].astype(F32)).astype(F32)
                start = 128 * h + 32 * s + 16 * p
                out[:, start:start + 16] = dl * q.astype(F32)
    return out


def k4_scale_min(packed, g):
    """Scale and min of group g (0..7) from the 12-byte q4_K/q5_K scale block."""
    packed = packed.astype(np.int32)
    if g < 4:
        return packed[:, g] & 63, packed[:, g + 4] & 63
    return ((packed[:, g + 4] & 0x0F) | ((packed[:, g - 4] >> 6) << 4),
            (packed[:, g + 4] >> 4) | ((packed[:, g] >> 6) << 4))


def decode_q45_k(b, qh):
    """q4_K (qh None) or q5_K: group g is 32 elements; pair (2c, 2c+1) shares qs[32c:32c+32]
    as low/high nibbles, and q5_K adds qh bit g of each of the 32 positions as value 16."""
    d, dmin = f16(b[:, 0:2])[:, None], f16(b[:, 2:4])[:, None]
    scales, qs = b[:, 4:16], b[:, -128:].astype(np.int32)
    out = np.empty((len(b), QK_K), F32)
    for g in range(8):
        c = g // 2
        q = (qs[:, 32 * c:32 * c + 32] >> (4 * (g % 2))) & 0x0F
        if qh is not None:
            q = q + ((qh.astype(np.int32) >> g) & 1) * 16
        sc, m = k4_scale_min(scales, g)
        dl = (d * sc[:, None].astype(F32)).astype(F32)
        ml = (dmin * m[:, None].astype(F32)).astype(F32)
        out[:, 32 * g:32 * g + 32] = dl * q.astype(F32) - ml
    return out


def decode_q6_k(b):
    ql, qh = b[:, 0:128].astype(np.int32), b[:, 128:192].astype(np.int32)
    scales, d = b[:, 192:208].copy().view(np.int8).astype(F32), f16(b[:, 208:210])[:, None]
    out = np.empty((len(b), QK_K), F32)
    # Half h, quarter j (32 elements): low nibble of ql[64h + 32(j%2) + l] (j<2 low, j>=2 high)
    # and bits 2j..2j+1 of qh[32h + l]; scale index 8h + 2j + l//16.
    for h in range(2):
        for j in range(4):
            low = (ql[:, 64 * h + 32 * (j % 2): 64 * h + 32 * (j % 2) + 32] >> (4 * (j // 2))) & 0x0F
            high = (qh[:, 32 * h:32 * h + 32] >> (2 * j)) & 3
            q = (low | (high << 4)) - 32
            for half in range(2):
                sc = scales[:, 8 * h + 2 * j + half:8 * h + 2 * j + half + 1]
                start = 128 * h + 32 * j + 16 * half
                out[:, start:start + 16] = (d * sc).astype(F32) * q[:, 16 * half:16 * half + 16].astype(F32)
    return out


ENCODERS = {"q8_0": encode_q8_0, "q4_0": encode_q4_0, "q4_1": encode_q4_1, "q5_0": encode_q5_0,
            "q5_1": encode_q5_1}
DECODERS = {
    "q4_0": decode_q4_0, "q4_1": decode_q4_1, "q5_0": decode_q5_0, "q5_1": decode_q5_1, "q8_0": decode_q8_0,
    "q2_k": decode_q2_k, "q3_k": decode_q3_k, "q6_k": decode_q6_k,
    "q4_k": lambda b: decode_q45_k(b, None), "q5_k": lambda b: decode_q45_k(b, b[:, 16:48]),
}


def quantize(kind, values):
    if kind == "f16":
        with np.errstate(over="ignore"):  # large values become inf, as intended
            return values.astype("<f2").tobytes()
    if kind == "bf16":
        return f32_to_bf16(values).astype("<u2").tobytes()
    return ENCODERS[kind](values.reshape(-1, QK)).tobytes()


def dequantize(kind, raw):
    if kind == "f32":
        return raw.view("<f4").astype(F32)
    if kind == "f16":
        return raw.view("<f2").astype(F32)
    if kind == "bf16":
        return bf16_to_f32(raw.view("<u2"))
    elements, nbytes = SIZES[kind]
    return DECODERS[kind](raw.reshape(-1, nbytes)).reshape(-1)


def main(argv):
    if len(argv) != 5 or argv[1] not in ("quantize", "dequantize") or argv[2] not in SIZES:
        sys.exit(__doc__)
    _, verb, kind, src, dst = argv
    if verb == "quantize":
        out = quantize(kind, np.fromfile(src, dtype="<f4"))
    else:
        out = dequantize(kind, np.fromfile(src, dtype=np.uint8)).astype("<f4").tobytes()
    with open(dst, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main(sys.argv)
