#!/usr/bin/env python3
"""Independent numpy reference for the GGML block formats, written from the format
definitions (block layouts as in ggml-common.h / gguf-py), used by tests/test_quant_reference.

  quant_ref.py quantize TYPE IN.f32 OUT.bin     encode raw little-endian float32 (q8_0 q4_0 q4_1 q5_0 q5_1 iq4_nl q2_k..q6_k f16 bf16)
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
    "iq4_nl": (32, 18), "q4_0": (32, 18), "q4_1": (32, 20), "q5_0": (32, 22), "q5_1": (32, 24), "q8_0": (32, 34),
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


IQ4NL_VALUES = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], np.int32)


def iq4nl_index(v):
    """ggml's best_index_int8: nearest code book entry, ties to the upper one (float32 distances)."""
    vals = IQ4NL_VALUES.astype(F32)
    hi = np.clip(np.searchsorted(vals, v, side="right"), 1, 15)  # vals[hi-1] <= v < vals[hi]
    idx = np.where(v - vals[hi - 1] < vals[hi] - v, hi - 1, hi)
    return np.where(v <= vals[0], 0, np.where(v >= vals[15], 15, idx))


def encode_iq4_nl(x):
    """As llama-quantize (quantize_iq4_nl without an importance matrix, 7 tries each way)."""
    extreme = running_max(x, absolute=True)
    w = x * x

    def sums(inv):
        q = IQ4NL_VALUES.astype(F32)[iq4nl_index(inv[:, None] * x)]
        sumqx, sumq2 = np.zeros(len(x), F32), np.zeros(len(x), F32)
        for j in range(QK):
            sumqx += w[:, j] * q[:, j] * x[:, j]
            sumq2 += w[:, j] * q[:, j] * q[:, j]
        return sumqx, sumq2

    sumqx, sumq2 = sums(F32(1) / (-extreme / F32(-127)))
    d = sumqx / sumq2
    best = d * sumqx
    for t in range(-7, 8):
        sumqx, sumq2 = sums(F32(t - 127) / extreme)
        take = (sumq2 > 0) & (sumqx * sumqx > best * sumq2)
        d = np.where(take, sumqx / sumq2, d)
        best = np.where(take, d * sumqx, best)
    d = np.where(np.abs(extreme) < F32(1e-15), F32(0), d)
    inv = np.where(d != 0, F32(1) / d, F32(0))
    return np.concatenate([to_f16_bytes(d), pack_nibbles(iq4nl_index(inv[:, None] * x))], axis=1)


# ---- k-quant encoders (ggml's quantize_row_*_K_ref) ----
# Vectorized over the groups of a row; every loop that accumulates in C runs element by
# element here too, so each float32 sum rounds in the same order.

def nearest_int(v):
    """ggml's nearest_int: float32 add of 1.5 * 2^23, then the low mantissa bits (ties to even)."""
    bits = (np.asarray(v, F32) + F32(12582912)).view(np.int32)
    return (bits & 0x7FFFFF) - 0x400000


def running_max(values, absolute=False):
    """C's `if (v > best) best = v` over columns from 0 (NaN never wins); with absolute, compares
    |v| and returns the signed value of the first largest."""
    best, best_abs = np.zeros(len(values), F32), np.zeros(len(values), F32)
    for j in range(values.shape[1]):
        v = values[:, j]
        key = np.abs(v) if absolute else v
        take = key > best_abs
        best_abs, best = np.where(take, key, best_abs), np.where(take, v, best)
    return best


def weighted_error(scale, offset, q, x, w, use_mad):
    err = np.zeros(len(x), F32)
    for i in range(x.shape[1]):
        diff = scale * q[:, i].astype(F32) + offset - x[:, i]
        err += w[:, i] * (np.abs(diff) if use_mad else diff * diff)
    return err


