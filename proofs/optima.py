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

Only ``spec``, ``M``, ``variant`` and ``optimum`` are required
(:data:`REQUIRED`): a table of one's own optima may leave the rest out, in
any order, and may carry columns of its own, which are ignored. A ``spec``
may also name a DAG file (any of :data:`dags.io.READ_SUFFIXES`), its path
relative to the table's folder.

:func:`read_optima` reads a table back, checking every cell, and names the
file and line of anything wrong (:class:`TableError`). The installed table is
:data:`TABLE`, found through :mod:`importlib.resources`.

Regenerate with ``python -m proofs.optima --output PATH`` (``--help`` for the
options); the table is written to ``PATH`` only, never into the installed
package (``-o proofs/data/optima.csv`` in a checkout replaces the table
there). The instances run side by side through :func:`pebble.jobs.run_tasks`
(``--workers N`` local processes, or a Dask cluster with ``--scheduler``);
every proof's schedule comes back to the submitting process and is checked by
the verifier there before its row is written, and the rows keep the order of
the grid whatever the number of workers. Optima proven by long runs of the exact benchmark
(``benchmarks/exact.py``, which saves each proven schedule) are added with
``--add-proven benchmarks/results/exact.jsonl --output PATH``: each saved
schedule is verified again and its I/O must equal the recorded optimum and
bound; the rows already in ``PATH`` (when it exists) are kept.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pathlib
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from dags import build, load_dag, osp_tiny_names
from dags.errors import PebbleError
from dags.io import READ_SUFFIXES
from pebble.engine import verify
from pebble.jobs import BatchError, disagreement, require_dask, run_tasks
from pebble.schedule_io import read_schedule
from pebble.solver import search, step_search
from pebble.solver.steps import MAX_NODES as STEPS_MAX_NODES

from .bound import normalize_variant

__all__ = ["COLUMNS", "REQUIRED", "GRID", "TABLE", "CertificationError", "Instance", "Optimum", "TableError", "certify",
           "certify_all", "dag_for_spec", "grid", "instance_memories", "main", "prove", "proven_rows",
           "read_optima", "rows_from_records", "table_row", "write_optima"]

COLUMNS = ("spec", "M", "variant", "optimum", "methods", "solver", "seconds")
REQUIRED = COLUMNS[:4]
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


class CertificationError(PebbleError):
    """A proof whose schedule the verifier rejects, or methods that disagree on an optimum: no table is written."""

    exit_code = 1


@dataclass(frozen=True)
class Optimum:
    """One certified optimum: a row of the table."""

    spec: str
    M: int
    variant: str
    optimum: int
    methods: str
    solver: str
    seconds: float | None
    line: int
    source: str | None = None  # the DAG file the spec names, resolved against the table's folder
    where: str = ""  # the file and line (or row) the row came from, for messages

    def describe(self) -> str:
        return f"{self.spec} M={self.M} {self.variant}"

    def dag(self):
        """The DAG of the row: its file, read afresh, or its builder spec, built once."""
        return load_dag(self.source) if self.source is not None else dag_for_spec(self.spec)

    def to_dict(self) -> dict:
        return {"spec": self.spec, "M": self.M, "variant": self.variant, "optimum": self.optimum,
                "methods": self.methods, "solver": self.solver, "seconds": self.seconds}


def _int_cell(where, column, text, minimum):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise TableError(f"{where}: column '{column}' must be an integer >= {minimum}, got {text!r}")
    return value


def _parse_row(path, line, cells, base=None, where=None) -> Optimum:
    """A row from its cells by column name (missing optional columns empty); ``base``: the folder of file specs."""
    where = where or f"{path} line {line}"
    get = {c: str(cells.get(c, "")).strip() for c in COLUMNS}
    if not get["spec"]:
        raise TableError(f"{where}: column 'spec' is empty")
    try:
        variant = normalize_variant(get["variant"])
    except ValueError as exc:
        raise TableError(f"{where}: column 'variant': {exc}") from None
    secs = None
    if get["seconds"]:
        try:
            secs = float(get["seconds"])
        except ValueError:
            raise TableError(f"{where}: column 'seconds' must be a number, got {get['seconds']!r}") from None
    spec = get["spec"]
    source = None
    if base is not None:
        candidate = pathlib.Path(base) / spec
        if spec.lower().endswith(READ_SUFFIXES) or candidate.is_file():
            source = str(candidate)
    return Optimum(spec, _int_cell(where, "M", get["M"], 1), variant, _int_cell(where, "optimum", get["optimum"], 0),
                   get["methods"], get["solver"], secs, line, source, where)


