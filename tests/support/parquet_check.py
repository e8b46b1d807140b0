"""Read tcplens's Parquet output with real consumers (pyarrow and DuckDB) and compare it with
the json and events reports of the same run. Used by tests/parquet.rs.

    parquet_check.py compare RUN_DIR...   each RUN_DIR holds report.json, events.ndjson and the
                                          Parquet files of one run
    parquet_check.py union ROOT N         DuckDB reads ROOT/*/connections.parquet as one table
                                          and must find N connections
Prints one line per problem and exits 1 if there was any.
"""

import json
import math
import os
import sys

import duckdb
import pyarrow.parquet as pq

problems = []


def plain(v):
    """pyarrow's Python value in the json report's shape (maps come back as pair lists)."""
    if isinstance(v, list) and v and all(isinstance(p, tuple) and len(p) == 2 for p in v):
        return {k: plain(x) for k, x in v}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (isinstance(a, float) and math.isclose(a, b, rel_tol=0, abs_tol=5e-7))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(b, str) and not isinstance(a, str):
        # A field the Parquet schema types as text holds the value's JSON text.
        return json.loads(b) == a
    return a == b


def compare(run):
    with open(os.path.join(run, "report.json")) as f:
        want = [json.loads(l) for l in f if l.strip()]
    want = [w for w in want if "flow" in w]
    table = pq.read_table(os.path.join(run, "connections.parquet"))
    got = {r["flow"]: plain(r) for r in table.to_pylist()}
    if len(got) != len(want) or table.num_rows != len(want):
        problems.append(f"{run}: {table.num_rows} parquet rows, {len(want)} json records")
    for w in want:
        g = got.get(w["flow"])
        if g is None:
            problems.append(f"{run}: flow {w['flow']} missing from connections.parquet")
            continue
        for k, v in w.items():
            if k not in g:
                problems.append(f"{run}: flow {w['flow']}: no column {k}")
            elif not same(v, g[k]):
                problems.append(f"{run}: flow {w['flow']}: {k}: json {v!r} parquet {g[k]!r}")
        for k in g.keys() - w.keys():
            problems.append(f"{run}: flow {w['flow']}: column {k} not in the json report")

    with open(os.path.join(run, "events.ndjson")) as f:
        want_ev = [json.loads(l) for l in f if l.strip()]
    got_ev = pq.read_table(os.path.join(run, "events.parquet")).to_pylist()
    if len(got_ev) != len(want_ev):
        problems.append(f"{run}: {len(got_ev)} parquet events, {len(want_ev)} in the report")
    for i, (w, g) in enumerate(zip(want_ev, got_ev)):
        # A column the report leaves out (the process, known only live) must be null.
        extra_set = any(g[k] is not None for k in g.keys() - w.keys())
        if w.keys() - g.keys() or extra_set or not all(same(w[k], g[k]) for k in w):
            problems.append(f"{run}: event {i}: report {w} parquet {g}")
            break


def union(root, n):
    con = duckdb.connect()
    pattern = os.path.join(root, "*", "connections.parquet")
    total = con.execute(
        f"SELECT count(*) FROM read_parquet('{pattern}', union_by_name = true)"
    ).fetchone()[0]
    if total != n:
        problems.append(f"union: {total} connections in {pattern}, expected {n}")
    # Columns and nested fields work across the files: one verdict and keepalive query.
    rows = con.execute(
        f"SELECT verdict, count(*), sum(coalesce(keepalive.probes, 0)), "
        f"count(DISTINCT filename) FROM read_parquet('{pattern}', union_by_name = true, "
        f"filename = true) GROUP BY verdict ORDER BY verdict"
    ).fetchall()
    if sum(r[1] for r in rows) != n:
        problems.append(f"union: grouped counts {rows} do not add up to {n}")
    files = con.execute(
        f"SELECT count(DISTINCT filename) FROM read_parquet('{pattern}', filename = true)"
    ).fetchone()[0]
    if files < 2:
        problems.append(f"union: {files} file(s) read, expected at least 2")
    print(json.dumps({"verdicts": rows}))


if sys.argv[1] == "compare":
    for run in sys.argv[2:]:
        compare(run)
elif sys.argv[1] == "union":
    union(sys.argv[2], int(sys.argv[3]))
for p in problems[:50]:
    print(p)
sys.exit(1 if problems else 0)
