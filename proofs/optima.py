"""The certified table of optima: ``proofs/data/optima.csv``, read, written and regenerated.

Format
------
CSV with a header and one row per instance, columns in this order:

``spec``
    A builder spec accepted by :func:`dags.build`: ``pyramid:h=4``, or
    ``osp:k-means`` for the osp-tiny DAGs shipped in :mod:`dags`.
``M``
    Red pebbles.
``variant``
    ``base`` or ``one-shot``.
``optimum``
    The optimal I/O (loads + stores). Only proven optima are listed.
``methods``
    Every method that proved it, joined by ``+``: ``cp-sat`` (:func:`solve`,
    its bound proven by the CP-SAT model), ``ideals`` (:func:`solve` or
    :func:`ideal_search`, the bound proven by the A* over ideals, one-shot
    only), ``steps`` (:func:`solve` or :func:`step_search`, the bound proven
    by the A* in steps of one compute, base only) and ``search``
    (:func:`search`, A* over configurations). Where two ran they agree, or
    the table is not written.
``solver``
    The OR-tools version, for rows CP-SAT proved; empty otherwise.
``seconds``
    Wall time of the fastest proof, on the machine that wrote the table.

:func:`read_optima` reads a table back, checking every cell, and names the
file and line of anything wrong (:class:`TableError`). The installed table is
:data:`TABLE`, found through :mod:`importlib.resources`.

Regenerate with ``python -m proofs.optima --output PATH`` (``--help`` for the
options); the table is written to ``PATH`` only, never into the installed
package (``-o proofs/data/optima.csv`` in a checkout replaces the table
there). Each optimum's schedule is checked by the verifier before its row is
written. Optima proven by long runs of the exact benchmark
(``benchmarks/exact.py``, which saves each proven schedule) are added with
``--add-proven benchmarks/results/exact.jsonl --output PATH``: each saved
schedule is verified again and its I/O must equal the recorded optimum and
bound; the rows already in ``PATH`` (when it exists) are kept.
"""

from __future__ import annotations

import argparse
import csv
import json
import pathlib
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from dags import build, osp_tiny_names
from dags.errors import PebbleError
from pebble.engine import verify
from pebble.schedule_io import read_schedule
from pebble.solver import search, step_search
from pebble.solver.steps import MAX_NODES as STEPS_MAX_NODES

from .bound import normalize_variant

__all__ = ["COLUMNS", "GRID", "TABLE", "Optimum", "TableError", "certify", "dag_for_spec", "instance_memories",
           "main", "proven_rows", "read_optima", "write_optima"]

COLUMNS = ("spec", "M", "variant", "optimum", "methods", "solver", "seconds")
#: The installed table (a :class:`pathlib.Path` for a package installed as files).
TABLE = files(__package__).joinpath("data", "optima.csv")

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
OSP_VARIANTS = ("one-shot",)  # the game the benchmark runs them in (benchmarks/exact.py)
# The A* search runs as a second proof on DAGs up to this many needed nodes.
SEARCH_NODES = 21


class TableError(PebbleError, ValueError):
    """A table of optima, or a results file to add to one, that cannot be used; names the file and line."""


@dataclass(frozen=True)
class Optimum:
    """One certified optimum: a row of the table."""

    spec: str
    M: int
    variant: str
    optimum: int
    methods: str
    solver: str
    seconds: float
    line: int

    def describe(self) -> str:
        return f"{self.spec} M={self.M} {self.variant}"

    def to_dict(self) -> dict:
        return {"spec": self.spec, "M": self.M, "variant": self.variant, "optimum": self.optimum,
                "methods": self.methods, "solver": self.solver, "seconds": self.seconds}


def _int_cell(path, line, column, text, minimum):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise TableError(f"{path} line {line}: column '{column}' must be an integer >= {minimum}, got {text!r}")
    return value