def read_optima(path=None) -> list[Optimum]:
    """The rows of a table of optima (default :data:`TABLE`), checked.

    Raises :class:`TableError` naming the file and line for a missing file,
    a header without the :data:`REQUIRED` columns, a malformed cell or a
    duplicated instance. A spec that names a DAG file is resolved against
    the table's folder (:attr:`Optimum.source`).
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
                if not set(REQUIRED) <= set(header) or len(set(header)) != len(header):
                    raise TableError(f"{path} line {line}: the header must be {','.join(COLUMNS)} (only "
                                     f"{','.join(REQUIRED)} are required, each once), got {','.join(header)}")
                continue
            if len(cells) != len(header):
                raise TableError(f"{path} line {line}: expected {len(header)} columns, got {len(cells)}")
            _add_row(rows, seen, _parse_row(path, line, dict(zip(header, cells)), base=path.parent))
    if header is None:
        raise TableError(f"{path}: empty file; the header must be {','.join(COLUMNS)}")
    return rows


def rows_from_records(records) -> list[Optimum]:
    """Table rows from mappings with the :data:`REQUIRED` keys (others optional), checked as a file's would be.

    File specs are relative to the working directory; messages name the row
    (``row 1`` is the first).
    """
    rows, seen = [], {}
    for number, record in enumerate(records, start=1):
        if isinstance(record, Optimum):
            _add_row(rows, seen, record)
            continue
        if not hasattr(record, "keys"):
            raise TableError(f"row {number}: expected a mapping with keys {', '.join(REQUIRED)}, "
                             f"got {type(record).__name__}")
        missing = [c for c in REQUIRED if c not in record]
        if missing:
            raise TableError(f"row {number}: missing {', '.join(missing)} (required: {', '.join(REQUIRED)})")
        _add_row(rows, seen, _parse_row("rows", number, record, base=".", where=f"row {number}"))
    return rows


def _add_row(rows, seen, row):
    key = (row.spec, row.M, row.variant)
    if key in seen:
        other = seen[key]
        place = other.where if other.where == f"row {other.line}" else f"line {other.line}"
        raise TableError(f"{row.where or f'line {row.line}'}: {row.describe()} is already on {place}")
    seen[key] = row
    rows.append(row)


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


@dataclass(frozen=True)
class Instance:
    """One instance of the grid with the time limit of each of its methods: a job of the regeneration."""

    spec: str
    M: int
    variant: str
    time_limit: float

    def describe(self) -> str:
        return f"{self.spec} M={self.M} {self.variant}"


def grid(*, time_limit=60.0, osp=False, osp_time_limit=600.0, only=()) -> list[Instance]:
    """The instances of the table in its order: :data:`GRID` (and with ``osp`` the osp-tiny DAGs).

    ``only`` keeps the specs that contain one of its strings.
    """
    specs = list(GRID) + ([f"osp:{name}" for name in osp_tiny_names()] if osp else [])
    instances = []
    for spec in specs:
        if only and not any(word in spec for word in only):
            continue
        memories = instance_memories(dag_for_spec(spec))
        if spec.startswith("osp:"):
            memories, variants, limit = [memories[0], 2 * memories[0]], OSP_VARIANTS, osp_time_limit
        else:
            variants, limit = VARIANTS, time_limit
        instances += [Instance(spec, M, variant, limit) for M in memories for variant in variants]
    return instances


def prove(dag, M, variant, *, time_limit, search_nodes=SEARCH_NODES) -> list[dict]:
    """Every proof of the optimum the methods find in time: dicts of ``method``, ``io``, ``lower_bound``,
    ``seconds``, ``solver`` (the OR-tools version for ``cp-sat``) and the schedule's ``codes``."""
    # OR-tools is heavy: it is imported only when a table is regenerated.
    from pebble.solver import solve
    from pebble.solver.cpsat_model import SOLVER_VERSION

    found = [solve(dag, M, variant=variant, time_limit=time_limit, searches=variant != "base")]
    # In the base game the CP-SAT model and the step search each give their own proof.
    if variant == "base" and dag.num_nodes <= STEPS_MAX_NODES:
        found.append(step_search(dag, M, time_limit=time_limit, max_states=12_000_000))
    if int(dag.needed.sum()) <= search_nodes:
        found.append(search(dag, M, variant=variant, time_limit=time_limit))
    proofs = []
    for r in found:
        if r.optimal:  # solve names the stage that proved it; a trivial bound counts as the method's own
            method = r.method if r.proved_by in (None, "trivial") else r.proved_by
            proofs.append({"method": method, "io": r.io, "lower_bound": r.lower_bound, "seconds": r.seconds,
                           "solver": f"ortools-{SOLVER_VERSION}" if method == "cp-sat" else "",
                           "codes": r.schedule.codes})
    return proofs


