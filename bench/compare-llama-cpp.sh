#!/usr/bin/env bash
# orchard vs llama.cpp on the same GGUF files with the same thread count. The two engines run
# interleaved (orchard, llama.cpp, orchard, ... for every model in every round) so background
# load hits both alike. Prints a markdown table of medians over the rounds with the
# orchard/llama.cpp ratios and orchard's decode roofline fraction, writes every sample and the
# machine details to a JSON file, and plots it (bench/plot_compare.py).
#
#   bench/compare-llama-cpp.sh [-b BUILD_DIR] [-t THREADS] [-p PROMPT] [-n GEN] [-r ROUNDS]
#                              [-c CACHE_DIR] [-o RESULTS.json] [-g PLOT.png] [-f FORMATS] [-m PRESETS]
#                              [-T SECONDS]
#
# Defaults: build/, 2 threads, pp512, tg128, 3 rounds, BUILD_DIR/test-cache, docs/benchmarks.json,
# docs/benchmarks.png, formats q8_0,q4_0,q4_k_m, presets tinyllama-1.1b,llama-3.2-1b, no time
# limit per engine run (-T: a run that takes longer is recorded as failed, e.g. on a loaded
# machine where llama.cpp's spinning threads crawl).
# Models: random weights with the exact shapes of TinyLlama-1.1B (Llama 2 SPM vocab) and
# Llama-3.2-1B (128256-row embedding; the GPT-2 BPE vocab padded to it, as speed does not
# depend on the token strings), written once by `orchard testmodel` into CACHE_DIR under names
# that match tests/test_cli_llamacpp_greedy.cpp's cache. A format testmodel cannot write, or
# an engine cannot run, is reported as unavailable and the rest goes on.
# The commit recorded is the build's source tree's (ORCHARD_COMMIT overrides it).
# Needs node and the llama.cpp peer (../shared/peers/llama-cpp.mjs, installed in
# ORCHARD_PEER_DIR, default /tmp/orchard-peer) and python3 with matplotlib for the plot.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
build="$here/build"
threads=2 pp=512 tg=128 rounds=3 cache="" results="$here/docs/benchmarks.json" plot="$here/docs/benchmarks.png"
formats="q8_0,q4_0,q4_k_m" presets="tinyllama-1.1b,llama-3.2-1b" limit=0
while getopts "b:t:p:n:r:c:o:g:f:m:T:" opt; do
  case "$opt" in
    b) build="$OPTARG" ;;
    t) threads="$OPTARG" ;;
    p) pp="$OPTARG" ;;
    n) tg="$OPTARG" ;;
    r) rounds="$OPTARG" ;;
    c) cache="$OPTARG" ;;
    o) results="$OPTARG" ;;
    g) plot="$OPTARG" ;;
    f) formats="$OPTARG" ;;
    m) presets="$OPTARG" ;;
    T) limit="$OPTARG" ;;
    *) sed -n '2,24p' "$0"; exit 2 ;;
  esac
done

orchard="$build/orchard"
shared="${ORCHARD_SHARED_DIR:-$here/../shared}"
peer="$shared/peers/llama-cpp.mjs"
peer_dir="${ORCHARD_PEER_DIR:-/tmp/orchard-peer}"
cache="${cache:-$build/test-cache}"
python=/usr/bin/python3
[[ -x "$python" ]] || python=python3
[[ -x "$orchard" ]] || { echo "no orchard binary at $orchard (build it, or pass -b BUILD_DIR)" >&2; exit 1; }
[[ -f "$peer" ]] || { echo "llama.cpp peer script not found: $peer" >&2; exit 1; }
[[ -d "$peer_dir/node_modules/node-llama-cpp" ]] ||
  { echo "llama.cpp peer not installed in $peer_dir (run $shared/peers/install-llama-cpp.sh)" >&2; exit 1; }
command -v node >/dev/null || { echo "node is not installed" >&2; exit 1; }
mkdir -p "$cache" "$(dirname "$results")"

vocab_for() {
  case "$1" in
    tinyllama-1.1b) echo "llama-spm|$shared/data/tokenizer-tests/ggml-vocab-llama-spm.gguf" ;;
    llama-3.2-1b) echo "gpt-2|$shared/data/tokenizer-tests/ggml-vocab-gpt-2.gguf" ;;
    *) echo "no vocab known for preset $1" >&2; exit 2 ;;
  esac
}

