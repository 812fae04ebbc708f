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
  mlx_ref.py dequantize-folder SRC DST              an MLX-quantized HF folder (X.weight uint32 words,
                                                    X.scales, X.biases) -> the same model in float32,
                                                    w = scale * q + bias, for tools/reference/llama_ref.py

All arithmetic is float32, as in mlx's CPU kernel.
"""
import json
import os
import shutil
import struct
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


ST_DTYPES = {"F32": "<f4", "F16": "<f2", "BF16": "bf16", "U32": "<u4", "I32": "<u4"}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[8 + size + begin:8 + size + end]
        kind = ST_DTYPES[info["dtype"]]
        if kind == "bf16":
            array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(F32)
        else:
            array = np.frombuffer(raw, dtype=kind)
        out[name] = array.reshape(info["shape"])
    return out


def write_safetensors_f32(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        blob = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def dequantize_folder(src, dst):
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    quant = config.pop("quantization")
    config.pop("quantization_config", None)
    raw = read_safetensors(os.path.join(src, "model.safetensors"))
    out = {}
    for name, array in raw.items():
        if name.endswith((".scales", ".biases")):
            continue
        module = name[:-len(".weight")] if name.endswith(".weight") else None
        if module is None or module + ".scales" not in raw:
            out[name] = array.astype(F32)
            continue
        own = quant.get(module)
        bits, group = (own or quant)["bits"], (own or quant)["group_size"]
        per_word = 32 // bits
        shifts = np.arange(per_word, dtype=np.uint32) * np.uint32(bits)
        q = (array.astype(np.uint32)[:, :, None] >> shifts) & np.uint32((1 << bits) - 1)
        q = q.reshape(array.shape[0], -1, group).astype(F32)
        scales = raw[module + ".scales"].astype(F32)[:, :, None]
        biases = raw[module + ".biases"].astype(F32)[:, :, None]
        out[name] = (scales * q + biases).astype(F32).reshape(array.shape[0], -1)
    os.makedirs(dst, exist_ok=True)
    write_safetensors_f32(os.path.join(dst, "model.safetensors"), out)
    config["torch_dtype"] = "float32"
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for extra in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        if os.path.exists(os.path.join(src, extra)):
            shutil.copy(os.path.join(src, extra), os.path.join(dst, extra))


def main(argv):
    if len(argv) == 4 and argv[1] == "dequantize-folder":
        dequantize_folder(argv[2], argv[3])
        return
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
