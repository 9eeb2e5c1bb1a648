#!/usr/bin/env bash
# A short fuzz run with a fixed budget, for CI, on the stable toolchain. No sanitizer (it
# needs nightly; the code is safe Rust, so what the run looks for is panics, failed
# assertions, hangs and runaway memory). The seeds are the repository's own files and the
# random seed is fixed, but two runs still differ a little (the code's hash tables are seeded
# per process, which changes the coverage the fuzzer steers by); an input that fails is saved
# under fuzz/artifacts/ and printed, and replays exactly. The long runs: docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")"
# libFuzzer is C++, built by its crate.
if ! command -v c++ >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz --version 0.13.2
fi
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
./seed.sh "$seeds"
# -runs counts inputs, not seconds, so the budget does not depend on the machine's speed.
cargo fuzz run -s none -O rules "$seeds/rules" -- -runs=3000 -seed=1 -timeout=30 -rss_limit_mb=2048
cargo fuzz run -s none -O leads "$seeds/leads" -- -runs=300000 -seed=1 -timeout=30 -rss_limit_mb=2048