raw="$(mktemp)"  # one JSON object per line: status records and samples
trap 'rm -f "$raw"' EXIT
record() { "$python" -c 'import json,sys; print(json.dumps(dict(zip(sys.argv[1::2], sys.argv[2::2]))))' "$@" >>"$raw"; }

# Write the models (once), remember which are available.
available=()
for preset in ${presets//,/ }; do
  IFS='|' read -r vocab_name vocab <<<"$(vocab_for "$preset")"
  for dtype in ${formats//,/ }; do
    name="$preset-$dtype-$vocab_name"
    file="$cache/$name-seed1.gguf"
    if [[ ! -f "$file" ]]; then
      echo "writing $file ..." >&2
      if ! err="$("$orchard" testmodel --preset "$preset" --dtype "$dtype" --seed 1 --vocab "$vocab" \
                    -o "$cache/$name.partial.gguf" 2>&1 >/dev/null)"; then
        why="orchard testmodel cannot write $dtype: $(tail -n 1 <<<"$err")"
        echo "$name: unavailable ($why)" >&2
        rm -f "$cache/$name.partial.gguf"
        record kind status model "$name" preset "$preset" dtype "$dtype" status unavailable reason "$why"
        continue
      fi
      mv "$cache/$name.partial.gguf" "$file"
    fi
    record kind status model "$name" preset "$preset" dtype "$dtype" status ok file "$file"
    available+=("$name|$file")
  done
done

failure() { [[ "$1" == 124 ]] && echo "timed out after $limit s" || echo "exit $1: $(tail -n 1 <<<"$2")"; }

# Interleaved rounds. A failing run is recorded with its error and does not stop the others.
for ((round = 1; round <= rounds; round++)); do
  for entry in "${available[@]}"; do
    IFS='|' read -r name file <<<"$entry"
    echo "round $round/$rounds: $name" >&2
    if out="$(timeout "$limit" "$orchard" bench -m "$file" -t "$threads" -p "$pp" -n "$tg" -r 1 --json 2>&1 >"$raw.run")"; then
      record kind sample engine orchard model "$name" round "$round" json "$(cat "$raw.run")"
    else
      record kind error engine orchard model "$name" round "$round" reason "$(failure $? "$out")"
    fi
    if out="$(ORCHARD_PEER_DIR="$peer_dir" timeout "$limit" node "$peer" bench "$file" --pp "$pp" --tg "$tg" --threads "$threads" \
                2>&1 >"$raw.run")"; then
      record kind sample engine llama.cpp model "$name" round "$round" json "$(cat "$raw.run")"
    else
      record kind error engine llama.cpp model "$name" round "$round" reason "$(failure $? "$out")"
    fi
  done
done
rm -f "$raw.run"

"$python" - "$raw" "$results" "$here" "$build" "$peer_dir" "$threads" "$pp" "$tg" "$rounds" <<'EOF'
import datetime, glob, json, os, platform, re, statistics, subprocess, sys
raw, results_path, repo, build, peer_dir, threads, pp, tg, rounds = sys.argv[1:]
records = [json.loads(line) for line in open(raw)]

def run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""

def cpuinfo(key):
    for line in open("/proc/cpuinfo"):
        if line.startswith(key):
            return line.split(":", 1)[1].strip()
    return ""

def compiler():
    cache = os.path.join(build, "CMakeCache.txt")
    cxx = "c++"
    if os.path.exists(cache):
        m = re.search(r"^CMAKE_CXX_COMPILER:\w+=(.*)$", open(cache).read(), re.M)
        cxx = m.group(1) if m else cxx
    return run(cxx, "--version").splitlines()[0] if run(cxx, "--version") else cxx

def peer_version():
    meta = os.path.join(peer_dir, "node_modules/node-llama-cpp/package.json")
    bins = glob.glob(os.path.join(peer_dir, "node_modules/@node-llama-cpp/*/bins/*/_nlcBuildMetadata.json"))
    v = "node-llama-cpp " + json.load(open(meta))["version"] if os.path.exists(meta) else "node-llama-cpp ?"
    if bins:
        v += " (llama.cpp release %s, prebuilt CPU binaries)" % json.load(open(bins[0]))["buildOptions"]["llamaCpp"]["release"]
    return v

def source_commit():
    # The commit the binary was built from: ORCHARD_COMMIT when given (a build from an exported
    # snapshot has no git), else the build's source tree, else this checkout.
    if os.environ.get("ORCHARD_COMMIT"):
        return os.environ["ORCHARD_COMMIT"]
    cache = os.path.join(build, "CMakeCache.txt")
    m = re.search(r"^CMAKE_HOME_DIRECTORY:\w+=(.*)$", open(cache).read(), re.M) if os.path.exists(cache) else None
    src = m.group(1) if m else repo
    commit = run("git", "-C", src, "rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown (built from %s, not a git checkout)" % src
    if run("git", "-C", src, "status", "--porcelain", "--untracked-files=no"):
        commit += " (working tree with uncommitted changes)"
    return commit

commit = source_commit()
flags = cpuinfo("flags").split()
mem_kib = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
machine = {
    "cpu": cpuinfo("model name"),
    "cpu_family_model": "%s/%s" % (cpuinfo("cpu family"), cpuinfo("model")),
    "logical_cpus": os.cpu_count(),
    "isa_flags": [f for f in flags if re.match(r"avx512|amx|avx_vnni|avx2$|fma$|f16c$", f)],
    "ram_gib": round(mem_kib / 2**20, 1),
    "kernel": platform.release(),
    "compiler": compiler(),
    "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "orchard_commit": commit,
    "peer": peer_version(),
    "load_average": open("/proc/loadavg").read().split()[:3],
}

models = {}
for r in records:
    if r["kind"] == "status":
        models[r["model"]] = {"model": r["model"], "preset": r["preset"], "dtype": r["dtype"], "status": r["status"],
                              "reason": r.get("reason"), "orchard": [], "llama.cpp": [], "errors": []}
for r in records:
    if r["kind"] == "sample":
        models[r["model"]][r["engine"]].append(json.loads(r["json"]))
    elif r["kind"] == "error":
        models[r["model"]]["errors"].append({"engine": r["engine"], "round": int(r["round"]), "reason": r["reason"]})

def summary(samples, key):
    v = [s[key] for s in samples if key in s]
    return {"median": statistics.median(v), "stddev": statistics.stdev(v) if len(v) > 1 else 0.0, "n": len(v)} if v else None

for m in models.values():
    o, p = m["orchard"], m["llama.cpp"]
    m["summary"] = {
        "orchard_pp": summary(o, "pp_tok_s"), "orchard_tg": summary(o, "tg_tok_s"),
        "llama.cpp_pp": summary(p, "pp_tok_s"), "llama.cpp_tg": summary(p, "tg_tok_s"),
        "orchard_roofline_frac": summary(o, "roofline_frac"), "read_bw_gb_s": summary(o, "read_bw_gb_s"),
        "model_bytes": o[0]["model_bytes"] if o else None, "bytes_per_token": o[0]["bytes_per_token"] if o else None,
    }

out = {"machine": machine, "threads": int(threads), "n_prompt": int(pp), "n_gen": int(tg), "rounds": int(rounds),
       "models": list(models.values())}
with open(results_path, "w") as f:
    json.dump(out, f, indent=1)

def cell(s):
    return "%.2f ± %.2f" % (s["median"], s["stddev"]) if s else "n/a"
def ratio(a, b):
    return "%.2f" % (a["median"] / b["median"]) if a and b else "n/a"
print("| model (random weights) | format | pp%s orchard | pp%s llama.cpp | ratio | tg%s orchard | tg%s llama.cpp | ratio | orchard tg / roofline |" % (pp, pp, tg, tg))
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for m in models.values():
    s = m["summary"]
    if m["status"] != "ok":
        print("| %s | %s | unavailable: %s |||||||" % (m["preset"], m["dtype"], m["reason"]))
        continue
    roof = s["orchard_roofline_frac"]
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        m["preset"], m["dtype"], cell(s["orchard_pp"]), cell(s["llama.cpp_pp"]), ratio(s["orchard_pp"], s["llama.cpp_pp"]),
        cell(s["orchard_tg"]), cell(s["llama.cpp_tg"]), ratio(s["orchard_tg"], s["llama.cpp_tg"]),
        "%.0f %%" % (100 * roof["median"]) if roof else "n/a"))
    for e in m["errors"]:
        print("<!-- %s %s round %d failed: %s -->" % (m["model"], e["engine"], e["round"], e["reason"]))
bw = [m["summary"]["read_bw_gb_s"]["median"] for m in models.values() if m["summary"]["read_bw_gb_s"]]
print("\n%s threads, median of %s rounds (± stddev); ratio > 1: orchard faster. Read bandwidth %s GB/s. Results: %s" % (
    threads, rounds, "%.1f" % statistics.median(bw) if bw else "n/a", results_path))
EOF

"$python" "$here/bench/plot_compare.py" "$results" "$plot" || echo "plot failed (needs python3-matplotlib)" >&2