def table_row(spec, dag, M, variant, proofs):
    """The table row the ``proofs`` of :func:`prove` make, each schedule checked by the verifier here;
    ``None`` without a proof.

    Raises :class:`CertificationError` for a schedule that does not realise its
    proof's optimum, or for methods that disagree.
    """
    where = f"{spec} M={M} {variant}"
    for p in proofs:
        reason = disagreement(dag, p["codes"], M, variant=variant, io=p["io"], lower_bound=p["lower_bound"],
                              optimal=True)
        if reason is not None:
            raise CertificationError(f"{where}: the proof of {p['method']}: {reason}")
    if not proofs:
        return None
    if len({p["io"] for p in proofs}) > 1:
        found = ", ".join(f"{p['method']} {p['io']}" for p in proofs)
        raise CertificationError(f"{where}: the methods disagree on the optimum: {found}")
    methods = "+".join(p["method"] for p in proofs)
    return {"spec": spec, "M": M, "variant": variant, "optimum": int(proofs[0]["io"]), "methods": methods,
            "solver": next((p["solver"] for p in proofs if p["method"] == "cp-sat"), ""),
            "seconds": f"{min(p['seconds'] for p in proofs):.2f}"}


def certify(spec, dag, M, variant, *, time_limit, search_nodes=SEARCH_NODES):
    """A table row for one instance, proven and verified in this process, or ``None`` if no method proved
    its optimum in time."""
    return table_row(spec, dag, M, variant, prove(dag, M, variant, time_limit=time_limit, search_nodes=search_nodes))


def _prove_instance(instance: Instance) -> dict:
    """What a worker runs: the proofs of one instance."""
    dag = dag_for_spec(instance.spec)
    return {"proofs": prove(dag, instance.M, instance.variant, time_limit=instance.time_limit)}


def certify_all(instances, *, workers=None, scheduler=None, log=None):
    """The table rows of ``instances`` (in their order; not proven ones left out), proven by worker processes
    (or on the Dask cluster ``scheduler``) and verified here.

    ``log(line)`` is called with one line per instance as it ends. Raises
    :class:`CertificationError` naming every instance whose proofs failed a
    check or whose job did not finish (its worker died twice, or it raised).
    """
    instances = list(instances)
    problems, ended = [], [0]

    def finish(instance, outcome, attempts):
        row = None
        if outcome.get("status") == "error":
            problems.append(f"{instance.describe()}: {outcome['reason']}")
            status = f"error: {outcome['reason']}"
        else:
            try:
                row = table_row(instance.spec, dag_for_spec(instance.spec), instance.M, instance.variant,
                                outcome["proofs"])
            except CertificationError as exc:
                problems.append(str(exc))
                status = f"failed check: {exc}"
            else:
                status = "not proven" if row is None else f"{row['optimum']} ({row['methods']}, {row['seconds']} s)"
        ended[0] += 1
        if log is not None:
            log(f"{instance.describe()}: {status} [{ended[0]}/{len(instances)}]")
        return row

    rows = run_tasks(instances, _prove_instance, finish, workers=workers, scheduler=scheduler)
    if problems:
        raise CertificationError("; ".join(problems))
    return [row for row in rows if row is not None]


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
            seconds = "" if o.seconds is None else f"{o.seconds:.2f}"
            old[(o.spec, o.M, o.variant)] = {c: getattr(o, c) for c in COLUMNS} | {"seconds": seconds}
    for row in new_rows:
        key = (row["spec"], row["M"], row["variant"])
        if key in old and int(old[key]["optimum"]) != row["optimum"]:
            raise TableError(f"{row['spec']} M={row['M']} {row['variant']}: the table has optimum "
                             f"{old[key]['optimum']}, the benchmark proved {row['optimum']}")
        if key not in old:
            old[key] = row
    return list(old.values())


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proofs.optima", description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", required=True,
                        help="CSV to write (in a checkout, proofs/data/optima.csv replaces the table there)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance and method")
    parser.add_argument("--osp", action="store_true",
                        help="add the osp-tiny DAGs at the smallest M and twice it, one-shot")
    parser.add_argument("--osp-time-limit", type=float, default=600.0, help="seconds per osp-tiny instance")
    parser.add_argument("--only", default="", help="comma-separated substrings: only the specs that contain one")
    parser.add_argument("--workers", type=_positive_int, default=os.cpu_count() or 1,
                        help="instances proven side by side by local worker processes (default: all cores)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="prove the instances on the Dask cluster at this address (tcp://host:port)")
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
    start = time.perf_counter()
    try:
        if args.scheduler:
            require_dask()
        instances = grid(time_limit=args.time_limit, osp=args.osp, osp_time_limit=args.osp_time_limit,
                         only=[w for w in args.only.split(",") if w])
        if not instances:
            raise TableError(f"argument '--only': no spec of the grid contains {args.only!r}")
        rows = certify_all(instances, workers=args.workers, scheduler=args.scheduler,
                           log=lambda line: print(line, file=sys.stderr, flush=True))
    except (BatchError, TableError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except CertificationError as e:
        print(f"error: {e}; the table is not written", file=sys.stderr)
        return 1
    write_optima(args.output, rows)
    print(f"wrote {args.output}: {len(rows)} proven optima in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
