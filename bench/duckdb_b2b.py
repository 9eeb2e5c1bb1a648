#!/usr/bin/env python3
"""Runs bench/duckdb_b2b.sql over a lead-per-line JSONL file.

    python3 bench/duckdb_b2b.py --leads FILE --as-of 2025-06-30T00:00:00Z --out OUT.csv

Writes one CSV row per lead: id, stage, exit, exit_at, then the instant of entry into each
stage (RFC 3339 UTC, empty when never).
"""

import argparse
import datetime
import os
import sys
import time

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))


def as_of_ms(text):
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--leads", required=True)
    ap.add_argument("--as-of", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=0, help="DuckDB threads (default: all cores)")
    ap.add_argument("--memory-limit", default=None, help="e.g. 4GB (default: DuckDB's, 80%% of RAM)")
    ap.add_argument("--sql", default=os.path.join(HERE, "duckdb_b2b.sql"))
    a = ap.parse_args()
    sql = open(a.sql, encoding="utf-8").read()
    quote = lambda p: os.path.abspath(p).replace("'", "''")
    sql = (sql.replace("{{LEADS}}", quote(a.leads))
              .replace("{{OUT}}", quote(a.out))
              .replace("{{AS_OF_MS}}", str(as_of_ms(a.as_of))))
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    if a.threads:
        con.execute(f"SET threads = {a.threads}")
    if a.memory_limit:
        con.execute(f"SET memory_limit = '{a.memory_limit}'")
    t = time.perf_counter()
    con.execute(sql)
    print(f"duckdb: {time.perf_counter() - t:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
