"""Exact optimal pebbling: ``solve`` against the plain time-expanded model.

For each instance (DAG, M, variant): the optimum or [lower, upper] and the
time to prove it with 2 workers, for ``solve`` (pebble.solver.portfolio: the
ideal search, then the CP-SAT model; ``proved_by`` records which proved the
bound; the method is named ``cp-sat`` in the results) and, in
the same run, for the plain model (pebble.solver.plain_model: one move per
step, red and blue per node and step, the heuristic's length as horizon).

Targets: every instance of at most 30 nodes proven optimal in at most 60 s;
median time to proof at least 10x better than the plain model; as many
osp-tiny instances (smallest feasible M and twice it) proven as possible.
Where the plain model does not finish, its time is the limit and the ratio a
lower bound ("> x").

The plain model runs on the instances of at most ``--plain-max-nodes`` (30)
nodes: beyond that it proves nothing in its time limit and the ratio is
undefined. The osp-tiny DAGs run in the ``--osp-variants`` (one-shot, where the
model is exact) with ``--osp-time-limit`` (600 s) each.

The runs go through :func:`pebble.jobs.run_tasks`: ``--workers N`` (default
1, so that a run's time is that of one solve on an otherwise quiet machine)
solves run side by side in worker processes, each solve keeping its 2 CP-SAT
threads (the ``workers`` of a row). Every schedule a worker returns is checked
by the verifier in this process before its row is written. Results are
appended to benchmarks/results/exact.jsonl as each run ends; a run already in
the file (same instance, method and time limit) is skipped, so an
interrupted benchmark resumes where it stopped (``--redo`` runs it again; the
summary takes the last run). The machine's load average when the run starts
is recorded with it. The schedule of every optimum CP-SAT proves is saved
in benchmarks/results/optima/, from where ``python -m proofs.optima
--add-proven benchmarks/results/exact.jsonl -o proofs/data/optima.csv``
verifies it again and adds it to the certified table.

    python benchmarks/exact.py [--only pyramid,tree] [--variants base,one-shot]
                               [--methods cp-sat,plain] [--time-limit 60] [--osp-time-limit 600]
                               [--max-nodes 30] [--workers 1] [--redo]
    python benchmarks/exact.py --summary        # only summarise the results file

The summary tables are printed and written to exact.md beside the results file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pathlib
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass

from _report import write_report

from dags import build, osp_tiny_names
from pebble.jobs import disagreement, read_rows, run_tasks
from pebble.moves import Schedule
from pebble.schedule_io import write_schedule
from pebble.solver import solve
from pebble.solver.plain_model import plain_solve

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "exact.jsonl"

FAMILIES = [
    "pyramid:h=3", "pyramid:h=4", "pyramid:h=5", "pyramid:h=6",
    "tree:h=3", "tree:h=4",
    "fft:k=3",
    "matvec:n=2", "matvec:n=3", "matvec:n=4",
    "matmul:n=2,k=2,m=2",
    "attention:n=2,d=1", "attention:n=2,d=2", "attention:n=3,d=1",
    "approx:n=2,d=1,g=1", "approx:n=3,d=1,g=1", "approx:n=4,d=1,g=1", "approx:n=2,d=1,g=2",
    "layered:layers=4,width=4,seed=1", "layered:layers=5,width=5,seed=2", "layered:layers=6,width=5,seed=3",
]


def instances(only, max_nodes=None):
    """``(name, dag, [M...], is_osp)`` for every instance whose name contains one of ``only``."""
    specs = [(s, False) for s in FAMILIES]
    specs += [(f"osp:{name}", True) for name in osp_tiny_names()]
    for name, osp in specs:
        if only and not any(word in name for word in only):
            continue
        dag = build(name)
        if max_nodes is not None and dag.num_nodes > max_nodes:
            continue
        m0 = dag.min_memory()
        yield name, dag, ([m0, 2 * m0] if osp else sorted({m0, m0 + 1, 2 * m0})), osp


def load_results(path):
    return read_rows(path, row_key)


@dataclass(frozen=True)
class Run:
    """One solve of the benchmark: instance, M, variant, method and time limit (what identifies a row)."""

    instance: str
    M: int
    variant: str
    method: str
    time_limit: float

    def key(self):
        return (self.instance, self.M, self.variant, self.method, self.time_limit)


def row_key(row):
    return (row["instance"], row["M"], row["variant"], row["method"], row["time_limit"])


def run_one(method, dag, M, variant, time_limit):
    if method == "cp-sat":
        return solve(dag, M, variant=variant, time_limit=time_limit, workers=2)
    return plain_solve(dag, M, variant=variant, time_limit=time_limit, workers=2)


def solve_run(run):
    """What a worker runs: one solve, its figures and its schedule's codes."""
    load = os.getloadavg()[0]
    r = run_one(run.method, build(run.instance), run.M, run.variant, run.time_limit)
    return {"status": r.status, "io": r.io, "lower_bound": r.lower_bound, "seconds": r.seconds,
            "proved_by": r.proved_by, "solver": r.stats.get("solver", ""), "load_average": load,
            "codes": None if r.schedule is None else r.schedule.codes}


