#!/usr/bin/env bash
# Builds every fuzz/fuzz_*.cpp target with libFuzzer + ASan/UBSan (clang++-14, build-fuzz/)
# and runs each for SECONDS (default 20). Exits non-zero if any target finds a crash, a
# sanitizer report, a leak, a timeout or an uncaught exception.
#
# Seeds: every target starts from build-fuzz/fuzz-corpus/<target>/ (kept between runs, so
# coverage accumulates), filled on the fly from
#   - fuzz/corpus/<target>/ when such a folder exists (small hand-made seeds may be committed),
#   - the shared data that matches the target (vocab GGUFs, chat templates),
#   - small files generated here (GGUF and safetensors of every value type, config.json files).
# Crash inputs are written to build-fuzz/fuzz-artifacts/.
#
# usage: scripts/fuzz.sh [SECONDS]      env: ORCHARD_SHARED_DIR (default ../shared), FUZZ_BUILD
set -euo pipefail

seconds=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
shared=${ORCHARD_SHARED_DIR:-$root/../shared}

CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DORCHARD_FUZZ=ON -DORCHARD_SANITIZE=ON -DORCHARD_BUILD_TESTS=OFF -DORCHARD_BUILD_BENCH=OFF >/dev/null

targets=()
for src in "$root"/fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
ninja -C "$build" -j2 "${targets[@]}"

corpus=$build/fuzz-corpus
artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t"
  if [[ -d $root/fuzz/corpus/$t ]]; then cp -n "$root/fuzz/corpus/$t"/* "$corpus/$t/" 2>/dev/null || true; fi
done

# Shared data that fits a target.
copy_shared() {  # TARGET GLOB...
  local t=$1; shift
  [[ -d $corpus/$t ]] || return 0
  for f in "$@"; do [[ -f $f ]] && cp -n "$f" "$corpus/$t/"; done
  return 0
}
copy_shared fuzz_gguf "$shared"/data/tokenizer-tests/ggml-vocab-bert-bge.gguf
copy_shared fuzz_chat_template "$shared"/data/chat-templates/*.jinja

# Small generated seeds for the io parsers (written by the GGUF / safetensors specs, not by orchard).
python3 - "$corpus" <<'PY'
import json, os, struct, sys
corpus = sys.argv[1]

def write(target, name, data):
    d = os.path.join(corpus, target)
    if os.path.isdir(d):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b

def gguf(version, kvs, tensors, alignment=32):
    # kvs: (key, type_id, payload bytes); tensors: (name, dims innermost-first, ggml type, data bytes)
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, t, payload in kvs:
        out += gstr(key) + struct.pack("<I", t) + payload
    offset, data = 0, b""
    for name, dims, t, raw in tensors:
        out += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", t, offset)
        pad = -len(raw) % alignment
        data += raw + b"\0" * pad
        offset += len(raw) + pad
    out += b"\0" * (-len(out) % alignment)
    return out + data

def arr(elem, values, fmt):
    return struct.pack("<IQ", elem, len(values)) + b"".join(struct.pack("<" + fmt, v) for v in values)

scalars = [("u8", 0, "B", 200), ("i8", 1, "b", -5), ("u16", 2, "H", 60000), ("i16", 3, "h", -300),
           ("u32", 4, "I", 7), ("i32", 5, "i", -7), ("f32", 6, "f", 0.5), ("bool", 7, "B", 1),
           ("u64", 10, "Q", 1 << 40), ("i64", 11, "q", -(1 << 40)), ("f64", 12, "d", 0.25)]
kvs = [("general.architecture", 8, gstr("llama")), ("general.alignment", 4, struct.pack("<I", 32))]
kvs += [("t." + n, t, struct.pack("<" + f, v)) for n, t, f, v in scalars]
kvs += [("a." + n, 9, arr(t, [v, v], f)) for n, t, f, v in scalars]
tokens = ["<unk>", "<s>", "</s>"] + ["tok%d" % i for i in range(40)]
kvs += [("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, len(tokens)) + b"".join(gstr(s) for s in tokens)),
        ("tokenizer.ggml.scores", 9, arr(6, [float(-i) for i in range(len(tokens))], "f"))]
tensors = [("token_embd.weight", [32, 4], 1, b"\x01\x3c" * 128),              # f16 [4, 32]
           ("blk.0.attn_q.weight", [32, 2], 8, (b"\x00\x3c" + bytes(range(32))) * 2),  # q8_0
           ("output_norm.weight", [32], 0, struct.pack("<32f", *range(32)))]
write("fuzz_gguf", "seed_v3.gguf", gguf(3, kvs, tensors))
write("fuzz_gguf", "seed_v2.gguf", gguf(2, kvs[:4], tensors[2:]))
write("fuzz_gguf", "seed_aligned64.gguf", gguf(3, [("general.alignment", 4, struct.pack("<I", 64))], tensors, 64))

def safetensors(entries, metadata=None):
    header, data = {}, b""
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data

write("fuzz_safetensors", "seed.safetensors", safetensors([
    ("model.embed_tokens.weight", "BF16", [4, 8], b"\x80\x3f" * 32), ("w.f32", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)),
    ("w.f16", "F16", [3], b"\x00\x3c" * 3), ("w.i64", "I64", [], struct.pack("<q", 9)), ("w.empty", "F32", [0, 4], b"")],
    {"format": "pt"}))

base = {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
        "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256,
        "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009], "tie_word_embeddings": True,
        "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"}}
write("fuzz_hf_config", "llama3.json", json.dumps(base, indent=2).encode())
write("fuzz_hf_config", "qwen2_yarn.json", json.dumps(dict(base, model_type="qwen2", head_dim=None, rope_scaling={
    "type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768})).encode())
write("fuzz_hf_config", "qwen3.json", json.dumps(dict(base, model_type="qwen3", rope_scaling=None, eos_token_id=2)).encode())
write("fuzz_hf_config", "mistral_linear.json", json.dumps(dict(base, model_type="mistral",
    rope_scaling={"type": "linear", "factor": 2})).encode())
PY

failed=()
for t in "${targets[@]}"; do
  echo "== $t (${seconds}s)"
  # -rss_limit_mb: hostile sizes must be rejected before allocating, not after.
  if ! "$build/fuzz/$t" "$corpus/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$t-" 2>"$build/$t.log"; then
    failed+=("$t")
    tail -n 40 "$build/$t.log"
  else
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$build/$t.log" | tail -n 2 || true
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $artifacts, logs in $build/<target>.log)"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without failures"
