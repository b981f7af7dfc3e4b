"""The regression of every bound against the certified optima.

The table ``proofs/data/optima.csv`` (format, reading and writing in
:mod:`proofs.optima`) lists optima that an exact method proved, one instance
a line: ``spec,M,variant,optimum,methods,solver,seconds``. A table of one's
own optima needs only ``spec,M,variant,optimum``, and its specs may name DAG
files (relative to the table); :func:`check_table` also takes the rows as
mappings, and :mod:`proofs.pytest_plugin` runs it from a test suite.

:func:`check_table` holds, for every row, every applicable lower bound
``<=`` the optimum ``<=`` every upper bound (the verified schedules of the
strategies), and checks the table against itself: the optimum never
increases with M, and the base game never costs more than a restriction of
it. Any failure is a :class:`Finding` naming the instance, the values and the
bound. A bound that fails is a finding about the bound (or the optimum), not
something to loosen.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import numpy as np

from dags import DAGFileError, SpecError

from .bound import BoundError, bounds_for, game_flags
from .optima import TABLE, Optimum, TableError, read_optima, rows_from_records

__all__ = ["Finding", "RowResult", "CheckResult", "fingerprint", "find_optimum", "check_row", "check_table",
           "table_findings"]


def fingerprint(dag) -> str:
    """A digest of the structure the game sees: predecessor lists and outputs.

    Two DAGs with the same fingerprint have the same optimum, whatever they
    are called or however they were given (a spec, a file, a conversion).
    """
    h = hashlib.sha1()
    for arr in (dag.indptr, dag.indices, np.sort(dag.outputs)):
        h.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
        h.update(b"|")
    return h.hexdigest()


def find_optimum(dag, M, variant="base", *, table=None):
    """The certified optimum of ``(dag, M, variant)`` from a table, or ``None``.

    Rows match by :func:`fingerprint`, so a DAG given as a file matches the
    row of the builder spec it was written from.
    """
    flags = game_flags(variant)
    key = fingerprint(dag)
    for row in read_optima(table):
        if row.M != M or game_flags(row.variant) != flags:
            continue
        other = row.dag()
        if other.num_nodes == dag.num_nodes and fingerprint(other) == key:
            return row
    return None


@dataclass(frozen=True)
class Finding:
    """A failed check: the instance, what failed, and the values."""

    instance: str
    kind: str  # 'lower', 'upper' or 'table'
    bound: str
    value: float
    optimum: int
    message: str

    def to_dict(self) -> dict:
        return {"instance": self.instance, "kind": self.kind, "bound": self.bound, "value": self.value,
                "optimum": self.optimum, "message": self.message}


@dataclass
class RowResult:
    """The bounds of one row against its optimum."""

    row: Optimum
    status: str  # 'ok' or 'violation'
    lower: object = None  # best lower Bound
    upper: object = None  # best upper Bound
    bounds: list = field(default_factory=list)
    note: str = ""

    def to_dict(self) -> dict:
        return {**self.row.to_dict(), "status": self.status, "note": self.note,
                "best_lower": None if self.lower is None else {"name": self.lower.name, "value": self.lower.value},
                "best_upper": None if self.upper is None else {"name": self.upper.name, "value": self.upper.value},
                "bounds": [{"name": b.name, "kind": b.kind, "value": b.value} for b in self.bounds]}


@dataclass
class CheckResult:
    """Every row checked, and every finding."""

    table: str
    rows: list
    findings: list

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict:
        return {"table": self.table, "ok": self.ok, "checked": len(self.rows),
                "findings": [f.to_dict() for f in self.findings],
                "rows": [r.to_dict() for r in self.rows]}


def check_row(row: Optimum) -> tuple[RowResult, list]:
    """Every bound that applies to one row, against its optimum; messages start with the row's file and line."""
    dag = row.dag()
    named = f"{row.where}: {row.describe()}" if row.where else row.describe()
    try:
        bounds = bounds_for(dag, row.M, variant=row.variant)
    except BoundError as exc:
        finding = Finding(row.describe(), "table", "-", float("nan"), row.optimum, f"{named}: {exc}")
        return RowResult(row, "violation", note=str(exc)), [finding]
    findings = []
    for b in bounds:
        if b.kind == "lower" and b.value > row.optimum:
            findings.append(Finding(row.describe(), "lower", b.name, b.value, row.optimum,
                                    f"{named}: lower bound '{b.name}' = {b.value:g} exceeds the certified "
                                    f"optimum {row.optimum} ({b.formula})"))
        if b.kind == "upper" and b.value < row.optimum:
            findings.append(Finding(row.describe(), "upper", b.name, b.value, row.optimum,
                                    f"{named}: upper bound '{b.name}' = {b.value:g} is below the certified "
                                    f"optimum {row.optimum}: the optimum is not optimal, or the verifier is wrong"))
    lows = [b for b in bounds if b.kind == "lower"]
    ups = [b for b in bounds if b.kind == "upper"]
    result = RowResult(row, "violation" if findings else "ok",
                       max(lows, key=lambda b: b.value) if lows else None,
                       min(ups, key=lambda b: b.value) if ups else None, bounds)
    return result, findings