def planned_runs(args):
    """The runs the arguments ask for, in order, and the DAG of each instance."""
    runs, dags = [], {}
    only = [w for w in args.only.split(",") if w]
    for name, dag, memories, osp in instances(only, args.max_nodes):
        dags[name] = dag
        for M in memories:
            for variant in (args.osp_variants if osp else args.variants).split(","):
                for method in args.methods.split(","):
                    if method == "plain" and dag.num_nodes > args.plain_max_nodes:
                        continue
                    limit = args.plain_time_limit if method == "plain" else (
                        args.osp_time_limit if osp else args.time_limit)
                    runs.append(Run(name, M, variant, method, limit))
    return runs, dags


def run_all(runs, dags, path, *, workers, redo):
    """Run ``runs`` on ``workers`` processes, each outcome verified here, each row appended to ``path``;
    the number of runs that failed (a schedule the verifier rejects, a worker that died twice)."""
    failed = []

    def finish(run, out, attempts):
        where = f"{run.instance} M={run.M} {run.variant} {run.method}"
        dag = dags[run.instance]
        reason = out.get("reason") if out["status"] == "error" else disagreement(
            dag, out["codes"], run.M, variant=run.variant, io=out["io"], lower_bound=out["lower_bound"],
            optimal=out["status"] == "optimal")
        if reason is not None:
            failed.append(where)
            print(f"{where}: error: {reason}", flush=True)
            return None  # no row: the run is tried again next time
        row = {"instance": run.instance, "nodes": dag.num_nodes, "M": run.M, "variant": run.variant,
               "method": run.method, "status": out["status"], "io": out["io"], "lower_bound": out["lower_bound"],
               "seconds": round(out["seconds"], 3), "time_limit": run.time_limit, "workers": 2,
               "load_average": round(out["load_average"], 2), "solver": out["solver"]}
        if run.method == "cp-sat" and out["status"] == "optimal":
            row["proved_by"] = out["proved_by"]  # the stage whose bound met the schedule (see solve)
            row["schedule"] = save_schedule(path.parent, run.instance, dag, run.M, run.variant, Schedule(out["codes"]),
                                            out["io"], out["proved_by"], out["solver"])
        bound = out["io"] if out["status"] == "optimal" else f"[{out['lower_bound']}, {out['io']}]"
        print(f"{where}: {out['status']} {bound} in {out['seconds']:.1f} s", flush=True)
        return row

    run_tasks(runs, solve_run, finish, key=Run.key, workers=workers, results_path=path, row_key=row_key,
              resume=not redo)
    return len(failed)


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default="", help="comma-separated substrings of instance names to run")
    p.add_argument("--variants", default="base,one-shot")
    p.add_argument("--methods", default="cp-sat,plain")
    p.add_argument("--time-limit", type=float, default=60.0, help="seconds per run (families)")
    p.add_argument("--osp-time-limit", type=float, default=600.0, help="seconds per CP-SAT run on osp-tiny")
    p.add_argument("--plain-time-limit", type=float, default=60.0, help="seconds per run of the plain model")
    p.add_argument("--plain-max-nodes", type=int, default=30, help="run the plain model up to this many nodes")
    p.add_argument("--osp-variants", default="one-shot", help="variants of the osp-tiny runs")
    p.add_argument("--max-nodes", type=int, default=None, help="only instances of at most this many nodes")
    p.add_argument("--workers", type=int, default=1, help="solves run side by side in worker processes (default 1)")
    p.add_argument("--redo", action="store_true", help="run again instances already in the results file")
    p.add_argument("--results", default=str(RESULTS))
    p.add_argument("--summary", action="store_true", help="only summarise the results file")
    return p


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"argument --workers: must be a positive integer, got {args.workers}")
    path = pathlib.Path(args.results)
    path.parent.mkdir(parents=True, exist_ok=True)
    failed = 0
    if not args.summary:
        failed = run_all(*planned_runs(args), path, workers=args.workers, redo=args.redo)
    with contextlib.redirect_stdout(io.StringIO()) as summary:
        summarise(load_results(path))
    print(summary.getvalue(), end="")
    write_report(path.parent / "exact.md", "Exact benchmark", summary.getvalue(), measured=f"the runs in `{path.name}`",
                 notes=f"Summarised from `{path.name}`: the longest run of each instance counts; at that limit, "
                       "a proof over a run that stopped. Each run, with the load average while it ran, is a line "
                       "of that file.")
    return 1 if failed else 0