def fit_scale_min(x, w, nmax, rmin, rdelta, nstep, use_mad):
    """make_qkx2_quants for each row of x: returns (scale, min, L) with x ~ scale * L - min."""
    n = x.shape[1]
    lo, hi = np.minimum(x.min(axis=1), F32(0)), x.max(axis=1)
    sum_w, sum_x = w[:, 0].copy(), w[:, 0] * x[:, 0]
    for i in range(1, n):
        sum_w += w[:, i]
        sum_x += w[:, i] * x[:, i]
    # As in C, a better fit replaces `min`, and later candidates are measured from the new one.
    mn = lo.copy()
    quant = lambda inv: np.clip(nearest_int(inv[:, None] * (x - mn[:, None])), 0, nmax)
    iscale = F32(nmax) / (hi - mn)
    scale = F32(1) / iscale
    L = quant(iscale)
    best = weighted_error(scale, mn, L, x, w, use_mad)
    for step in range(nstep + 1):
        laux = quant((F32(rmin) + F32(rdelta) * F32(step) + F32(nmax)) / (hi - mn))
        sum_l, sum_l2, sum_xl = (np.zeros(len(x), F32) for _ in range(3))
        for i in range(n):
            wl = w[:, i] * laux[:, i].astype(F32)
            sum_l += wl
            sum_l2 += wl * laux[:, i].astype(F32)
            sum_xl += wl * x[:, i]
        D = sum_w * sum_l2 - sum_l * sum_l
        this_scale = (sum_w * sum_xl - sum_x * sum_l) / D
        this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D
        clipped = this_min > 0
        this_min = np.where(clipped, F32(0), this_min)
        this_scale = np.where(clipped, sum_xl / sum_l2, this_scale)
        err = weighted_error(this_scale, this_min, laux, x, w, use_mad)
        take = (D > 0) & (err < best)
        L, best = np.where(take[:, None], laux, L), np.where(take, err, best)
        scale, mn = np.where(take, this_scale, scale), np.where(take, this_min, mn)
    flat = hi == lo
    return np.where(flat, F32(0), scale), np.where(flat, -lo, -mn), np.where(flat[:, None], 0, L)


def fit_symmetric_scale(x, nmax):
    """make_qx_quants(rmse_type 1, no importance weights) for each row: (scale, L + nmax)."""
    extreme = running_max(x, absolute=True)
    quant = lambda inv: np.clip(nearest_int(inv[:, None] * x), -nmax, nmax - 1)
    w = x * x

    def sums(q):
        sumlx, suml2 = np.zeros(len(x), F32), np.zeros(len(x), F32)
        for i in range(x.shape[1]):
            l = q[:, i].astype(F32)
            sumlx += w[:, i] * x[:, i] * l
            suml2 += w[:, i] * l * l
        return sumlx, suml2

    L = quant(F32(-nmax) / extreme)
    sumlx, suml2 = sums(L)
    scale = np.where(suml2 != 0, sumlx / suml2, F32(0))
    best = scale * sumlx
    for step in list(range(-9, 0)) + list(range(1, 10)):
        q = quant(-(F32(nmax) + F32(0.1) * F32(step)) / extreme)
        sumlx, suml2 = sums(q)
        take = (suml2 > 0) & (sumlx * sumlx > best * suml2)
        L = np.where(take[:, None], q, L)
        scale = np.where(take, sumlx / suml2, scale)
        best = np.where(take, scale * sumlx, best)
    zero = np.abs(extreme) < F32(1e-15)
    return np.where(zero, F32(0), scale), np.where(zero[:, None], 0, L + nmax)


def fit_q3_scale(x, nmax):
    """make_q3_quants(do_rmse) for each row: (scale, L + nmax), up to 5 rounds of single-quant moves."""
    extreme = running_max(x, absolute=True)
    zero = np.abs(extreme) < F32(1e-15)
    L = np.clip(nearest_int((F32(-nmax) / extreme)[:, None] * x), -nmax, nmax - 1)
    w = x * x
    sumlx, suml2 = np.zeros(len(x), F32), np.zeros(len(x), F32)
    for i in range(x.shape[1]):
        sumlx += w[:, i] * x[:, i] * L[:, i].astype(F32)
        suml2 += w[:, i] * L[:, i].astype(F32) * L[:, i].astype(F32)
    active = ~zero
    for _ in range(5):
        changed = np.zeros(len(x), bool)
        for i in range(x.shape[1]):  # each move updates the sums the next element sees
            wi, xi, li = w[:, i], x[:, i], L[:, i].astype(F32)
            slx, sl2 = sumlx - wi * xi * li, suml2 - wi * li * li
            new_l = np.clip(nearest_int(xi * sl2 / slx), -nmax, nmax - 1)
            nl = new_l.astype(F32)
            slx2, sl22 = slx + wi * xi * nl, sl2 + wi * nl * nl
            take = (active & (slx > 0) & (new_l != L[:, i]) & (sl22 > 0) &
                    (slx2 * slx2 * suml2 > sumlx * sumlx * sl22))
            L[:, i] = np.where(take, new_l, L[:, i])
            sumlx, suml2 = np.where(take, slx2, sumlx), np.where(take, sl22, suml2)
            changed |= take
        active &= changed
    scale = np.where(suml2 > 0, sumlx / suml2, F32(0))
    return np.where(zero, F32(0), scale), np.where(zero[:, None], 0, L + nmax)


def pack_2bit(L):
    """[blocks, 256] -> [blocks, 64]: element 128h + 32s + l at bits 2s of byte 32h + l."""
    r = L.reshape(len(L), 2, 4, 32)
    return (r[:, :, 0] | (r[:, :, 1] << 2) | (r[:, :, 2] << 4) | (r[:, :, 3] << 6)).reshape(len(L), 64).astype(np.uint8)