def table_findings(rows) -> list:
    """The table against itself: monotone in M, and no restriction cheaper than the base game."""
    findings = []
    by_instance = {}
    for row in rows:
        by_instance.setdefault((row.spec, row.variant), []).append(row)
    for (spec, variant), group in by_instance.items():
        group.sort(key=lambda r: r.M)
        for small, large in zip(group, group[1:]):
            if large.optimum > small.optimum:
                findings.append(Finding(large.describe(), "table", "monotone in M", large.optimum, small.optimum,
                                        f"{spec} {variant}: the optimum {large.optimum} at M={large.M} (line "
                                        f"{large.line}) exceeds {small.optimum} at M={small.M} (line {small.line}); "
                                        f"more red pebbles never cost more"))
    index = {(r.spec, r.M, r.variant): r for r in rows}
    for (spec, M, variant), row in index.items():
        flags = game_flags(variant)
        for (spec2, M2, variant2), other in index.items():
            if spec2 == spec and M2 == M and game_flags(variant2) < flags and other.optimum > row.optimum:
                findings.append(Finding(row.describe(), "table", f"{variant2} <= {variant}", other.optimum,
                                        row.optimum, f"{spec} M={M}: the {variant2} optimum {other.optimum} (line "
                                        f"{other.line}) exceeds the {variant} optimum {row.optimum} (line {row.line}); "
                                        f"a restricted game never costs less"))
    return findings


def check_table(path_or_rows=None, *, progress=None) -> CheckResult:
    """Hold every registered bound against every certified optimum of a table.

    Parameters
    ----------
    path_or_rows : path or iterable of mappings, optional
        A CSV table (default :data:`TABLE`; only ``spec,M,variant,optimum``
        are required, and a spec may name a DAG file relative to the table),
        or the rows themselves as mappings with those keys. A missing or
        empty table is an error: a regression over nothing must not pass.
    progress : callable, optional
        Called with ``(index, count, row)`` before each row.

    Returns
    -------
    CheckResult
        ``ok`` when nothing failed; ``findings`` name every failure and its row.

    Examples
    --------
    >>> result = check_table([{"spec": "pyramid:h=2", "M": 3, "variant": "base", "optimum": 6}])
    >>> result.ok, result.table
    (True, 'rows')
    """
    if path_or_rows is None or isinstance(path_or_rows, (str, bytes, os.PathLike)):
        rows, name = read_optima(path_or_rows), str(path_or_rows or TABLE)
    else:
        rows, name = rows_from_records(path_or_rows), "rows"
    if not rows:
        raise TableError(f"{name}: the table has no rows; a regression over nothing would pass silently")
    results, findings = [], table_findings(rows)
    for i, row in enumerate(rows):
        if progress is not None:
            progress(i, len(rows), row)
        try:
            result, found = check_row(row)
        except (SpecError, DAGFileError) as exc:
            raise TableError(f"{row.where or f'{name} line {row.line}'}: column 'spec': {exc}") from None
        results.append(result)
        findings.extend(found)
    return CheckResult(name, results, findings)
