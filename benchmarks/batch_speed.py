"""Batch speed-up: the same exact-benchmark jobs through the local pool with 1 worker and with 2.

Sixteen solves of small family instances (``pebble.solver.solve``, one
solver thread each, 10 s limit), some proven in well under a second and
some that run to the limit, go through :func:`pebble.batch.run_jobs` once
with 1 worker process and once with 2, in one run. Prints the wall times
and the speed-up, checks that the runs agree (the same optimum where both
proved it, and each run's lower bound at most the other's I/O), and writes
benchmarks/results/batch_speed.md with the date, the machine and its load.

    python benchmarks/batch_speed.py [--time-limit 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from pebble.batch import Job, run_jobs  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "batch_speed.md"

INSTANCES = [
    ("pyramid:h=4", 3, "base"), ("pyramid:h=4", 4, "one-shot"), ("pyramid:h=5", 3, "base"),
    ("pyramid:h=6", 4, "one-shot"), ("tree:h=3", 3, "base"), ("tree:h=4", 4, "one-shot"),
    ("fft:k=3", 4, "one-shot"), ("fft:k=3", 3, "base"), ("matvec:n=3", 3, "base"), ("matvec:n=3", 4, "one-shot"),
    ("matmul:n=2,k=2,m=2", 3, "base"), ("attention:n=2,d=1", 3, "one-shot"), ("approx:n=3,d=1,g=1", 3, "base"),
    ("approx:n=2,d=1,g=2", 4, "one-shot"), ("layered:layers=5,width=5,seed=2", 3, "base"),
    ("layered:layers=6,width=5,seed=3", 3, "one-shot"),
]


def timed(jobs, workers):
    start = time.perf_counter()
    rows = run_jobs(jobs, workers=workers)
    return rows, time.perf_counter() - start


def disagreements(one, two):
    """Where the two runs contradict each other: different optima, or a lower bound above an I/O."""
    found = []
    for a, b in zip(one, two):
        name = f"{a['spec']} M={a['M']} {a['variant']}"
        if "error" in (a["status"], b["status"]):
            found.append(f"{name}: error ({a.get('reason') or b.get('reason')})")
        elif a["status"] == b["status"] == "optimal" and a["io"] != b["io"]:
            found.append(f"{name}: optimum {a['io']} with 1 worker, {b['io']} with 2")
        elif any(x["io"] is not None and y["lower_bound"] > x["io"] for x, y in ((a, b), (b, a))):
            found.append(f"{name}: a lower bound above the other run's I/O")
    return found


def value(row):
    return str(row["io"]) if row["status"] == "optimal" else f"[{row['lower_bound']}, {row['io']}]"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--time-limit", type=float, default=10.0, help="seconds per solve (default: 10)")
    p.add_argument("--workers", type=int, default=2, help="processes of the parallel run (default: 2)")
    p.add_argument("--output", default=str(RESULTS))
    args = p.parse_args(argv)
    jobs = [Job(spec, M, variant, args.time_limit) for spec, M, variant in INSTANCES]
    load = os.getloadavg()
    one, t1 = timed(jobs, 1)
    print(f"1 worker: {t1:.1f} s", flush=True)
    two, t2 = timed(jobs, args.workers)
    print(f"{args.workers} workers: {t2:.1f} s; speed-up {t1 / t2:.2f}x", flush=True)
    bad = disagreements(one, two)
    for line in bad:
        print(f"disagree: {line}")
    lines = [
        f"# Batch speed-up: local pool, 1 worker against {args.workers}", "",
        f"Written by `python benchmarks/batch_speed.py` on {datetime.date.today().isoformat()}, "
        f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}), "
        f"load average {load[0]:.2f} at the start (the machine is shared, so times vary).", "",
        f"{len(jobs)} solves (`pebble.solver.solve`, one solver thread each, {args.time_limit:g} s limit); each "
        "run starts its own worker processes, so the times include their start-up.", "",
        "| workers | wall s |", "|---:|---:|", f"| 1 | {t1:.1f} |", f"| {args.workers} | {t2:.1f} |", "",
        f"Speed-up: **{t1 / t2:.2f}x**. The runs agree: "
        + ("yes (same optimum where both proved it; every lower bound at most the other run's I/O)." if not bad
           else "no: " + "; ".join(bad)), "",
        f"| instance | M | variant | 1 worker | s | proved by | {args.workers} workers | s | proved by |",
        "|---|---:|---|---|---:|---|---|---:|---|",
    ]
    for a, b in zip(one, two):
        lines.append(f"| {a['spec']} | {a['M']} | {a['variant']} | {value(a)} | {a['seconds']:.2f} | "
                     f"{a['proved_by'] or ''} | {value(b)} | {b['seconds']:.2f} | {b['proved_by'] or ''} |")
    out = pathlib.Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"written {out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
