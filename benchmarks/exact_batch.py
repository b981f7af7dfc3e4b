"""The exact benchmark on worker processes: the same runs with 1 worker and with 2, in one run.

The runs of ``benchmarks/exact.py`` (by default ``--only pyramid,tree,matvec``, CP-SAT
only, 10 s limits) go through its machinery (:func:`pebble.jobs.run_tasks`,
every schedule verified again in the submitting process) once per worker
count, each into a fresh results file. Written: the wall time of each pass
and the speed-up, and whether the passes agree: each run proven in both with
the same optimum, the same method proving it and a byte-identical saved
schedule, and no lower bound above the other pass's I/O where a run stopped
at its limit. Writes benchmarks/results/exact_batch.md; the options of
exact.py that choose the runs apply.

    python benchmarks/exact_batch.py [--only pyramid,tree,matvec] [--methods cp-sat] [--time-limit 10] [--compare 1,2]
"""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time

import exact
from _report import markdown_table, write_report


def timed_pass(runs, dags, folder, workers):
    """The rows of one pass (keyed as the results file keys them), its wall time and its failures."""
    path = folder / f"workers-{workers}" / "exact.jsonl"
    start = time.perf_counter()
    failed = exact.run_all(runs, dags, path, workers=workers, redo=False)
    seconds = time.perf_counter() - start
    return {exact.row_key(r): r for r in exact.load_results(path)}, seconds, failed, path.parent


def bounds(row):
    return str(row["io"]) if row["status"] == "optimal" else f"[{row['lower_bound']}, {row['io']}]"


def compare(base, other, base_folder, other_folder):
    """How a pass agrees with the first: runs proven in both with the same optimum, method and saved schedule;
    what differs among those (``wrong``); runs whose outcome depends on the time limit (``timing``)."""
    same, wrong, timing = 0, [], []
    for key, a in base.items():
        b = other.get(key)
        name = f"{key[0]} M={key[1]} {key[2]}"
        if b is None:
            wrong.append(f"{name}: no row")
        elif any(x["io"] is not None and y["lower_bound"] > x["io"] for x, y in ((a, b), (b, a))):
            wrong.append(f"{name}: {bounds(a)} against {bounds(b)}, a lower bound above an I/O")
        elif a["status"] != "optimal" or b["status"] != "optimal":
            timing.append(f"{name}: {bounds(a)} against {bounds(b)}")
        elif (a["io"], a["proved_by"]) != (b["io"], b["proved_by"]):
            wrong.append(f"{name}: {a['io']} by {a['proved_by']} against {b['io']} by {b['proved_by']}")
        elif (base_folder / a["schedule"]).read_bytes() != (other_folder / b["schedule"]).read_bytes():
            wrong.append(f"{name}: another optimal schedule")
        else:
            same += 1
    return same, wrong, timing


def main(argv=None) -> int:
    p = exact.parser()
    p.description = __doc__.split("\n\n")[0]
    p.add_argument("--compare", default="1,2", help="the worker counts to run the passes with (default 1,2)")
    p.set_defaults(only="pyramid,tree,matvec", methods="cp-sat", time_limit=10.0, plain_time_limit=10.0,
                   osp_time_limit=10.0)
    args = p.parse_args(argv)
    counts = [int(w) for w in args.compare.split(",")]
    runs, dags = exact.planned_runs(args)
    passes = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in counts:
            rows, seconds, failed, folder = timed_pass(runs, dags, pathlib.Path(tmp), workers)
            print(f"{workers} workers: {len(rows)} runs in {seconds:.1f} s", flush=True)
            passes.append((workers, rows, seconds, failed, folder))
        (_, first, t1, _, first_folder), results, listed = passes[0], [], []
        for workers, rows, seconds, failed, folder in passes:
            same, wrong, timing = compare(first, rows, first_folder, folder)
            results.append((workers, len(rows), sum(r["status"] == "optimal" for r in rows.values()), failed,
                            round(seconds, 1), round(sum(r["seconds"] for r in rows.values()), 1),
                            f"{t1 / seconds:.2f}x", same, len(wrong)))
            if workers != counts[0]:
                listed += [f"- {workers} workers, differs: {line}" for line in wrong]
                listed += [f"- {workers} workers, stopped at the limit in a pass: {line}" for line in timing]
    table = markdown_table(["workers", "runs", "proven", "failed", "wall s", "sum of solve s", "speed-up",
                            "proven alike", "differ"], results)
    notes = (f"{len(runs)} runs of `benchmarks/exact.py` (`--only {args.only}`, methods {args.methods}, variants "
             f"{args.variants}, {args.time_limit:g} s limit; each solve keeps its 2 CP-SAT threads), one pass per "
             "worker count, each into a fresh results file; every schedule a worker returns is verified again "
             f"in the submitting process. A pass's wall time includes starting its worker processes. *Proven "
             f"alike*: runs proven in this pass and in the {counts[0]}-worker pass with the same optimum and "
             "proving method and a byte-identical saved schedule; *differ*: any other difference among proven "
             "runs, or a lower bound above the other pass's I/O. A run that stops at its time limit has bounds "
             "that depend on the time it got (listed below, not counted as a difference). The machine is shared: "
             "the load average above says how busy it was.")
    if listed:
        notes += "\n\n" + "\n".join(listed)
    path = write_report("exact_batch.md", "Exact benchmark on worker processes", table, notes=notes)
    print(table)
    print(f"written {path}")
    return 1 if any(r[3] or r[8] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
