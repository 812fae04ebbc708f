#!/usr/bin/env python3
"""Plots the training and validation loss of an `orchard finetune` log (its "Iter N: Train loss"
and "Iter N: Val loss" lines, as mlx_lm.lora prints them). Usage: plot_loss.py TRAIN.log OUT.png"""
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

log, out = sys.argv[1], sys.argv[2]
train, val = [], []
for line in open(log):
    m = re.match(r"Iter (\d+): (Train|Val) loss ([0-9.]+)", line)
    if m:
        (train if m[2] == "Train" else val).append((int(m[1]), float(m[3])))
plt.figure(figsize=(7, 4))
plt.plot(*zip(*train), label="train (mean of the last 10 steps)", alpha=0.6)
plt.plot(*zip(*val), "o-", label="validation")
plt.xlabel("step (16 sequences of up to 256 tokens)")
plt.ylabel("cross-entropy (nats / token)")
plt.title("orchard-kjv trained from scratch by orchard")
plt.grid(alpha=0.3)
plt.legend()
plt.tight_layout()
plt.savefig(out, dpi=110)
print(f"{out}: {len(train)} train and {len(val)} validation points; last validation loss {val[-1][1]:.3f}")
