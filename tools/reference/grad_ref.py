#!/usr/bin/env python3
"""PyTorch autograd reference for orchard's backward kernels (tests/test_kernels_backward.cpp).

    grad_ref.py DIR [DIR ...]

Each DIR is one op (one process for many: importing torch costs more than the ops).
DIR/spec.json names the op, its parameters and its inputs; each input NAME is DIR/NAME.bin
(little-endian, row-major, float32 or int32 as the spec says). The op's scalar loss is formed
in float64 (for ops with an output y and an input "dy": sum(y * dy), so the gradients are the
vector-Jacobian products against dy) and torch.autograd gives the gradient of every input
listed in spec["grads"], written as DIR/grad_NAME.bin (float32); forward values the op
reports (e.g. attention's out and lse, the loss) are written as DIR/value_NAME.bin.

    {"op": "rms_norm", "params": {"eps": 1e-5},
     "inputs": {"x": {"shape": [3, 7], "dtype": "f32"}, ...}, "grads": ["x", "weight"]}
"""
import json
import math
import os
import sys

import numpy as np
import torch

torch.set_num_threads(2)


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, positions, inv_freq, style, attn_factor):
    """x [T, heads, head_dim]; rotates the first 2 * len(inv_freq) dims of each head."""
    half = inv_freq.shape[0]
    # The angle is the f32 product position * frequency, as in the kernel and the HF models.
    angle = (positions.to(torch.float32)[:, None] * inv_freq.to(torch.float32)[None, :]).to(torch.float64)
    cos = (torch.cos(angle) * attn_factor)[:, None, :]
    sin = (torch.sin(angle) * attn_factor)[:, None, :]
    rot, rest = x[..., :2 * half], x[..., 2 * half:]
    if style == "interleaved":
        a, b = rot[..., 0::2], rot[..., 1::2]
        rotated = torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).flatten(-2)
    else:
        a, b = rot[..., :half], rot[..., half:]
        rotated = torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)
    return torch.cat([rotated, rest], dim=-1)


def attention(q, k, v, n_heads, n_kv_heads, scale):
    """q [T, H, D], k/v [T, Hkv, D] -> out [T, H, D], lse [T, H]; causal, GQA by repeat."""
    group = n_heads // n_kv_heads
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    T = q.shape[0]
    scores = torch.einsum("thd,shd->hts", q, k) * scale
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    lse = torch.logsumexp(scores, dim=-1)  # [H, T]
    out = torch.einsum("hts,shd->thd", torch.softmax(scores, dim=-1), v)
    return out, lse.transpose(0, 1)


def cross_entropy(logits, targets):
    return torch.nn.functional.cross_entropy(logits, targets.long(), ignore_index=-100, reduction="mean")


def block(t, p):
    """Embedding -> one Llama block -> output matmul -> cross-entropy."""
    H, Hkv, D = p["n_heads"], p["n_kv_heads"], p["head_dim"]
    T = t["ids"].shape[0]
    x = t["table"][t["ids"].long()]
    h = rms_norm(x, t["attn_norm"], p["eps"])
    q = (h @ t["wq"].T).reshape(T, H, D)
    k = (h @ t["wk"].T).reshape(T, Hkv, D)
    v = (h @ t["wv"].T).reshape(T, Hkv, D)
    q = rope(q, t["positions"], t["inv_freq"], p["style"], 1.0)
    k = rope(k, t["positions"], t["inv_freq"], p["style"], 1.0)
    attn, _ = attention(q, k, v, H, Hkv, p["scale"])
    x = x + attn.reshape(T, H * D) @ t["wo"].T
    h = rms_norm(x, t["ffn_norm"], p["eps"])
    gate = h @ t["wgate"].T
    x = x + (torch.nn.functional.silu(gate) * (h @ t["wup"].T)) @ t["wdown"].T
    loss = cross_entropy(x @ t["wout"].T, t["targets"])
    return loss, {"loss": loss}


def attention_op(t, p):
    out, lse = attention(t["q"], t["k"], t["v"], p["n_heads"], p["n_kv_heads"], p["scale"])
    return (out * t["dy"]).sum(), {"out": out, "lse": lse}


# Each op: (tensors, params) -> (scalar loss, {name: forward value to report}).
OPS = {
    "matmul": lambda t, p: ((t["x"] @ t["w"].T * t["dy"]).sum(), {}),
    "get_rows": lambda t, p: ((t["table"][t["ids"].long()] * t["dy"]).sum(), {}),
    "add_bias": lambda t, p: (((t["x"] + t["bias"]) * t["dy"]).sum(), {}),
    "rms_norm": lambda t, p: ((rms_norm(t["x"], t["weight"], p["eps"]) * t["dy"]).sum(), {}),
    "rope": lambda t, p: ((rope(t["x"], t["positions"], t["inv_freq"], p["style"], p["attn_factor"]) * t["dy"]).sum(),
                          {}),
    "silu_mul": lambda t, p: ((torch.nn.functional.silu(t["gate"]) * t["up"] * t["dy"]).sum(), {}),
    "cross_entropy": lambda t, p: (lambda loss: (loss, {"loss": loss}))(cross_entropy(t["logits"], t["targets"])),
    "attention": attention_op,
    "block": block,
}


def run(folder):
    with open(os.path.join(folder, "spec.json")) as f:
        spec = json.load(f)
    tensors = {}
    for name, info in spec["inputs"].items():
        dtype = "<f4" if info["dtype"] == "f32" else "<i4"
        array = np.fromfile(os.path.join(folder, name + ".bin"), dtype=dtype)
        if array.size != math.prod(info["shape"]):
            sys.exit(f"{folder}/{name}.bin: {array.size} values, spec shape {info['shape']}")
        tensor = torch.from_numpy(array.reshape(info["shape"]).copy())
        if info["dtype"] == "f32":
            tensor = tensor.to(torch.float64).requires_grad_(name in spec["grads"])
        tensors[name] = tensor
    if spec["op"] not in OPS:
        sys.exit(f"grad_ref.py: unknown op {spec['op']}")
    loss, values = OPS[spec["op"]](tensors, spec.get("params", {}))
    loss.backward()
    for name in spec["grads"]:
        grad = tensors[name].grad
        if grad is None:
            grad = torch.zeros_like(tensors[name])
        grad.detach().numpy().astype("<f4").tofile(os.path.join(folder, "grad_" + name + ".bin"))
    for name, value in values.items():
        value.detach().numpy().astype("<f4").tofile(os.path.join(folder, "value_" + name + ".bin"))


def main():
    for folder in sys.argv[1:]:
        run(folder)


if __name__ == "__main__":
    main()