def _parse_row(path, line, cells) -> Optimum:
    if len(cells) != len(COLUMNS):
        raise TableError(f"{path} line {line}: expected {len(COLUMNS)} columns, got {len(cells)}")
    spec, M, variant, optimum, methods, solver, seconds = cells
    if not spec:
        raise TableError(f"{path} line {line}: column 'spec' is empty")
    try:
        variant = normalize_variant(variant)
    except ValueError as exc:
        raise TableError(f"{path} line {line}: column 'variant': {exc}") from None
    try:
        secs = float(seconds)
    except ValueError:
        raise TableError(f"{path} line {line}: column 'seconds' must be a number, got {seconds!r}") from None
    return Optimum(spec, _int_cell(path, line, "M", M, 1), variant, _int_cell(path, line, "optimum", optimum, 0),
                   methods, solver, secs, line)


def read_optima(path=None) -> list[Optimum]:
    """The rows of a table of optima (default :data:`TABLE`), checked.

    Raises :class:`TableError` naming the file and line for a missing file,
    a wrong header, a malformed cell or a duplicated instance.
    """
    path = pathlib.Path(path or TABLE)
    try:
        handle = open(path, newline="")
    except OSError as exc:
        raise TableError(f"cannot read the table of optima {path}: {exc.strerror or exc}") from None
    rows, seen, header = [], {}, None
    with handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            cells = [c.strip() for c in next(csv.reader([text]))]
            if header is None:
                header = cells
                if tuple(header) != COLUMNS:
                    raise TableError(f"{path} line {line}: the header must be {','.join(COLUMNS)}, "
                                     f"got {','.join(header)}")
                continue
            row = _parse_row(path, line, cells)
            key = (row.spec, row.M, row.variant)
            if key in seen:
                raise TableError(f"{path} line {line}: {row.describe()} is already on line {seen[key]}")
            seen[key] = line
            rows.append(row)
    if header is None:
        raise TableError(f"{path}: empty file; the header must be {','.join(COLUMNS)}")
    return rows


