#pragma once
// tokenizer.json (+ tokenizer_config.json) -> GGUF "tokenizer.ggml.*" metadata, as
// convert_hf_to_gguf.py writes it, so orchard can produce GGUF files llama.cpp tokenizes the
// same way: byte-level BPE becomes model "gpt2" with tokenizer.ggml.pre detected from the
// pre-tokenizer regex ("llama-bpe", "qwen2", "gpt-2"); SentencePiece-style byte-fallback BPE
// (Gemma) becomes "llama" with scores from the piece order; WordPiece becomes "bert" (word
// starts marked with "▁", "##" removed from continuations).
#include <cstdint>

#include <nlohmann/json.hpp>

#include "io/metadata.h"

namespace orchard {

// `vocab_size` > number of tokens pads the table with "[PADn]" unused tokens (a model's
// embedding often has more rows than its tokenizer has tokens). Throws orchard::Error for
// tokenizers llama.cpp could not represent (unknown pre-tokenizer regex, Unigram, ...).
Metadata gguf_tokenizer_metadata(const nlohmann::json& tokenizer_json, const nlohmann::json* tokenizer_config,
                                 int64_t vocab_size = 0);

}  // namespace orchard
