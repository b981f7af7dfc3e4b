"""Verifier throughput: the compiled verifier against the plain reference, in one run.

Builds a pyramid DAG of at least 10^7 nodes and a valid schedule of at least
5*10^7 moves (row by row, three red pebbles: load the next operand, compute,
store, delete), verifies it in memory and streamed from a binary file, and
times the reference verifier (Python sets) on a 10^6-move prefix with the
compiled verifier on the same prefix for the ratio. Prints peak memory and
writes the table to benchmarks/results/verify_speed.md.

    python benchmarks/verify_speed.py [--height 4472] [--prefix 1000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import markdown_table, write_report  # noqa: E402

from dags import pyramid_dag  # noqa: E402
from pebble import reference_verify, verify, write_schedule  # noqa: E402
from pebble.moves import COMPUTE, DELETE, LOAD, STORE  # noqa: E402


def row_schedule(dag, h):
    """Row r of the pyramid from row r-1 with 3 red pebbles; every result stored."""
    starts = np.concatenate([[0], np.cumsum(np.arange(h + 1, 0, -1))])
    parts = []
    for r in range(1, h + 1):
        w = h + 1 - r
        below = starts[r - 1] + np.arange(w + 1)
        here = starts[r] + np.arange(w)
        body = np.empty((w, 5), np.int64)
        body[:, 0] = (below[1:] << 2) | LOAD
        body[:, 1] = (here << 2) | COMPUTE
        body[:, 2] = (here << 2) | STORE
        body[:, 3] = (here << 2) | DELETE
        body[:, 4] = (below[:-1] << 2) | DELETE
        parts.append(np.array([(below[0] << 2) | LOAD], np.int64))
        parts.append(body.ravel())
        parts.append(np.array([(below[-1] << 2) | DELETE], np.int64))
    return np.concatenate(parts)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=4472, help="pyramid height (4472: 10,006,101 nodes)")
    ap.add_argument("--prefix", type=int, default=1_000_000, help="moves for the reference comparison")
    args = ap.parse_args()

    t = time.perf_counter()
    dag = pyramid_dag(args.height)
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    codes = row_schedule(dag, args.height)
    t_gen = time.perf_counter() - t
    print(f"DAG       {dag.name}: {dag.num_nodes:,} nodes, {dag.num_edges:,} edges (built in {t_build:.1f} s)")
    print(f"schedule  {codes.size:,} moves, M = 3 (generated in {t_gen:.1f} s)")

    verify(dag, codes[:1000], 3)  # compile (or load the cached kernel) before timing
    t = time.perf_counter()
    report = verify(dag, codes, 3)
    t_fast = time.perf_counter() - t
    assert report.valid, report
    print(f"verify    {report}")
    print(f"          {t_fast:.2f} s: {codes.size / t_fast / 1e6:.1f} million moves/s (in memory)")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "pyramid.pbs")
        write_schedule(path, codes, dag)
        size = os.path.getsize(path)
        t = time.perf_counter()
        streamed = verify(dag, path, 3)
        t_file = time.perf_counter() - t
        assert streamed == report
        print(f"          {t_file:.2f} s: {codes.size / t_file / 1e6:.1f} million moves/s "
              f"(streamed from a {size / 2**20:.0f} MiB binary file)")

    prefix = codes[:args.prefix]
    t = time.perf_counter()
    ref = reference_verify(dag, prefix, 3)
    t_ref = time.perf_counter() - t
    t = time.perf_counter()
    fast = verify(dag, prefix, 3)
    t_fast_prefix = time.perf_counter() - t
    assert ref == fast, (ref, fast)
    print(f"reference {prefix.size:,}-move prefix: {t_ref:.2f} s ({prefix.size / t_ref / 1e6:.2f} million moves/s); "
          f"compiled on the same prefix {t_fast_prefix:.3f} s")
    print(f"ratio     {t_ref / t_fast_prefix:.0f}x on the prefix; {(t_ref / prefix.size) / (t_fast / codes.size):.0f}x "
          f"per move against the full in-memory run")
    peak = peak_rss_mb()
    print(f"memory    peak RSS {peak:.0f} MB")
    print("targets   >= 30 million moves/s, >= 50x the reference, peak memory < 2048 MB")
    rows = [
        ("compiled verifier, schedule in memory", f"{codes.size / t_fast / 1e6:.0f} million moves/s ({t_fast:.2f} s)",
         ">= 30 million moves/s"),
        (f"compiled verifier, streamed from a {size / 2**20:.0f} MiB `.pbs` file",
         f"{codes.size / t_file / 1e6:.0f} million moves/s ({t_file:.2f} s)", ""),
        (f"reference verifier, {prefix.size:,}-move prefix", f"{prefix.size / t_ref / 1e6:.2f} million moves/s", ""),
        ("speed-up over the reference, same prefix", f"{t_ref / t_fast_prefix:.0f}x", ">= 50x"),
        ("peak memory (DAG, schedule, verifier state)", f"{peak / 1024:.2f} GB", "< 2 GB"),
    ]
    table = markdown_table(("measurement", "figure", "target"), rows)
    path = write_report("verify_speed.md", "Verifier throughput", table,
                        notes=f"{dag.name}: {dag.num_nodes:,} nodes; a valid schedule of {codes.size:,} moves, M = 3.")
    print(f"written   {path}")

if __name__ == "__main__":
    main()
