#!/usr/bin/env python3
"""Trains the bundled model's tokenizer: a byte-level BPE (GPT-2's scheme) learned from a corpus.

    train_tokenizer.py --data DIR [--vocab-size 4096] --out OUT_DIR

Reads the "text" field of every line of DIR/train.jsonl (an MLX LM data folder such as
scripts/make-kjv-data.sh writes) and writes OUT_DIR/tokenizer.json (a Hugging Face tokenizer:
ByteLevel pre-tokenizer and decoder, BPE model, BOS added by the post-processor) and
OUT_DIR/tokenizer_config.json (special tokens and the chat template). Plain Python, no
dependencies; deterministic: the same corpus gives byte-identical files.

Vocabulary: the special tokens (ids 0..5), the 256 byte tokens, then one token per merge until
--vocab-size. Training is the classic algorithm: split the text into GPT-2's pre-tokens, count
them, and repeatedly merge the most frequent adjacent pair (ties broken by the pair's text, so
the result does not depend on hash order). Pre-tokens are found with an approximation of GPT-2's
regex in Python's `re` (letters = [^\\W\\d_], numbers = \\d), which is exact on ASCII text such as
the King James corpus; elsewhere it only changes which merges are learned, never how the
tokenizer encodes (that is the tokenizer.json's own regex, run by whoever loads it).
"""
import argparse
import heapq
import json
import os
import re
from collections import Counter

SPECIAL_TOKENS = ["<|bos|>", "<|eos|>", "<|system|>", "<|user|>", "<|assistant|>", "<|pad|>"]
BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"

# One turn per message: the role's token, a newline, the content, EOS. EOS closes every turn so a
# model trained on these conversations stops after its answer.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('roles are system, user and assistant') }}"
    "{% endif %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)

# GPT-2's pre-tokenizer regex with \p{L} -> [^\W\d_] and \p{N} -> \d.
PRE_TOKEN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+")


def bytes_to_unicode():
    """GPT-2's printable stand-in for every byte (what ByteLevel tokens are spelled with)."""
    visible = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = visible[:]
    extra = 0
    for b in range(256):
        if b not in visible:
            visible.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(visible, map(chr, chars)))


def read_corpus(data_dir):
    path = os.path.join(data_dir, "train.jsonl")
    texts = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                texts.append(json.loads(line)["text"])
            except (ValueError, KeyError, TypeError) as e:
                raise SystemExit(f"{path}:{n}: not a {{\"text\": ...}} line ({e})")
    return texts


def train(texts, vocab_size):
    byte_char = bytes_to_unicode()
    words = Counter()
    for text in texts:
        for piece in PRE_TOKEN.findall(text):
            words["".join(byte_char[b] for b in piece.encode("utf-8"))] += 1

    tokens = SPECIAL_TOKENS + [byte_char[b] for b in range(256)]
    token_id = {t: i for i, t in enumerate(tokens)}
    word_symbols = [[token_id[c] for c in w] for w in words]
    word_counts = list(words.values())

    pair_count = Counter()
    pair_words = {}  # pair -> indices of words that contained it (may be stale; checked on use)
    for i, symbols in enumerate(word_symbols):
        for pair in zip(symbols, symbols[1:]):
            pair_count[pair] += word_counts[i]
            pair_words.setdefault(pair, set()).add(i)

    def entry(pair):
        return (-pair_count[pair], tokens[pair[0]], tokens[pair[1]], pair)

    heap = [entry(p) for p in pair_count]
    heapq.heapify(heap)
    merges = []
    while len(tokens) < vocab_size and heap:
        negative, _, _, pair = heapq.heappop(heap)
        if -negative != pair_count.get(pair, 0) or negative == 0:
            continue  # stale entry: the count changed since it was pushed
        a, b = pair
        merged = tokens[a] + tokens[b]
        if merged not in token_id:  # two different pairs can spell the same token; it keeps one id
            token_id[merged] = len(tokens)
            tokens.append(merged)
        c = token_id[merged]
        merges.append((tokens[a], tokens[b]))
        changed = set()
        for i in sorted(pair_words.pop(pair)):
            old = word_symbols[i]
            new, j = [], 0
            while j < len(old):
                if j + 1 < len(old) and old[j] == a and old[j + 1] == b:
                    new.append(c)
                    j += 2
                else:
                    new.append(old[j])
                    j += 1
            if len(new) == len(old):
                continue
            for p in zip(old, old[1:]):
                pair_count[p] -= word_counts[i]
                changed.add(p)
            for p in zip(new, new[1:]):
                pair_count[p] += word_counts[i]
                pair_words.setdefault(p, set()).add(i)
                changed.add(p)
            word_symbols[i] = new
        for p in sorted(changed):
            if pair_count[p] > 0:
                heapq.heappush(heap, entry(p))
            else:
                del pair_count[p]
    return tokens, merges


def special(content, token_id):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def tokenizer_json(tokens, merges):
    bos_id = tokens.index(BOS)
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(t, i) for i, t in enumerate(SPECIAL_TOKENS)],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": BOS, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {BOS: {"id": BOS, "ids": [bos_id], "tokens": [BOS]}},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": {t: i for i, t in enumerate(tokens)},
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }


def tokenizer_config():
    return {
        "added_tokens_decoder": {str(i): special(t, i) for i, t in enumerate(SPECIAL_TOKENS)},
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": PAD,
        "add_bos_token": True,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1024,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": CHAT_TEMPLATE,
    }


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="MLX LM data folder (its train.jsonl is the corpus)")
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--out", required=True, help="folder for tokenizer.json and tokenizer_config.json")
    args = parser.parse_args()
    if args.vocab_size < len(SPECIAL_TOKENS) + 256:
        raise SystemExit(f"--vocab-size must be at least {len(SPECIAL_TOKENS) + 256} (specials and bytes)")

    tokens, merges = train(read_corpus(args.data), args.vocab_size)
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "tokenizer.json"), tokenizer_json(tokens, merges))
    write_json(os.path.join(args.out, "tokenizer_config.json"), tokenizer_config())
    print(f"{args.out}/tokenizer.json: {len(tokens)} tokens, {len(merges)} merges")


if __name__ == "__main__":
    main()
