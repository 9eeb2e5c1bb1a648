#!/usr/bin/env python3
"""Runs two funnelc binaries on the same inputs and reports every difference in what they print.

    python3 bench/same_output.py OLD NEW [--data FILE]...

For refactors that must not change behaviour: every shipped rule file and every diagnostics
fixture through `check` (human and JSON) and `fmt --check`; every shipped rule file through
`test`; the example leads and the input fixtures through `eval` in every output format, with
and without `--as-of` and `--explain`, on one thread and on two; `explain` of several leads
in text and JSON; and each `--data FILE` (e.g. the bench files) through `eval` in JSONL. For
each run the standard output, the standard error and the exit status must be the same bytes.
Exits 1 on any difference and prints the first lines of each.
"""

import argparse
import glob
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def runs(data_files):
    rules = sorted(glob.glob("rules/*.funnel"))
    fixtures = sorted(glob.glob("tests/fixtures/check/*.funnel"))
    explain_fixtures = sorted(glob.glob("tests/fixtures/explain/*.funnel"))
    for f in rules + fixtures + explain_fixtures:
        yield ["check", f]
        yield ["check", "--format", "json", f]
        yield ["check", "--deny-warnings", f]
        yield ["fmt", "--check", f]
    yield ["check"] + rules
    yield ["check", "no/such/file.funnel"]
    yield ["--help"]
    for f in rules:
        yield ["test", f]
    leads = "examples/leads.jsonl"
    for f in rules:
        for fmt in ["table", "json", "jsonl", "csv"]:
            for threads in ["1", "2"]:
                yield ["eval", f, "--leads", leads, "--format", fmt, "-j", threads]
            yield ["eval", f, "--leads", leads, "--format", fmt, "--as-of", "2025-06-01"]
        for fmt in ["json", "jsonl"]:
            yield ["eval", f, "--leads", leads, "--format", fmt, "--explain"]
        for lead in ["L1", "L146", "L250", "L499", "nobody"]:
            yield ["explain", f, "--leads", leads, "--lead", lead]
            yield ["explain", f, "--leads", leads, "--lead", lead, "--format", "json"]
            yield ["explain", f, "--leads", leads, "--lead", lead, "--as-of", "2025-04-01"]
    inp = "tests/fixtures/input"
    b2b = "rules/b2b-saas.funnel"
    for fmt in ["table", "jsonl", "csv"]:
        yield ["eval", b2b, "--leads", f"{inp}/leads.jsonl", "--format", fmt, "--skip-bad"]
        yield ["eval", b2b, "--leads", f"{inp}/leads.jsonl", "--format", fmt]
        yield ["eval", b2b, "--leads", f"{inp}/segment.jsonl", "--format", fmt,
               "--rename", f"{inp}/rename.toml", "--skip-bad"]
        yield ["eval", b2b, "--leads", f"{inp}/leads.csv", "--events", f"{inp}/events.csv",
               "--format", fmt, "--skip-bad"]
    yield ["eval", b2b, "--leads", f"{inp}/leads.csv"]
    yield ["eval", b2b, "--leads", "no/such/leads.jsonl"]
    yield ["eval", b2b, "--leads", leads, "--as-of", "yesterday"]
    yield ["eval", b2b, "--leads", leads, "--format", "table", "--explain"]
    for d in data_files:
        yield ["eval", "bench/b2b.funnel", "--leads", d, "--format", "jsonl",
               "--as-of", "2025-06-30T00:00:00Z"]
        yield ["eval", "bench/b2b.funnel", "--leads", d, "--format", "jsonl"]
        yield ["eval", b2b, "--leads", d, "--format", "csv", "--skip-bad"]


def run(binary, args):
    # `fmt --check` never writes, and nothing else here writes files; output goes to pipes.
    p = subprocess.run([binary] + args, cwd=ROOT, capture_output=True,
                       env=dict(os.environ, NO_COLOR="1"))
    return p.returncode, p.stdout, p.stderr


def first_difference(a, b):
    al, bl = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(al, bl)):
        if x != y:
            return f"line {i + 1}:\n    old: {x[:200]!r}\n    new: {y[:200]!r}"
    return f"old has {len(al)} lines, new has {len(bl)}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--data", action="append", default=[], help="a lead-per-line JSONL file")
    a = ap.parse_args()
    old, new = os.path.abspath(a.old), os.path.abspath(a.new)
    differ = 0
    total = 0
    for args in runs(a.data):
        total += 1
        ro, rn = run(old, args), run(new, args)
        if ro == rn:
            continue
        differ += 1
        print("DIFFERS: funnelc " + " ".join(args))
        for what, x, y in zip(["exit", "stdout", "stderr"], ro, rn):
            if x != y:
                if what == "exit":
                    print(f"  exit: old {x}, new {y}")
                else:
                    print(f"  {what} {first_difference(x, y)}")
    print(f"{total} runs, {differ} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
