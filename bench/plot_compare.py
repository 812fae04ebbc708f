#!/usr/bin/env python3
"""Plots the results of bench/compare-llama-cpp.sh: tokens/s of orchard and llama.cpp for each
model and format, prompt processing and generation side by side (median over the rounds,
error bars one standard deviation).

    python3 bench/plot_compare.py docs/benchmarks.json docs/benchmarks.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt

ENGINES = [("orchard", "#2e7d32"), ("llama.cpp", "#546e7a")]


def main(results_path, out_path):
    results = json.load(open(results_path))
    models = [m for m in results["models"] if m["status"] == "ok"]
    labels = ["%s\n%s" % (m["preset"], m["dtype"]) for m in models]
    tests = [("pp", "prompt processing (pp%d)" % results["n_prompt"]), ("tg", "generation (tg%d)" % results["n_gen"])]
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.6 * len(models) * 2), 4.5))
    width = 0.38
    for ax, (test, title) in zip(axes, tests):
        for i, (engine, color) in enumerate(ENGINES):
            stats = [m["summary"]["%s_%s" % (engine, test)] for m in models]
            xs = [x + (i - 0.5) * width for x in range(len(models))]
            heights = [s["median"] if s else 0 for s in stats]
            errors = [s["stddev"] if s else 0 for s in stats]
            bars = ax.bar(xs, heights, width, yerr=errors, capsize=3, color=color, label=engine)
            ax.bar_label(bars, labels=["%.1f" % h if h else "n/a" for h in heights], fontsize=7, padding=2)
        ax.set_title(title)
        ax.set_ylabel("tokens/s")
        ax.set_xticks(range(len(models)), labels, fontsize=8)
        ax.margins(y=0.15)
        ax.legend(fontsize=8)
    m = results["machine"]
    fig.suptitle("orchard %s vs llama.cpp (%s), %d threads\n%s, %s" % (
        m["orchard_commit"].split(" ")[0], m["peer"].split(" (")[0], results["threads"], m["cpu"], m["date_utc"]),
        fontsize=9)
    fig.tight_layout()
    fig.savefig(out_path, dpi=120)
    print("wrote", out_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