def encode_q2_k(x):
    blocks = len(x)
    g = x.reshape(-1, 16)
    scales, mins, L = fit_scale_min(g, np.abs(g), 3, -0.5, 0.1, 15, True)
    scales, mins, L = scales.reshape(blocks, 16), mins.reshape(blocks, 16), L.reshape(blocks, 16, 16)
    max_scale, max_min = running_max(scales), running_max(mins)
    ls = np.where((max_scale > 0)[:, None], nearest_int((F32(15) / max_scale)[:, None] * scales) & 0xFF, 0)
    lm = np.where((max_min > 0)[:, None], (nearest_int((F32(15) / max_min)[:, None] * mins) << 4) & 0xFF, 0)
    sc = ls | lm
    d = np.where(max_scale > 0, max_scale / F32(15), F32(0)).astype(np.float16)
    dmin = np.where(max_min > 0, max_min / F32(15), F32(0)).astype(np.float16)
    dl = (d.astype(F32)[:, None] * (sc & 0x0F).astype(F32))[:, :, None]
    ml = (dmin.astype(F32)[:, None] * (sc >> 4).astype(F32))[:, :, None]
    requant = np.clip(nearest_int((x.reshape(blocks, 16, 16) + ml) / dl), 0, 3)
    L = np.where(dl != 0, requant, L).reshape(blocks, 256)
    return np.concatenate([sc.astype(np.uint8), pack_2bit(L), to_f16_bytes(d.astype(F32)),
                           to_f16_bytes(dmin.astype(F32))], axis=1)


def encode_q3_k(x):
    blocks = len(x)
    scales, L = fit_q3_scale(x.reshape(-1, 16), 4)
    scales, L = scales.reshape(blocks, 16), L.reshape(blocks, 16, 16)
    max_scale = running_max(scales, absolute=True)
    nz = (max_scale != 0)[:, None]
    iscale = F32(-32) / max_scale
    l = np.clip(nearest_int(iscale[:, None] * scales).astype(np.int8).astype(np.int32), -32, 31) + 32  # via int8, as C
    high = [(l[:, k] >> 4) | ((l[:, k + 4] >> 4) << 2) | ((l[:, k + 8] >> 4) << 4) | ((l[:, k + 12] >> 4) << 6)
            for k in range(4)]
    packed = np.concatenate([(l[:, :8] & 0x0F) | ((l[:, 8:] & 0x0F) << 4), np.stack(high, axis=1)], axis=1)
    packed = np.where(nz, packed, 0).astype(np.uint8)
    d = np.where(nz[:, 0], F32(1) / iscale, F32(0)).astype(np.float16)
    stored = np.where(nz, l - 32, -32)  # what the packed bytes decode to
    dl = (d.astype(F32)[:, None] * stored.astype(F32))[:, :, None]
    requant = np.clip(nearest_int(x.reshape(blocks, 16, 16) / dl), -4, 3) + 4
    L = np.where(dl != 0, requant, L).reshape(blocks, 256)
    hmask = sum(((L.reshape(blocks, 8, 32)[:, k] > 3).astype(np.int64) << k) for k in range(8))
    low = np.where(L > 3, L - 4, L)
    return np.concatenate([hmask.astype(np.uint8), pack_2bit(low), packed, to_f16_bytes(d.astype(F32))], axis=1)


def encode_k4(x, nmax, rmin, rdelta, nstep):
    """q4_K / q5_K common part: (d, dmin, 12 packed scale bytes, L[256]) per super-block."""
    blocks = len(x)
    g = x.reshape(-1, 32)
    sum_x2 = np.zeros(len(g), F32)
    for l in range(32):
        sum_x2 += g[:, l] * g[:, l]
    weights = np.sqrt(sum_x2 / F32(32))[:, None] + np.abs(g)
    scales, mins, L = fit_scale_min(g, weights, nmax, rmin, rdelta, nstep, False)
    scales, mins, L = scales.reshape(blocks, 8), mins.reshape(blocks, 8), L.reshape(blocks, 8, 32)
    max_scale, max_min = running_max(scales), running_max(mins)
    inv_scale = np.where(max_scale > 0, F32(63) / max_scale, F32(0))
    inv_min = np.where(max_min > 0, F32(63) / max_min, F32(0))
    ls = np.minimum(63, nearest_int(inv_scale[:, None] * scales) & 0xFF)  # via uint8, as ggml
    lm = np.minimum(63, nearest_int(inv_min[:, None] * mins) & 0xFF)
    packed = np.concatenate([ls[:, :4] | ((ls[:, 4:] >> 4) << 6), lm[:, :4] | ((lm[:, 4:] >> 4) << 6),
                             (ls[:, 4:] & 0x0F) | ((lm[:, 4:] & 0x0F) << 4)], axis=1).astype(np.uint8)
    d, dmin = (max_scale / F32(63)).astype(np.float16), (max_min / F32(63)).astype(np.float16)
    dl = (d.astype(F32)[:, None] * ls.astype(F32))[:, :, None]
    ml = (dmin.astype(F32)[:, None] * lm.astype(F32))[:, :, None]
    requant = np.clip(nearest_int((x.reshape(blocks, 8, 32) + ml) / dl), 0, nmax)
    L = np.where(dl != 0, requant, L).reshape(blocks, 4, 2, 32)  # [64-element chunk, half, 32]
    return np.concatenate([to_f16_bytes(d.astype(F32)), to_f16_bytes(dmin.astype(F32)), packed], axis=1), L


