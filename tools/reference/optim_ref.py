#!/usr/bin/env python3
"""torch.optim reference for orchard's optimizers (tests/test_train_optimizer.cpp).

    optim_ref.py SPEC.json OUT.json

SPEC.json holds a list of cases; each runs torch.optim.AdamW or SGD over the same parameters
and per-step gradients orchard used, with the per-step learning rates given (orchard's
schedule), clipping with torch.nn.utils.clip_grad_norm_ before each step when max_norm > 0:

    {"cases": [{"optimizer": {"name": "adamw", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                              "weight_decay": 0.01, "momentum": 0.9},
                "max_norm": 1.0, "lrs": [...], "params": [[...], ...], "grads": [[[...], ...], ...]}],
     "schedules": [{"name": "cosine", "learning_rate": 1e-3, "warmup": 3, "warmup_init": 0,
                    "final_lr": 0, "decay_steps": 10, "total_steps": 20}]}

OUT.json: {"cases": [{"params": [[...], ...] (after the last step), "norms": [...]}],
           "schedules": [[lr per step, ...]]} where a schedule's rates come from MLX LM's
build_schedule (mlx_lm/tuner/utils.py: join_schedules([linear_schedule(warmup_init, lr,
warmup), schedule], [warmup + 1]) with mlx.optimizers' closed forms), written out here because
mlx only runs on Apple silicon.
"""
import json
import math
import sys

import torch


def run_case(case):
    o = case["optimizer"]
    params = [torch.tensor(p, dtype=torch.float32, requires_grad=True) for p in case["params"]]
    if o["name"] == "adamw":
        opt = torch.optim.AdamW(params, lr=1.0, betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                                weight_decay=o["weight_decay"])
    else:
        opt = torch.optim.SGD(params, lr=1.0, momentum=o["momentum"], weight_decay=o["weight_decay"])
    norms = []
    for lr, grads in zip(case["lrs"], case["grads"]):
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g, dtype=torch.float32)
        if case["max_norm"] > 0:
            norms.append(float(torch.nn.utils.clip_grad_norm_(params, case["max_norm"])))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
    return {"params": [p.detach().tolist() for p in params], "norms": norms}


# mlx.optimizers.schedulers, as functions of the step.
def linear_schedule(init, end, steps):
    return lambda step: min(step, steps) * ((end - init) / steps) + init


def cosine_decay(init, decay_steps, end=0.0):
    return lambda step: end + 0.5 * (1.0 + math.cos(math.pi / decay_steps * min(step, decay_steps))) * (init - end)


def join_schedules(schedules, boundaries):
    def schedule(step):
        out = schedules[0](step)
        for boundary, s in zip(boundaries, schedules[1:]):
            out = out if step < boundary else s(step - boundary)
        return out
    return schedule


def mlx_schedule(s):
    lr, total = s["learning_rate"], s["total_steps"]
    decay = s["decay_steps"] or total - s["warmup"]  # orchard's "rest of the run"
    if s["name"] == "constant":
        main = lambda step: lr
    elif s["name"] == "cosine":
        main = cosine_decay(lr, decay, s["final_lr"])
    else:
        main = linear_schedule(lr, s["final_lr"], decay)
    if s["warmup"]:
        main = join_schedules([linear_schedule(s["warmup_init"], lr, s["warmup"]), main], [s["warmup"] + 1])
    return [main(step) for step in range(total)]


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    out = {"cases": [run_case(c) for c in spec.get("cases", [])],
           "schedules": [mlx_schedule(s) for s in spec.get("schedules", [])]}
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
