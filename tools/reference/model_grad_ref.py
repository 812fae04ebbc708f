#!/usr/bin/env python3
"""PyTorch autograd reference for orchard's training tape (tests/test_train_tape.cpp).

    model_grad_ref.py DIR

DIR/spec.json:
    {"model_dir": HF folder (config.json + model.safetensors),
     "sequences": [[ids], ...], "targets": [[ids, -100 = ignored], ...],
     "adapters": [{"name": "blk.0.attn_q.weight", "hf_weight": "model.layers.0.self_attn.q_proj.weight",
                   "scale": 2.0, "dora": false}, ...],      (optional: LoRA / DoRA)
     "fd": [["model.layers.0.mlp.up_proj.weight", 17], ...],  (optional)
     "q8_0_inputs": [hf weight names]}  (optional: a quantized base, see below)

The model is llama_ref.py's (Hugging Face semantics) in float64, each sequence on its own
from position 0. The loss is the mean cross-entropy over every non-ignored target of all
sequences. Adapters read DIR/<name>.lora_a.bin ({rank, in}), .lora_b.bin ({out, rank}) and
.dora_m.bin ({out}) as float32 and add mlx_lm's LoRALinear / DoRALinear path to that weight's
linear: y = x W^T + scale (x A^T) B^T, DoRA y = m / stop_gradient(||W + scale B A||_row) * that,
then the bias. Writes DIR/loss.bin (float64); without adapters, DIR/grad_<hf name>.bin for
every weight, else DIR/grad_<name>.lora_a.bin / .lora_b.bin / .dora_m.bin (float32); and for
"fd", DIR/fd.bin: central finite differences of the loss in float64, one per listed scalar.

A block-quantized base (QLoRA) multiplies its weights against activations rounded to q8_0
blocks, as llama.cpp and orchard do; for the weights in "q8_0_inputs" the reference rounds the
input of x W^T the same way (quant_ref.py's codec) with a straight-through gradient, which is
the gradient orchard's tape uses.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_ref import Reference, rms_norm  # noqa: E402
from quant_ref import decode_q8_0, encode_q8_0  # noqa: E402

torch.set_num_threads(2)


class AdaptedModel(Reference):
    def __init__(self, folder, adapters, q8_0_inputs):
        super().__init__(folder, torch.float64)
        self.adapters = adapters  # hf weight name -> {"a", "b", "m" (or None), "scale"}
        self.q8_0_inputs = set(q8_0_inputs)

    def base_product(self, x, weight_name):
        w = self.w[weight_name]
        if weight_name in self.q8_0_inputs:
            blocks = x.detach().to(torch.float32).numpy().reshape(-1, 32)
            rounded = torch.from_numpy(decode_q8_0(encode_q8_0(blocks)).reshape(x.shape)).to(x.dtype)
            x = x + (rounded - x).detach()
        return x @ w.T

    def linear(self, x, name):
        ad = self.adapters.get(name + ".weight")
        bias = self.w.get(name + ".bias")
        if ad is None:
            y = self.base_product(x, name + ".weight")
            return y if bias is None else y + bias
        w = self.w[name + ".weight"]
        y = self.base_product(x, name + ".weight") + ad["scale"] * ((x @ ad["a"].T) @ ad["b"].T)
        if ad["m"] is not None:
            denom = torch.linalg.norm(w + ad["scale"] * (ad["b"] @ ad["a"]), dim=1).detach()
            y = (ad["m"] / denom) * y
        return y if bias is None else y + bias

    def lm_head(self, x):
        """The LM head through base_product too (its input rounding on quantized heads)."""
        return self.base_product(x, self.head_name())


def loss_of(model, sequences, targets):
    logits = torch.cat([model.logits(s) for s in sequences])
    flat = torch.tensor([t for ts in targets for t in ts])
    return torch.nn.functional.cross_entropy(logits, flat, ignore_index=-100, reduction="mean")


def main():
    folder = sys.argv[1]
    with open(os.path.join(folder, "spec.json")) as f:
        spec = json.load(f)

    def read(name, shape):
        return torch.from_numpy(np.fromfile(os.path.join(folder, name + ".bin"), dtype="<f4").reshape(shape).copy()).to(
            torch.float64)

    adapters, trained = {}, {}
    probe = Reference(spec["model_dir"], torch.float64)
    for ad in spec.get("adapters", []):
        w = probe.w[ad["hf_weight"]]
        out, _ = w.shape
        a = read(ad["name"] + ".lora_a", (-1, w.shape[1])).requires_grad_()
        b = read(ad["name"] + ".lora_b", (out, -1)).requires_grad_()
        m = read(ad["name"] + ".dora_m", (out,)).requires_grad_() if ad["dora"] else None
        adapters[ad["hf_weight"]] = {"a": a, "b": b, "m": m, "scale": ad["scale"]}
        trained[ad["name"] + ".lora_a"], trained[ad["name"] + ".lora_b"] = a, b
        if m is not None:
            trained[ad["name"] + ".dora_m"] = m
    model = AdaptedModel(spec["model_dir"], adapters, spec.get("q8_0_inputs", []))
    if not adapters:
        for name, w in model.w.items():
            trained[name] = w.requires_grad_()

    loss = loss_of(model, spec["sequences"], spec["targets"])
    loss.backward()
    np.array([loss.item()], dtype="<f8").tofile(os.path.join(folder, "loss.bin"))
    for name, t in trained.items():
        grad = t.grad if t.grad is not None else torch.zeros_like(t)
        grad.detach().numpy().astype("<f4").tofile(os.path.join(folder, "grad_" + name + ".bin"))

    fd = []
    with torch.no_grad():
        for name, index in spec.get("fd", []):
            t = model.w[name].view(-1)
            h = 1e-4 * max(1.0, abs(t[index].item()))
            keep = t[index].item()
            t[index] = keep + h
            up = loss_of(model, spec["sequences"], spec["targets"]).item()
            t[index] = keep - h
            down = loss_of(model, spec["sequences"], spec["targets"]).item()
            t[index] = keep
            fd.append((up - down) / (2 * h))
    if fd:
        np.array(fd, dtype="<f8").tofile(os.path.join(folder, "fd.bin"))


if __name__ == "__main__":
    main()
