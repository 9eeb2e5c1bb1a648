#!/usr/bin/env python3
"""Compares funnelc's JSONL output with bench/duckdb_b2b.sql's CSV output, lead by lead.

    python3 bench/compare.py FUNNELC.jsonl DUCKDB.csv [--show 10]

Checks for every lead: the final stage, the exit (name and instant) and the entry instant of
every stage. Prints the number of mismatching leads and the first few; exit status 1 on any.
"""

import argparse
import csv
import datetime
import json
import sys

STAGES = ["MCL", "MEL", "MQL", "SAL", "SQL", "SQO"]


def ms(text):
    """RFC 3339 UTC text (with or without milliseconds) to epoch ms; None for empty/null."""
    if not text:
        return None
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(t.timestamp() * 1000)


def funnelc_rows(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            x = o.get("exit") or {}
            out[o["id"]] = {
                "stage": o.get("stage"),
                "exit": x.get("name"),
                "exit_at": ms(x.get("at")),
                **{s: ms(o["entered"].get(s)) for s in STAGES},
            }
    return out


def duckdb_rows(path):
    out = {}
    with open(path, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            out[r["id"]] = {
                "stage": r["stage"] or None,
                "exit": r["exit"] or None,
                "exit_at": ms(r["exit_at"]),
                **{s: ms(r[s]) for s in STAGES},
            }
    return out


def compare(funnelc_path, duckdb_path, show=10, out=sys.stdout):
    a = funnelc_rows(funnelc_path)
    b = duckdb_rows(duckdb_path)
    bad = []
    for lead in sorted(set(a) | set(b), key=lambda i: (len(i), i)):
        ra, rb = a.get(lead), b.get(lead)
        if ra != rb:
            bad.append((lead, ra, rb))
    print(f"compared {len(a)} funnelc leads with {len(b)} DuckDB leads: {len(bad)} mismatches", file=out)
    fmt = lambda v: None if v is None else datetime.datetime.fromtimestamp(v / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if isinstance(v, int) else v
    for lead, ra, rb in bad[:show]:
        print(f"  {lead}:", file=out)
        if ra is None or rb is None:
            print(f"    funnelc={ra} duckdb={rb}", file=out)
            continue
        for k in ra:
            if ra[k] != rb[k]:
                print(f"    {k}: funnelc={fmt(ra[k])} duckdb={fmt(rb[k])}", file=out)
    return len(bad)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("funnelc")
    ap.add_argument("duckdb")
    ap.add_argument("--show", type=int, default=10)
    a = ap.parse_args()
    sys.exit(1 if compare(a.funnelc, a.duckdb, a.show) else 0)


if __name__ == "__main__":
    main()
