#!/usr/bin/env python3
"""funnelc vs DuckDB vs a bare serde_json parse, on the same lead-per-line JSONL file.

    python3 bench/run.py --leads 100000                 # generates bench/data/leads-100000-20-1.jsonl if missing
    python3 bench/run.py --data FILE                     # an existing file
    python3 bench/run.py --leads 1000000 --repeat 3 --build

For each contender: wall time, events/s, MB/s of input and peak RSS of the child process
(GNU time's %M), the median of --repeat runs (peak RSS: the largest); the contenders take
turns, one run each per round. Contenders:

  serde_json x1 / x2   bench/serde_baseline: parse each line into serde_json::Value, count events
  funnelc x1 / x2      funnelc eval bench/b2b.funnel --format jsonl -o FILE --threads 1/2
  duckdb               bench/duckdb_b2b.py (bench/duckdb_b2b.sql, DuckDB's default threads)

Then checks that funnelc and DuckDB agree on every lead (final stage, exit and its instant, the
entry instant of every stage), prints the number of mismatches and the first few, and exits 1
on any. Results are also written to bench/data/results-<file>.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TIME = "/usr/bin/time"
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import compare  # noqa: E402


def run(cmd, env=None, cwd=ROOT, stdout=subprocess.DEVNULL):
    """Runs a command; returns (wall seconds, peak RSS in MB, stdout text or None)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    # Peak RSS from GNU time (%M, KB): a child forked straight from this Python process would
    # report at least this process's own RSS (ru_maxrss counts the pages of the pre-exec fork).
    rss_file = os.path.join(HERE, "data", ".rss")
    t0 = time.perf_counter()
    p = subprocess.Popen([TIME, "-f", "%M", "-o", rss_file] + cmd, env=full_env, cwd=cwd,
                         stdout=stdout, stderr=subprocess.PIPE)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{err.decode()}")
    with open(rss_file) as f:
        rss_kb = int(f.read().split()[-1])
    return wall, rss_kb / 1024.0, out.decode() if out is not None else err.decode()


