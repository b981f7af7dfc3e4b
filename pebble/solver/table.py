"""The certified table of optima: ``proofs/data/optima.csv``, and the command that regenerates it.

Format
------
CSV with a header and one row per instance, columns in this order:

``spec``
    A builder spec accepted by :func:`dags.build` (``pyramid:h=4``), or
    ``osp-tiny/<file>.hdag`` for the OneStopParallel DAGs, resolved against
    the shared benchmarks folder (``../shared/benchmarks`` from the
    repository root, or ``$PEBBLE_SHARED/benchmarks``).
``M``
    Red pebbles.
``variant``
    ``base`` or ``one-shot``.
``optimum``
    The optimal I/O (loads + stores). Only proven optima are listed.
``methods``
    Every method that proved it, joined by ``+``: ``cp-sat`` (:func:`solve`)
    and ``search`` (:func:`search`, A* over configurations). Where both ran
    they agree, or the table is not written.
``solver``
    The OR-tools version, for rows CP-SAT proved; empty otherwise.
``seconds``
    Wall time of the fastest proof, on the machine that wrote the table.

Regenerate with ``python -m pebble.solver.table`` (``--help`` for the
options). Each optimum's schedule is checked by the verifier before its row
is written. :func:`proofs.check.read_optima` reads the table back, checking
every cell, and tests every lower bound against it.
"""

from __future__ import annotations

import argparse
import csv
import os
import pathlib
import sys
import time

__all__ = ["COLUMNS", "GRID", "TABLE_PATH", "build_instance", "certify", "instance_memories", "main",
           "shared_benchmarks"]

COLUMNS = ("spec", "M", "variant", "optimum", "methods", "solver", "seconds")
TABLE_PATH = pathlib.Path(__file__).resolve().parents[2] / "proofs" / "data" / "optima.csv"

# Small instances of every family; each at its smallest feasible M, one more, and twice it.
GRID = (
    "path:n=4", "path:n=8",
    "tree:h=2", "tree:h=3", "tree:h=4",
    "pyramid:h=2", "pyramid:h=3", "pyramid:h=4", "pyramid:h=5", "pyramid:h=6",
    "fft:k=2", "fft:k=3",
    "matvec:n=2", "matvec:n=3", "matvec:n=2,m=3",
    "matmul:n=2,k=2,m=2", "matmul:n=2,k=2,m=1",
    "stencil:n=4,t=2", "stencil:n=4,t=3", "stencil:n=5,t=3",
    "layered:layers=4,width=4,seed=0", "layered:layers=4,width=4,seed=1", "layered:layers=5,width=4,seed=2",
    "attention:n=2,d=1", "approx:n=2,d=1,g=1", "approx:n=3,d=1,g=1",
)
VARIANTS = ("base", "one-shot")
# The A* search runs as a second proof on DAGs up to this many needed nodes.
SEARCH_NODES = 21


def shared_benchmarks() -> pathlib.Path:
    """The shared benchmarks folder (``$PEBBLE_SHARED/benchmarks``, default ``../shared/benchmarks``)."""
    root = pathlib.Path(__file__).resolve().parents[2]
    return pathlib.Path(os.environ.get("PEBBLE_SHARED", root.parent / "shared")) / "benchmarks"


def build_instance(spec: str):
    """The DAG of a table spec: a builder spec or ``osp-tiny/<file>.hdag``."""
    from dags import build, read_dag

    if spec.startswith("osp-tiny/"):
        return read_dag(shared_benchmarks() / spec)
    return build(spec)


def instance_memories(dag) -> list[int]:
    """The M values of the grid: the smallest feasible, one more, and twice it."""
    m0 = dag.min_memory()
    return sorted({m0, m0 + 1, 2 * m0})


def certify(spec, dag, M, variant, *, time_limit, search_nodes=SEARCH_NODES):
    """A table row for one instance, or ``None`` if no method proved its optimum in time."""
    from . import search, solve
    from .cpsat import SOLVER_VERSION

    proofs = []
    result = solve(dag, M, variant=variant, time_limit=time_limit)
    if result.optimal:
        proofs.append(("cp-sat", result.io, result.seconds))
    if int(dag.needed.sum()) <= search_nodes:
        found = search(dag, M, variant=variant, time_limit=time_limit)
        if found.optimal:
            proofs.append(("search", found.io, found.seconds))
    if not proofs:
        return None
    values = {io for _, io, _ in proofs}
    if len(values) > 1:
        raise AssertionError(f"{spec} M={M} {variant}: the methods disagree: {proofs}")
    methods = "+".join(name for name, _, _ in proofs)
    return {"spec": spec, "M": M, "variant": variant, "optimum": proofs[0][1], "methods": methods,
            "solver": f"ortools-{SOLVER_VERSION}" if "cp-sat" in methods else "",
            "seconds": f"{min(s for _, _, s in proofs):.2f}"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pebble.solver.table", description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default=str(TABLE_PATH), help="CSV to write (default: %(default)s)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance and method")
    parser.add_argument("--osp", action="store_true", help="add the osp-tiny DAGs at the smallest M and twice it")
    args = parser.parse_args(argv)
    specs = list(GRID)
    if args.osp:
        specs += [f"osp-tiny/{p.name}" for p in sorted((shared_benchmarks() / "osp-tiny").glob("*.hdag"))]
    rows, start = [], time.perf_counter()
    for spec in specs:
        dag = build_instance(spec)
        memories = instance_memories(dag)
        if spec.startswith("osp-tiny/"):
            memories = [memories[0], 2 * memories[0]]
        for M in memories:
            for variant in VARIANTS:
                row = certify(spec, dag, M, variant, time_limit=args.time_limit)
                status = "not proven" if row is None else f"{row['optimum']} ({row['methods']}, {row['seconds']} s)"
                print(f"{spec} M={M} {variant}: {status}", file=sys.stderr, flush=True)
                if row is not None:
                    rows.append(row)
    with open(args.output, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.output}: {len(rows)} proven optima in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
