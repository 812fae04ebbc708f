#!/usr/bin/env python3
"""Independent numpy reference for MLX's affine group quantization, written from mlx's
affine_quantize (mlx.core.quantize): per group of G values, with n_bins = 2**bits - 1,
  scale = max((w_max - w_min) / n_bins, 1e-7), negated unless |w_min| > |w_max|;
  edge = the extreme of larger magnitude; q0 = round_half_even(edge / scale);
  if q0 != 0: scale = edge / q0, bias = edge; else bias = 0;
  q = clip(round_half_even((w - bias) / scale), 0, n_bins),  w ~ scale * q + bias.
Quants are packed as MLX packs them into uint32 words, element i at bits [bits*i, bits*(i+1)).

  mlx_ref.py quantize BITS GROUP IN.f32 OUT.bin     raw float32 -> orchard's block layout:
                                                    per group float32 scale, float32 bias, packed quants
  mlx_ref.py dequantize BITS GROUP IN.bin OUT.f32   the block layout -> float32

All arithmetic is float32, as in mlx's CPU kernel.
"""
import sys

import numpy as np

F32 = np.float32


def quantize(w, bits, group):
    n_bins = F32((1 << bits) - 1)
    g = w.reshape(-1, group).astype(F32)
    w_max = g.max(axis=1)
    w_min = g.min(axis=1)
    mask = np.abs(w_min) > np.abs(w_max)
    scale = np.maximum((w_max - w_min) / n_bins, F32(1e-7)).astype(F32)
    scale = np.where(mask, scale, -scale).astype(F32)
    edge = np.where(mask, w_min, w_max).astype(F32)
    q0 = np.rint(edge / scale).astype(F32)
    nonzero = q0 != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(nonzero, edge / np.where(nonzero, q0, F32(1)), scale).astype(F32)
    bias = np.where(nonzero, edge, F32(0)).astype(F32)
    q = np.clip(np.rint((g - bias[:, None]) / scale[:, None]), 0, n_bins).astype(np.uint32)
    # Pack into little-endian uint32 words exactly as MLX does, then view as bytes.
    per_word = 32 // bits
    words = q.reshape(q.shape[0], -1, per_word)
    shifts = (np.arange(per_word, dtype=np.uint32) * bits).astype(np.uint32)
    packed = np.bitwise_or.reduce(words << shifts, axis=2).astype("<u4")
    head = np.stack([scale, bias], axis=1).astype("<f4").view(np.uint8)
    return np.concatenate([head, packed.view(np.uint8)], axis=1)


def dequantize(raw, bits, group):
    block = 8 + group * bits // 8
    b = raw.reshape(-1, block)
    scale = b[:, 0:4].copy().view("<f4")[:, 0]
    bias = b[:, 4:8].copy().view("<f4")[:, 0]
    words = b[:, 8:].copy().view("<u4")
    per_word = 32 // bits
    shifts = (np.arange(per_word, dtype=np.uint32) * bits).astype(np.uint32)
    q = ((words[:, :, None] >> shifts) & np.uint32((1 << bits) - 1)).reshape(b.shape[0], group).astype(F32)
    return (scale[:, None] * q + bias[:, None]).astype(F32)


def main(argv):
    if len(argv) != 6 or argv[1] not in ("quantize", "dequantize"):
        sys.exit(__doc__)
    verb, bits, group, src, dst = argv[1], int(argv[2]), int(argv[3]), argv[4], argv[5]
    if bits not in (4, 8) or group not in (32, 64, 128):
        sys.exit(f"unsupported bits {bits} / group {group}")
    if verb == "quantize":
        out = quantize(np.fromfile(src, dtype="<f4"), bits, group)
    else:
        out = dequantize(np.fromfile(src, dtype=np.uint8), bits, group)
    out.tofile(dst)


if __name__ == "__main__":
    main(sys.argv)
