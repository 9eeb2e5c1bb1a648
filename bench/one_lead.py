#!/usr/bin/env python3
"""Times `funnelc eval` on ONE lead as its history grows, for the constructs whose cost per look
used to grow with the history (issue #10, item 3).

    python3 bench/one_lead.py --funnelc new=target/release/funnelc [--funnelc old=PATH]...
                              [--sizes 1000 10000 100000 1000000] [--timeout 120] [--repeat 3]
                              [--min-idle 0.9]

For each construct a rule file and one lead with each number of events are written to
`bench/data/one_lead/` (deterministic: a fixed seed), then each binary evaluates the lead with
`--as-of` at its last event, writing to /dev/null. Prints, per construct and size, the least
CPU time (user and system) of `--repeat` runs and the time per event: one lead is evaluated
on one thread, and CPU time holds still while other work shares the machine, where wall time
does not. A run over `--timeout` seconds of wall is stopped and shown as such (later sizes of
that binary and construct are then skipped). Each run first waits until the CPUs are
`--min-idle` idle (0 to not wait).

The constructs, each the worst case of its old cost:
  then    `a then b then c then d then e`, with no `e` ever: every look searched every
          partial chain (exponential in the steps).
  decay   a decaying `per` score with a threshold it never reaches: every look and every decay
          probe summed every event.
  days    200 `days since last view` thresholds: timers were every offset after every event.
  shared  28 segments, each `d_i = d_(i-1) or d_(i-2)`, all false: every use evaluated its
          segments again (1.6^i evaluations).
"""

import argparse
import json
import os
import random
import resource
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "data", "one_lead")
START = 946_684_800_000  # 2000-01-01T00:00:00Z

SCHEMA = """schema {
  trait seats: int
  event view { page: text }
  event click
  event a
  event b
  event c
  event d
  event e
}
"""

RULES = {
    "then": SCHEMA
    + """
stage S1 { enter when view or a }
stage S2 { enter when a then b then c then d then e }
""",
    "decay": SCHEMA
    + """
score heat decay half-life 7d {
  +5 per view
  -3 per click
  +2 per view where page == "pricing"
}
stage S1 { enter when view }
stage S2 { enter when score heat >= 1000000 }
""",
    # One condition chains at most 64 operators: 200 segments in four groups.
    "days": SCHEMA
    + "".join(
        f"segment t{k} = days since last view >= {k / 10:g} and seats >= 1000\n"
        for k in range(1, 201)
    )
    + "".join(
        f"segment g{j} = " + " or ".join(f"t{k}" for k in range(50 * j + 1, 50 * j + 51)) + "\n"
        for j in range(4)
    )
    + "stage S1 { enter when view }\nstage S2 { enter when g0 or g1 or g2 or g3 }\n",
    "shared": SCHEMA
    + "\nsegment d0 = count view >= 1000000000\nsegment d1 = count click >= 1000000000\n"
    + "".join(f"segment d{i} = d{i - 1} or d{i - 2}\n" for i in range(2, 29))
    + "stage S1 { enter when view }\nstage S2 { enter when d28 }\n",
}

TYPES = {
    "then": ["view", "a", "b", "c", "d", "click"],
    "decay": ["view", "view", "click", "a"],
    "days": ["view", "click", "click", "click", "a"],
    "shared": ["view", "click", "a"],
}


def iso(ms):
    s, ms = divmod(ms, 1000)
    t = time.gmtime(s)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{ms:03d}Z"


def write_lead(construct, n):
    """One lead of `n` events: types drawn from the construct's mix, ~2 h apart on average
    (now and then a gap of days), so every size has the same kind of history."""
    path = os.path.join(OUT, f"{construct}-{n}.jsonl")
    rng = random.Random(f"{construct}-{n}")
    at = START
    events = []
    for _ in range(n):
        at += int(rng.expovariate(1 / 7_200_000)) + (
            rng.randrange(5 * 86_400_000) if rng.random() < 0.01 else 0
        )
        ty = rng.choice(TYPES[construct])
        ev = {"type": ty, "at": iso(at)}
        if ty == "view":
            ev["page"] = rng.choice(["pricing", "blog", "docs"])
        events.append(ev)
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(json.dumps({"id": "one", "traits": {"seats": 5}, "events": events}))
            f.write("\n")
    return path, iso(at)


def cpu_idle(seconds=0.5):
    """The share of CPU time spent idle over the next `seconds`, all cores together."""

    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)

    i0, t0 = sample()
    time.sleep(seconds)
    i1, t1 = sample()
    return (i1 - i0) / max(1, t1 - t0)


def wait_idle(share):
    """Waits (at most ten minutes) until the machine is at least `share` idle: it is shared
    with builds, and a run that shares a core measures nothing."""
    deadline = time.time() + 600
    while share > 0 and time.time() < deadline and cpu_idle() < share:
        pass


def run(binary, rules, data, as_of, timeout, min_idle):
    """The run's CPU time (user and system, of the child), or None past `timeout` of wall."""
    wait_idle(min_idle)
    cmd = [binary, "eval", rules, "--leads", data, "--as-of", as_of, "-o", "/dev/null"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        subprocess.run(
            cmd, check=True, timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        return None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--funnelc", action="append", required=True, help="NAME=PATH")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000, 1000000])
    ap.add_argument("--constructs", nargs="+", default=list(RULES))
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--min-idle", type=float, default=0.0, help="e.g. 0.9 on a shared machine")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    bins = [b.split("=", 1) for b in args.funnelc]
    print("| construct | events | " + " | ".join(f"{n} s | {n} µs/event" for n, _ in bins) + " |")
    print("|---|---:|" + "---:|---:|" * len(bins))
    for c in args.constructs:
        rules = os.path.join(OUT, f"{c}.funnel")
        with open(rules, "w") as f:
            f.write(f'funnel "{c}"\n' + RULES[c])
        stopped = set()
        for n in args.sizes:
            data, as_of = write_lead(c, n)
            cells = []
            for name, path in bins:
                if name in stopped:
                    cells += ["skipped", ""]
                    continue
                times = []
                for _ in range(args.repeat):
                    t = run(path, rules, data, as_of, args.timeout, args.min_idle)
                    if t is None:
                        break
                    times.append(t)
                if len(times) < args.repeat:
                    stopped.add(name)
                    cells += [f"> {args.timeout:g} (wall)", ""]
                else:
                    best = min(times)
                    cells += [f"{best:.3f}", f"{best / n * 1e6:.2f}"]
            print(f"| {c} | {n:,} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
