#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from the repository's own files: every rule
# file (rules/, tests/fixtures/, examples/) for `rules`, every line of every lead file for
# `leads`. The corpora grow as the fuzzer runs; they are not committed. With an argument, the
# seeds go into that folder instead of `corpus/` (the fixed-budget run of `ci.sh` starts from
# the seeds alone).
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)/..
out=${1:-corpus}
mkdir -p "$out/rules" "$out/leads"
corpus=$out
find "$root/rules" "$root/tests/fixtures" "$root/examples" -name '*.funnel' -print0 |
  while IFS= read -r -d '' f; do
    cp "$f" "$corpus/rules/$(sha1sum < "$f" | cut -c1-16)"
  done
# One file per line: the lead reader reads a line at a time. The 500-lead example gives its
# first 200 lines; the fixtures give all theirs.
{
  head -n 200 "$root/examples/leads.jsonl"
  find "$root/tests/fixtures" -name '*.jsonl' -print0 | xargs -0 cat
} | while IFS= read -r line; do
  [ -n "$line" ] || continue
  h=$(printf '%s' "$line" | sha1sum | cut -c1-16)
  printf '%s' "$line" > "$corpus/leads/$h"
done
echo "rules: $(ls "$corpus/rules" | wc -l) seeds, leads: $(ls "$corpus/leads" | wc -l) seeds"
