#!/usr/bin/env python3
"""Independent PyTorch reference for the llama / qwen2 / qwen3 decoders (Hugging Face semantics).

Reads a Hugging Face folder (config.json + model.safetensors, parsed here with numpy: no
transformers, no safetensors package) and computes the logits of every position of each given
token sequence, each sequence on its own from position 0.

    llama_ref.py MODEL_DIR --tokens 1,2,3 [--tokens 4,5 ...] [--out LOGITS.bin] [--dtype f64|f32]

With --out, the logits are written as little-endian float32, sequences one after another, each
[len, vocab_size] row-major; without it they are printed as JSON {"logits": [[...], ...]}.
Semantics follow transformers' modeling_llama / modeling_qwen2 / modeling_qwen3: rotate-half
rotary embeddings (with linear or llama3 frequency scaling), grouped-query attention by repeating
K/V heads, optional q/k/v biases (qwen2, llama attention_bias), per-head q/k RMSNorm (qwen3),
SwiGLU MLP, and tied embeddings.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

torch.set_num_threads(2)


def load_safetensors(path):
    """Returns {name: float32 numpy array}. Format: u64 header size, JSON header, raw data."""
    with open(path, "rb") as f:
        data = f.read()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_size])
    base = 8 + header_size
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin:base + end]
        dtype = info["dtype"]
        if dtype == "F32":
            array = np.frombuffer(raw, dtype="<f4")
        elif dtype == "F16":
            array = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dtype == "BF16":
            array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            sys.exit(f"{path}: tensor {name}: unsupported dtype {dtype}")
        tensors[name] = array.reshape(info["shape"])
    return tensors


def rope_inv_freq(cfg, head_dim):
    theta = cfg.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    scaling = cfg.get("rope_scaling") or {}
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "linear":
        inv_freq = inv_freq / scaling["factor"]
    elif kind == "llama3":
        # transformers' _compute_llama3_parameters
        factor = scaling["factor"]
        low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
        old_context = scaling["original_max_position_embeddings"]
        low_freq_wavelen, high_freq_wavelen = old_context / low, old_context / high
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_context / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        is_medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
        inv_freq = torch.where(is_medium, smoothed, scaled)
    elif kind not in (None, "default"):
        sys.exit(f"rope_scaling type {kind} is not implemented in the reference")
    return inv_freq


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Reference:
    def __init__(self, folder, dtype):
        with open(os.path.join(folder, "config.json")) as f:
            self.cfg = json.load(f)
        cfg = self.cfg
        self.arch = cfg["model_type"]
        if self.arch not in ("llama", "qwen2", "qwen3", "mistral"):
            sys.exit(f"{folder}: model_type {self.arch} is not implemented in the reference")
        raw = load_safetensors(os.path.join(folder, "model.safetensors"))
        self.w = {name: torch.from_numpy(np.array(a)).to(dtype) for name, a in raw.items()}
        self.n_head = cfg["num_attention_heads"]
        self.n_kv = cfg.get("num_key_value_heads", self.n_head)
        self.head_dim = cfg.get("head_dim") or cfg["hidden_size"] // self.n_head
        self.eps = cfg["rms_norm_eps"]
        self.inv_freq = rope_inv_freq(cfg, self.head_dim).to(dtype)
        self.dtype = dtype

    def linear(self, x, name):
        y = x @ self.w[name + ".weight"].T
        bias = self.w.get(name + ".bias")
        return y if bias is None else y + bias

    def attention(self, x, prefix, cos, sin):
        n = x.shape[0]
        q = self.linear(x, prefix + "q_proj").view(n, self.n_head, self.head_dim)
        k = self.linear(x, prefix + "k_proj").view(n, self.n_kv, self.head_dim)
        v = self.linear(x, prefix + "v_proj").view(n, self.n_kv, self.head_dim)
        if self.arch == "qwen3":
            q = rms_norm(q, self.w[prefix + "q_norm.weight"], self.eps)
            k = rms_norm(k, self.w[prefix + "k_norm.weight"], self.eps)
        q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)  # [heads, n, d]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = self.n_head // self.n_kv  # repeat_kv
        k = k.repeat_interleave(groups, dim=0)
        v = v.repeat_interleave(groups, dim=0)
        scores = q @ k.transpose(1, 2) / math.sqrt(self.head_dim)
        causal = torch.ones(n, n, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v  # [heads, n, d]
        return self.linear(out.transpose(0, 1).reshape(n, -1), prefix + "o_proj")

    def logits(self, tokens):
        cfg = self.cfg
        x = self.w["model.embed_tokens.weight"][torch.tensor(tokens)]
        positions = torch.arange(len(tokens), dtype=self.dtype)
        freqs = positions[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        for layer in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{layer}."
            h = rms_norm(x, self.w[p + "input_layernorm.weight"], self.eps)
            x = x + self.attention(h, p + "self_attn.", cos, sin)
            h = rms_norm(x, self.w[p + "post_attention_layernorm.weight"], self.eps)
            gate = self.linear(h, p + "mlp.gate_proj")
            x = x + self.linear(torch.nn.functional.silu(gate) * self.linear(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        return self.lm_head(rms_norm(x, self.w["model.norm.weight"], self.eps))

    def head_name(self):
        """The LM head's weight: the embedding when tied."""
        tied = "lm_head.weight" not in self.w or self.cfg.get("tie_word_embeddings", False)
        return "model.embed_tokens.weight" if tied else "lm_head.weight"

    def lm_head(self, x):
        return x @ self.w[self.head_name()].T


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--tokens", action="append", required=True, help="comma-separated ids (repeatable)")
    parser.add_argument("--out", help="write float32 logits here instead of printing JSON")
    parser.add_argument("--dtype", choices=["f64", "f32"], default="f64")
    args = parser.parse_args()

    ref = Reference(args.model_dir, torch.float64 if args.dtype == "f64" else torch.float32)
    with torch.no_grad():
        results = [ref.logits([int(t) for t in seq.split(",")]) for seq in args.tokens]
    if args.out:
        with open(args.out, "wb") as f:
            for r in results:
                f.write(r.to(torch.float32).numpy().astype("<f4").tobytes())
    else:
        json.dump({"logits": [row for r in results for row in r.tolist()]}, sys.stdout)
        print()


if __name__ == "__main__":
    main()
