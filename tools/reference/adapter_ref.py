#!/usr/bin/env python3
"""Independent PyTorch reference for LoRA / DoRA adapter files (MLX LM and Hugging Face PEFT layouts).

    adapter_ref.py MODEL_DIR ADAPTER_DIR [--write mlx|peft [--dora] [--seed S]] --tokens 1,2,3 ... --out LOGITS.bin

With --write, first writes a random adapter (A and B both nonzero, rank 4, on q/k/v/o and down
projections of every layer) into ADAPTER_DIR in that layout. Then reads ADAPTER_DIR by the
layout's own names (MLX LM: adapters.safetensors, "<module>.lora_a" [in, r], ".lora_b" [r, out],
".m"; PEFT: adapter_model.safetensors, "base_model.model.<module>.lora_A.weight" [r, in],
".lora_B.weight" [out, r], ".lora_magnitude_vector") and writes the logits of the adapted model
(llama_ref.py's decoder, every adapted linear replaced by mlx_lm's LoRALinear / DoRALinear, which
PEFT computes identically) as float32, sequences one after another.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_ref import Reference, load_safetensors  # noqa: E402


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


MODULES = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.down_proj"]


def write_random(ref, folder, layout, dora, seed):
    """Random adapter in `layout`; returns nothing, the reader below reads it back from disk."""
    gen = np.random.default_rng(seed)
    rank, n_layer = 4, ref.cfg["num_hidden_layers"]
    alpha = 8.0
    scale = alpha / rank if layout == "peft" else 2.0
    tensors = {}
    for layer in range(n_layer):
        for module in MODULES:
            name = f"model.layers.{layer}.{module}"
            w = ref.w[name + ".weight"].numpy()
            out_f, in_f = w.shape
            a = gen.normal(0, 1 / math.sqrt(in_f), (rank, in_f))
            b = gen.normal(0, 0.5 / math.sqrt(rank), (out_f, rank))
            m = np.linalg.norm(w + scale * b @ a, axis=1) * gen.uniform(0.8, 1.2, out_f)
            if layout == "mlx":
                tensors[name + ".lora_a"], tensors[name + ".lora_b"] = a.T, b.T
                if dora:
                    tensors[name + ".m"] = m
            else:
                p = "base_model.model." + name
                tensors[p + ".lora_A.weight"], tensors[p + ".lora_B.weight"] = a, b
                if dora:
                    tensors[p + ".lora_magnitude_vector"] = m
    os.makedirs(folder, exist_ok=True)
    if layout == "mlx":
        config = {"fine_tune_type": "dora" if dora else "lora", "num_layers": n_layer,
                  "lora_parameters": {"rank": rank, "scale": scale, "dropout": 0.0, "keys": MODULES}}
        save_safetensors(os.path.join(folder, "adapters.safetensors"), tensors)
    else:
        config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": rank, "lora_alpha": alpha, "lora_dropout": 0.0,
                  "target_modules": [m.split(".")[-1] for m in MODULES], "use_dora": dora, "use_rslora": False}
        save_safetensors(os.path.join(folder, "adapter_model.safetensors"), tensors)
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)


def read_adapters(folder, dtype):
    """{module: (A [r, in], B [out, r], m or None, scale)} from either layout."""
    with open(os.path.join(folder, "adapter_config.json")) as f:
        config = json.load(f)
    result = {}
    to = lambda a: torch.from_numpy(np.array(a)).to(dtype)  # noqa: E731
    if "lora_parameters" in config:
        scale = config["lora_parameters"]["scale"]
        t = load_safetensors(os.path.join(folder, "adapters.safetensors"))
        for name in t:
            if name.endswith(".lora_a"):
                module = name[: -len(".lora_a")]
                m = t.get(module + ".m")
                result[module] = (to(t[name]).T, to(t[module + ".lora_b"]).T, None if m is None else to(m), scale)
    else:
        r = config["r"]
        scale = config["lora_alpha"] / (math.sqrt(r) if config.get("use_rslora") else r)
        t = load_safetensors(os.path.join(folder, "adapter_model.safetensors"))
        for name in t:
            if name.endswith(".lora_A.weight"):
                stem = name[: -len(".lora_A.weight")]
                m = t.get(stem + ".lora_magnitude_vector")
                result[stem[len("base_model.model."):]] = (to(t[name]), to(t[stem + ".lora_B.weight"]),
                                                           None if m is None else to(m), scale)
    return result


class AdaptedReference(Reference):
    def __init__(self, folder, adapters, dtype):
        super().__init__(folder, dtype)
        self.adapters = adapters

    def linear(self, x, name):
        adapter = self.adapters.get(name)
        if adapter is None:
            return super().linear(x, name)
        a, b, m, scale = adapter
        w = self.w[name + ".weight"]
        y = x @ w.T + scale * (x @ a.T) @ b.T
        if m is not None:  # DoRA: m / ||W + scale B A|| per output row
            y = y * (m / torch.linalg.norm(w + scale * b @ a, dim=1))
        bias = self.w.get(name + ".bias")
        return y if bias is None else y + bias


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("adapter_dir")
    parser.add_argument("--write", choices=["mlx", "peft"])
    parser.add_argument("--dora", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tokens", action="append", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    dtype = torch.float64
    if args.write:
        write_random(Reference(args.model_dir, dtype), args.adapter_dir, args.write, args.dora, args.seed)
    ref = AdaptedReference(args.model_dir, read_adapters(args.adapter_dir, dtype), dtype)
    with torch.no_grad(), open(args.out, "wb") as f:
        for seq in args.tokens:
            f.write(ref.logits([int(t) for t in seq.split(",")]).to(torch.float32).numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