def cpu_idle(seconds=1.0):
    """The machine's idle share over a short sample (/proc/stat)."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)  # idle + iowait, total
    i0, t0 = sample()
    time.sleep(seconds)
    i1, t1 = sample()
    return (i1 - i0) / max(1, t1 - t0)


def wait_idle(min_idle, timeout=600):
    """Waits (up to timeout s) until other processes leave the CPUs alone: a shared machine
    (concurrent cargo builds) otherwise makes the 2-thread numbers meaningless."""
    if min_idle <= 0:
        return
    start = time.time()
    while True:
        idle = cpu_idle()
        if idle >= min_idle:
            return
        if time.time() - start > timeout:
            print(f"  (still busy: {idle:.0%} idle; measuring anyway)", file=sys.stderr)
            return
        time.sleep(2)


IDLE = 0.0


def measure(contenders, repeat):
    """Runs every contender `repeat` times, in turns (one run of each, then the next round),
    so that a slow spell of this shared VM falls on all of them rather than on one block of
    runs: the ratios between contenders are what the targets are about. Each contender is
    (name, cmd, output file or None)."""
    walls = {name: [] for name, _, _ in contenders}
    rss = {name: [] for name, _, _ in contenders}
    for _ in range(repeat):
        for name, cmd, output in contenders:
            # Each run writes a new file: on ext4 a file renamed over an existing one
            # (funnelc's atomic -o) is flushed to disk first (auto_da_alloc), which measures
            # the disk.
            if output and os.path.exists(output):
                os.remove(output)
            wait_idle(IDLE)
            w, r, _ = run(cmd)
            walls[name].append(w)
            rss[name].append(r)
            print(f"  {name}: {w:.3f} s, {r:.0f} MB", file=sys.stderr)
    return [{"name": name, "walls": walls[name], "wall": statistics.median(walls[name]),
             "rss_mb": max(rss[name])} for name, _, _ in contenders]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leads", type=int, default=10000, help="leads to generate (with --data unset)")
    ap.add_argument("--mean-events", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", help="an existing lead-per-line JSONL file (default: generated)")
    ap.add_argument("--as-of", default="2025-06-30T00:00:00Z")
    ap.add_argument("--rules", default=os.path.join(HERE, "b2b.funnel"))
    ap.add_argument("--funnelc", default=os.path.join(ROOT, "target", "release", "funnelc"))
    ap.add_argument("--baseline", default=os.path.join(HERE, "serde_baseline", "target", "release", "serde_baseline"))
    ap.add_argument("--build", action="store_true", help="cargo build --release funnelc and the baseline first")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-duckdb", action="store_true")
    ap.add_argument("--skip-single", action="store_true", help="skip the 1-thread runs")
    ap.add_argument("--duckdb-memory-limit", default=None)
    ap.add_argument("--min-idle", type=float, default=0.9,
                    help="before each run, wait until the CPUs are this idle (0 to skip)")
    a = ap.parse_args()
    global IDLE
    IDLE = a.min_idle

    data_dir = os.path.join(HERE, "data")
    os.makedirs(data_dir, exist_ok=True)
    if a.build:
        subprocess.run(["cargo", "build", "--release"], cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "--release"], cwd=os.path.join(HERE, "serde_baseline"), check=True)
    path = a.data or os.path.join(data_dir, f"leads-{a.leads}-{a.mean_events:g}-{a.seed}.jsonl")
    if not os.path.exists(path):
        print(f"generating {path}", file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), "--leads", str(a.leads),
                        "--mean-events", str(a.mean_events), "--seed", str(a.seed), "--out", path],
                       check=True)
    stem = os.path.splitext(os.path.basename(path))[0]
    size_mb = os.path.getsize(path) / 1e6
    # Warm the page cache so every contender reads the file from memory.
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass

    results = []
    counts = run([a.baseline, path], stdout=subprocess.PIPE)[2].split()
    leads, events = int(counts[0]), int(counts[2])
    print(f"{path}: {leads} leads, {events} events, {size_mb:.1f} MB", file=sys.stderr)

    threads = [2] if a.skip_single else [1, 2]
    contenders = []
    for n in threads:
        contenders.append((f"serde_json x{n}", [a.baseline, path, "--threads", str(n)], None))
    out = {}
    for n in threads:
        out[n] = os.path.join(data_dir, f"{stem}.funnelc-x{n}.jsonl")
        cmd = [a.funnelc, "eval", a.rules, "--leads", path, "--format", "jsonl", "--as-of", a.as_of,
               "-o", out[n], "--threads", str(n)]
        contenders.append((f"funnelc x{n}", cmd, out[n]))
    duck_out = os.path.join(data_dir, f"{stem}.duckdb.csv")
    if not a.skip_duckdb:
        cmd = [sys.executable, os.path.join(HERE, "duckdb_b2b.py"), "--leads", path, "--as-of", a.as_of,
               "--out", duck_out]
        if a.duckdb_memory_limit:
            cmd += ["--memory-limit", a.duckdb_memory_limit]
        contenders.append(("duckdb", cmd, duck_out))
    results += measure(contenders, a.repeat)

    print()
    print(f"{os.path.basename(path)}: {leads:,} leads, {events:,} events, {size_mb:,.0f} MB; "
          f"median of {a.repeat} (peak RSS: max)")
    print(f"{'':16} {'wall s':>8} {'events/s':>12} {'MB/s':>8} {'peak RSS MB':>12}")
    for r in results:
        print(f"{r['name']:16} {r['wall']:8.2f} {events / r['wall']:12,.0f} {size_mb / r['wall']:8.0f} "
              f"{r['rss_mb']:12.0f}")
    by = {r["name"]: r for r in results}
    print()
    f2 = by["funnelc x2"]["wall"]
    if "duckdb" in by:
        print(f"DuckDB / funnelc (2 threads):        {by['duckdb']['wall'] / f2:.2f}x   (target >= 4x)")
    print(f"funnelc / serde_json (2 threads):    {f2 / by['serde_json x2']['wall']:.2f}x   (target <= 1.5x)")
    if 1 in threads:
        print(f"funnelc / serde_json (1 thread):     {by['funnelc x1']['wall'] / by['serde_json x1']['wall']:.2f}x")
        print(f"funnelc 1 thread / 2 threads:        {by['funnelc x1']['wall'] / f2:.2f}x   (target >= 1.8x)")
    print(f"funnelc peak RSS (2 threads):        {by['funnelc x2']['rss_mb']:.0f} MB (target < 256 MB)")

    mismatches = 0
    if 1 in threads:
        same = subprocess.run(["cmp", "-s", out[1], out[2]]).returncode == 0
        print(f"funnelc output identical on 1 and 2 threads: {'yes' if same else 'NO'}")
        mismatches += 0 if same else 1
    if "duckdb" in by:
        mismatches += compare.compare(out[2], duck_out, show=5)
    summary = {"file": path, "leads": leads, "events": events, "mb": size_mb, "as_of": a.as_of,
               "repeat": a.repeat, "mismatches": mismatches,
               "results": results}
    with open(os.path.join(data_dir, f"results-{stem}.json"), "w") as f:
        json.dump(summary, f, indent=1)
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