def encode_q4_k(x):
    head, L = encode_k4(x, 15, -1.0, 0.1, 20)
    qs = (L[:, :, 0] | (L[:, :, 1] << 4)).reshape(len(x), 128)
    return np.concatenate([head, qs.astype(np.uint8)], axis=1)


def encode_q5_k(x):
    head, L = encode_k4(x, 31, -0.5, 0.1, 15)
    qs = ((L[:, :, 0] & 0x0F) | ((L[:, :, 1] & 0x0F) << 4)).reshape(len(x), 128)
    qh = np.zeros((len(x), 32), np.int64)
    for c in range(4):  # fifth bits: chunk c's low half at bit 2c, high half at bit 2c + 1
        qh |= ((L[:, c, 0] >> 4) << (2 * c)) | ((L[:, c, 1] >> 4) << (2 * c + 1))
    return np.concatenate([head, qh.astype(np.uint8), qs.astype(np.uint8)], axis=1)


def encode_q6_k(x):
    blocks = len(x)
    scales, L = fit_symmetric_scale(x.reshape(-1, 16), 32)
    scales, L = scales.reshape(blocks, 16), L.reshape(blocks, 16, 16)
    max_scale = running_max(scales, absolute=True)
    zero = np.abs(max_scale) < F32(1e-15)
    iscale = F32(-128) / max_scale
    d = (F32(1) / iscale).astype(np.float16)
    sc = np.minimum(127, nearest_int(iscale[:, None] * scales)).astype(np.int8)  # wraps as C
    dl = (d.astype(F32)[:, None] * sc.astype(F32))[:, :, None]
    requant = np.clip(nearest_int(x.reshape(blocks, 16, 16) / dl), -32, 31) + 32
    q = np.where(dl != 0, requant, L).reshape(blocks, 2, 4, 32)  # [half, quarter, 32]
    ql = np.concatenate([(q[:, :, 0] & 0x0F) | ((q[:, :, 2] & 0x0F) << 4),
                         (q[:, :, 1] & 0x0F) | ((q[:, :, 3] & 0x0F) << 4)], axis=2).reshape(blocks, 128)
    qh = ((q[:, :, 0] >> 4) | ((q[:, :, 1] >> 4) << 2) | ((q[:, :, 2] >> 4) << 4) |
          ((q[:, :, 3] >> 4) << 6)).reshape(blocks, 64)
    out = np.concatenate([ql.astype(np.uint8), qh.astype(np.uint8), sc.view(np.uint8),
                          to_f16_bytes(d.astype(F32))], axis=1)
    out[zero] = 0
    return out


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


def decode_iq4_nl(b):
    return IQ4NL_VALUES[nibbles_to_values(b[:, 2:18])].astype(F32) * f16(b[:, 0:2])[:, None]


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
            "q5_1": encode_q5_1, "iq4_nl": encode_iq4_nl, "q2_k": encode_q2_k, "q3_k": encode_q3_k, "q4_k": encode_q4_k, "q5_k": encode_q5_k, "q6_k": encode_q6_k}
DECODERS = {
    "iq4_nl": decode_iq4_nl, "q4_0": decode_q4_0, "q4_1": decode_q4_1, "q5_0": decode_q5_0, "q5_1": decode_q5_1, "q8_0": decode_q8_0,
    "q2_k": decode_q2_k, "q3_k": decode_q3_k, "q6_k": decode_q6_k,
    "q4_k": lambda b: decode_q45_k(b, None), "q5_k": lambda b: decode_q45_k(b, b[:, 16:48]),
}


def quantize(kind, values):
    if kind == "f16":
        with np.errstate(over="ignore"):  # large values become inf, as intended
            return values.astype("<f2").tobytes()
    if kind == "bf16":
        return f32_to_bf16(values).astype("<u2").tobytes()
    with np.errstate(all="ignore"):  # inf/NaN intermediates on extreme inputs are mirrored, not errors
        return ENCODERS[kind](values.reshape(-1, SIZES[kind][0])).tobytes()


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
