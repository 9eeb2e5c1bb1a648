#!/usr/bin/env python3
"""Times `funnelc check` on large rule files (the issue's "a 10 MB file" case).

    python3 bench/check_big.py [--funnelc target/release/funnelc ...] [--mb 1 10] [--repeat 3]

For each size in --mb (by default 1 and 10 MB), writes three files of about that many
megabytes under bench/data/ and checks each:
  dense   -- many stages, each with a realistic entry condition (the worst case: all syntax)
  schema  -- one schema block declaring many traits and events (one declaration, one piece)
  comment -- one big block comment around a tiny funnel
Prints the median wall time, the median CPU time (user + system, all threads) and the peak RSS
of each (GNU time). On a shared machine the CPU time varies less than the wall time. Given
several binaries (--funnelc old new), they take turns on each file, one run each per round,
so a slow spell of the machine falls on all of them.
"""
import argparse
import os
import statistics
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dense(size):
    parts = ['schema {\n  event form.submitted\n  event email.opened { step: int }\n}\n']
    n, total, i = [], len(parts[0]), 0
    while total < size:
        s = (f'stage S{i} "Stage {i}" owner marketing {{\n'
             f'  enter when form.submitted and count email.opened where step in [1, 2, 3] >= {i % 5}'
             f' or email.opened within 14d\n}}\n\n')
        parts.append(s)
        total += len(s)
        i += 1
    return ''.join(parts)


def schema(size):
    parts = ['schema {\n']
    total, i = 0, 0
    while total < size:
        s = f'  trait t{i}.x: int\n  event e{i} {{ a: text, b: int }}\n'
        parts.append(s)
        total += len(s)
        i += 1
    parts.append('}\n\nstage A {\n  enter when e1\n}\n')
    return ''.join(parts)


def comment(size):
    return '/* ' + 'x' * size + ' */\nschema {\n  event e\n}\n\nstage A {\n  enter when e\n}\n'


def run_once(funnelc, path):
    """(wall s, cpu s, peak RSS KB) of one `funnelc check`."""
    with tempfile.NamedTemporaryFile('r') as t:
        p = subprocess.run(['/usr/bin/time', '-f', '%e %U %S %M', '-o', t.name, funnelc, 'check', path],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if p.returncode not in (0, 1):
            raise SystemExit(f'{path}: {funnelc} exited {p.returncode}: {p.stderr.decode()}')
        wall, user, system, kb = t.read().split()[-4:]
        return float(wall), float(user) + float(system), int(kb)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--funnelc', nargs='+', default=[os.path.join(ROOT, 'target/release/funnelc')])
    ap.add_argument('--mb', type=int, nargs='+', default=[1, 10])
    ap.add_argument('--repeat', type=int, default=3)
    a = ap.parse_args()
    os.makedirs(os.path.join(ROOT, 'bench/data'), exist_ok=True)
    print(f'{"file":<8} {"MB":>6} {"wall s":>7} {"cpu s":>7} {"peak RSS MB":>12}  funnelc')
    for mb in a.mb:
        for name, make in (('dense', dense), ('schema', schema), ('comment', comment)):
            path = os.path.join(ROOT, f'bench/data/check-{name}-{mb}mb.funnel')
            with open(path, 'w') as f:
                f.write(make(mb << 20))
            runs = {b: [] for b in a.funnelc}
            for _ in range(a.repeat):
                for b in a.funnelc:
                    runs[b].append(run_once(b, path))
            for b, rs in runs.items():
                wall = statistics.median(r[0] for r in rs)
                cpu = statistics.median(r[1] for r in rs)
                rss = max(r[2] for r in rs) // 1024
                print(f'{name:<8} {os.path.getsize(path) / 2**20:>6.1f} {wall:>7.2f} {cpu:>7.2f} {rss:>12}  {b}')


if __name__ == '__main__':
    main()