def save_schedule(folder, name, dag, M, variant, schedule, io, method, solver):
    """Write a proven optimum's schedule in ``folder/optima``; its path relative to ``folder``."""
    optima = folder / "optima"
    optima.mkdir(parents=True, exist_ok=True)
    stem = name.replace(":", "-").replace(",", "-")
    path = optima / f"{stem}.M{M}.{variant}.sched"
    write_schedule(path, schedule, dag, comment=f"{name} M={M} {variant}: optimal I/O {io} "
                   f"proven by {method} ({solver})")
    return str(path.relative_to(folder))


def summarise(rows):
    """Tables and the figures against the targets, per variant."""
    latest = {}
    for r in rows:  # the longest limit counts; at that limit a proof, else the latest run
        key = (r["instance"], r["M"], r["variant"], r["method"])
        old = latest.get(key)
        newer = (r["time_limit"], r["status"] == "optimal")
        if old is None or newer >= (old["time_limit"], old["status"] == "optimal"):
            latest[key] = r
    for variant in sorted({k[2] for k in latest}):
        print(f"\n## {variant}\n")
        print("| instance | nodes | M | optimum or [lower, upper] | proved by | solve s | plain | plain s | ratio |")
        print("|---|---:|---:|---|---|---:|---|---:|---:|")
        ratios, small, small_proven, small_max, small_missed = [], 0, 0, 0.0, []
        osp_proven, osp_limits = [], defaultdict(lambda: [0, 0])  # time limit -> [run, proven]
        for key in sorted(k for k in latest if k[2] == variant and k[3] == "cp-sat"):
            r = latest[key]
            plain = latest.get(key[:3] + ("plain",))
            value = r["io"] if r["status"] == "optimal" else f"[{r['lower_bound']}, {r['io']}]"
            proven = r["status"] == "optimal"
            cells = [r["instance"], r["nodes"], r["M"], value, r.get("proved_by", "") if proven else "",
                     f"{r['seconds']:.2f}" if proven else "-"]
            ratio = ""
            if plain is not None:
                pv = plain["io"] if plain["status"] == "optimal" else f"[{plain['lower_bound']}, {plain['io']}]"
                cells += [pv, f"{plain['seconds']:.1f}"]
                if r["status"] == "optimal":
                    x = plain["seconds"] / max(r["seconds"], 1e-3)
                    ratios.append(x)
                    ratio = f"{x:.0f}x" if plain["status"] == "optimal" else f"> {x:.0f}x"
            else:
                cells += ["", ""]
            print("| " + " | ".join(str(c) for c in cells + [ratio]) + " |")
            if r["nodes"] <= 30:
                small += 1
                if r["status"] == "optimal" and r["seconds"] <= 60:
                    small_proven += 1
                    small_max = max(small_max, r["seconds"])
                else:
                    small_missed.append(f"{r['instance']} M={r['M']}")
            if r["instance"].startswith("osp:"):
                osp_limits[r["time_limit"]][0] += 1
                if r["status"] == "optimal":
                    osp_proven.append(r["seconds"])
                    osp_limits[r["time_limit"]][1] += 1
        print(f"\ninstances of at most 30 nodes proven in at most 60 s: {small_proven} of {small} "
              f"(slowest proof {small_max:.1f} s)" + (f"; not: {', '.join(small_missed)}" if small_missed else ""))
        if ratios:
            print(f"median time-to-proof ratio, plain / solve, over {len(ratios)} instances solve proved: "
                  f"{statistics.median(ratios):.0f}x (a lower bound where the plain model timed out)")
        if osp_limits:
            limits = "; ".join(f"{n_proven} of {n_run} run with {limit:.0f} s"
                               for limit, (n_run, n_proven) in sorted(osp_limits.items()))
            print(f"osp-tiny proven: {len(osp_proven)} of {sum(n for n, _ in osp_limits.values())} ({limits})"
                  + (f", slowest proof {max(osp_proven):.0f} s" if osp_proven else ""))


if __name__ == "__main__":
    sys.exit(main())