def write_optima(path, rows) -> None:
    """Write table rows (dicts with the :data:`COLUMNS`) to ``path``."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@lru_cache(maxsize=256)
def dag_for_spec(spec: str):
    """The DAG a table spec names, built once per spec."""
    return build(spec)


def instance_memories(dag) -> list[int]:
    """The M values of the grid: the smallest feasible, one more, and twice it."""
    m0 = dag.min_memory()
    return sorted({m0, m0 + 1, 2 * m0})


def certify(spec, dag, M, variant, *, time_limit, search_nodes=SEARCH_NODES):
    """A table row for one instance, or ``None`` if no method proved its optimum in time."""
    # OR-tools is heavy: it is imported only when a table is regenerated.
    from pebble.solver import solve
    from pebble.solver.cpsat_model import SOLVER_VERSION

    proofs = []
    # In the base game the CP-SAT model and the step search each give their own proof.
    result = solve(dag, M, variant=variant, time_limit=time_limit, searches=variant != "base")
    if result.optimal:
        proofs.append((result.method if result.proved_by in (None, "trivial") else result.proved_by, result.io,
                       result.seconds))
    if variant == "base" and dag.num_nodes <= STEPS_MAX_NODES:
        found = step_search(dag, M, time_limit=time_limit, max_states=12_000_000)
        if found.optimal:
            proofs.append(("steps", found.io, found.seconds))
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


def proven_rows(results):
    """Table rows for the optima ``solve`` proved in a benchmark results file, each schedule verified again.

    A line that is not a results row, or names a schedule that cannot be read,
    raises :class:`TableError` naming the file and line.
    """
    results = pathlib.Path(results)
    rows = {}
    with open(results, encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                raise TableError(f"{results}:{line_number}: not a JSON object: {e}") from None
            if not isinstance(r, dict):
                raise TableError(f"{results}:{line_number}: not a JSON object")
            if r.get("method") != "cp-sat" or r.get("status") != "optimal" or "proved_by" not in r:
                continue  # not a proof of solve's, or one that does not say what proved it
            try:
                dag = dag_for_spec(r["instance"])
                report = verify(dag, read_schedule(results.parent / r["schedule"], dag), r["M"], variant=r["variant"])
            except KeyError as e:
                raise TableError(f"{results}:{line_number}: the row has no {e}") from None
            except (ValueError, TypeError) as e:
                raise TableError(f"{results}:{line_number}: {e}") from None
            if not report.valid or report.io != r["io"] or r["io"] != r["lower_bound"]:
                raise TableError(f"{results}:{line_number}: the saved schedule of {r['instance']} M={r['M']} "
                                 f"{r['variant']} does not realise the recorded optimum {r['io']} "
                                 f"(valid {report.valid}, I/O {report.io}, bound {r['lower_bound']})")
            key = (r["instance"], r["M"], r["variant"])
            method = r["proved_by"]
            row = {"spec": key[0], "M": key[1], "variant": key[2], "optimum": r["io"], "methods": method,
                   "solver": r["solver"].replace(" ", "-") if method == "cp-sat" else "",
                   "seconds": f"{r['seconds']:.2f}"}
            if key not in rows or float(row["seconds"]) < float(rows[key]["seconds"]):
                rows[key] = row
    return list(rows.values())


def _merge(path, new_rows):
    """The rows of the table at ``path`` (if any) with ``new_rows`` added (an instance already there must agree)."""
    old = {}
    if pathlib.Path(path).exists():
        for o in read_optima(path):
            old[(o.spec, o.M, o.variant)] = {c: getattr(o, c) for c in COLUMNS} | {"seconds": f"{o.seconds:.2f}"}
    for row in new_rows:
        key = (row["spec"], row["M"], row["variant"])
        if key in old and int(old[key]["optimum"]) != row["optimum"]:
            raise TableError(f"{row['spec']} M={row['M']} {row['variant']}: the table has optimum "
                             f"{old[key]['optimum']}, the benchmark proved {row['optimum']}")
        if key not in old:
            old[key] = row
    return list(old.values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proofs.optima", description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", required=True,
                        help="CSV to write (in a checkout, proofs/data/optima.csv replaces the table there)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance and method")
    parser.add_argument("--osp", action="store_true",
                        help="add the osp-tiny DAGs at the smallest M and twice it, one-shot")
    parser.add_argument("--osp-time-limit", type=float, default=600.0, help="seconds per osp-tiny instance")
    parser.add_argument("--add-proven", metavar="RESULTS",
                        help="only add the optima proven in a benchmarks/exact.py results file to the table "
                             "at --output (created if absent)")
    args = parser.parse_args(argv)
    if args.add_proven:
        try:
            rows = _merge(args.output, proven_rows(args.add_proven))
        except (TableError, OSError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        write_optima(args.output, rows)
        print(f"wrote {args.output}: {len(rows)} proven optima", file=sys.stderr)
        return 0
    specs = list(GRID)
    if args.osp:
        specs += [f"osp:{name}" for name in osp_tiny_names()]
    rows, start = [], time.perf_counter()
    for spec in specs:
        dag = dag_for_spec(spec)
        memories = instance_memories(dag)
        osp = spec.startswith("osp:")
        if osp:
            memories = [memories[0], 2 * memories[0]]
        variants, limit = (OSP_VARIANTS, args.osp_time_limit) if osp else (VARIANTS, args.time_limit)
        for M in memories:
            for variant in variants:
                row = certify(spec, dag, M, variant, time_limit=limit)
                status = "not proven" if row is None else f"{row['optimum']} ({row['methods']}, {row['seconds']} s)"
                print(f"{spec} M={M} {variant}: {status}", file=sys.stderr, flush=True)
                if row is not None:
                    rows.append(row)
    write_optima(args.output, rows)
    print(f"wrote {args.output}: {len(rows)} proven optima in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
