"""Batches of solves, bounds and strategy runs on a local process pool or a Dask cluster.

A :class:`Job` is one instance and one command: ``solve`` (an exact method of
:mod:`pebble.solver`), ``bound`` (every registered bound of :mod:`proofs`,
with the best strategy's schedule as the upper bound) or ``run`` (one
strategy of :mod:`pebble.strategies`). :func:`run_jobs` runs them through
:func:`pebble.jobs.run_tasks` (worker processes or Dask, a dead worker's job
run once more, resume from the results file), checks every schedule a worker
sends back with :func:`pebble.verify` (a worker is not trusted) and appends
one JSON row per job to a results file as each finishes.
:func:`read_jobs` reads the CSV that ``pebble batch`` takes. How to run a
batch on a cluster, and the row format: docs/batch.md.
"""

from __future__ import annotations

import csv
import functools
import math
import os
import pathlib
import socket
import time
from dataclasses import dataclass, fields

import numpy as np

from dags.errors import PebbleError

from .jobs import DASK_EXTRA, BatchError, ProgressBar, disagreement, read_rows, require_dask, run_tasks
from .solver import METHODS

__all__ = ["COMMANDS", "DASK_EXTRA", "BatchError", "Job", "ProgressBar", "check_job", "checked_row", "read_jobs",
           "read_results", "require_dask", "run_job", "run_jobs", "summary"]

COMMANDS = ("solve", "bound", "run")
SOLVE_METHODS = tuple(METHODS)  # as `pebble solve --method`
# What the fork server imports once for all the local workers of a batch.
PRELOAD = ("pebble.batch", "pebble.engine", "pebble.strategies", "proofs")


@dataclass(frozen=True)
class Job:
    """One row of a jobs file.

    ``method`` picks the exact method of a ``solve`` (a name of
    :data:`pebble.solver.METHODS`; ``solve`` when empty: the searches, then the CP-SAT model) or the
    comma-separated registered bounds of a ``bound`` (all when empty);
    ``strategy`` names the generator of a ``run``.

    >>> Job("pyramid:h=3", 3, time_limit=5).key()
    ('pyramid:h=3', 3, 'base', 5.0, 'solve', '', '')
    """

    spec: str
    M: int
    variant: str = "base"
    time_limit: float = 60.0
    command: str = "solve"
    method: str = ""
    strategy: str = ""

    def key(self) -> tuple:
        """What identifies the job in a results file: all its columns."""
        return (self.spec, int(self.M), self.variant, float(self.time_limit), self.command, self.method,
                self.strategy)

    def columns(self) -> dict:
        return dict(zip([f.name for f in fields(self)], self.key()))


JOB_COLUMNS = tuple(f.name for f in fields(Job))
REQUIRED_COLUMNS = ("spec", "M", "variant", "time_limit")


def check_job(job: Job, build=None):
    """The DAG of ``job``; raises :class:`ValueError` naming the column (``'M: ...'``) if the job cannot run."""
    from .rules import Rules

    if job.command not in COMMANDS:
        raise ValueError(f"command: unknown command {job.command!r}; accepted: {', '.join(COMMANDS)}")
    try:
        dag = (build or _default_build)(job.spec)
    except (PebbleError, ValueError, OSError) as exc:
        raise ValueError(f"spec: {exc}") from None
    try:
        rules = Rules.make(job.M, job.variant)
        if job.command == "bound":
            from proofs.bound import normalize_variant

            normalize_variant(job.variant)
    except ValueError as exc:
        column = "M" if "'M'" in str(exc) else "variant"
        raise ValueError(f"{column}: {exc}") from None
    if job.M < dag.min_memory():
        raise ValueError(f"M: M = {job.M} is below the smallest feasible M = {dag.min_memory()} for "
                         f"{dag.name or job.spec}")
    if job.command == "solve":
        from .solver.results import game_rules

        if job.method and job.method not in SOLVE_METHODS:
            raise ValueError(f"method: unknown method {job.method!r}; accepted: {', '.join(SOLVE_METHODS)}")
        try:
            game_rules(dag, rules.M, rules.variant)
        except ValueError as exc:
            raise ValueError(f"variant: {exc}") from None
    elif job.command == "bound" and job.method:
        from proofs import registered_bounds

        known = registered_bounds()
        unknown = [n for n in _names(job.method) if n not in known]
        if unknown:
            raise ValueError(f"method: unknown bound {unknown[0]!r}; accepted: {', '.join(sorted(known))}")
    elif job.command == "run":
        from .strategies import STRATEGIES

        if job.strategy not in STRATEGIES:
            raise ValueError(f"strategy: unknown strategy {job.strategy!r}; accepted: {', '.join(STRATEGIES)}")
    return dag


def read_jobs(path, *, build=None) -> list[Job]:
    """The jobs of a CSV file with columns ``spec,M,variant,time_limit`` (and optionally
    ``command``, ``method``, ``strategy``), each checked by :func:`check_job`.

    Raises :class:`BatchError` naming the file, line and column of the first bad cell.
    """
    path = pathlib.Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise BatchError(f"{path} line 1: missing column '{missing[0]}' (the header needs "
                                 f"{', '.join(REQUIRED_COLUMNS)})")
            unknown = [c for c in header if c not in JOB_COLUMNS]
            if unknown:
                raise BatchError(f"{path} line 1: unknown column '{unknown[0]}' (accepted: {', '.join(JOB_COLUMNS)})")
            rows = [(reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k is not None})
                    for row in reader]
    except UnicodeDecodeError as exc:
        raise BatchError(f"{path}: not a text file ({exc.reason})") from None
    jobs, built = [], {}

    def build_once(spec):  # many jobs share a DAG
        if spec not in built:
            built[spec] = (build or _default_build)(spec)
        return built[spec]

    for line, row in rows:
        if not any(row.values()):
            continue
        job = _job_of_row(path, line, row)
        try:
            check_job(job, build_once)
        except ValueError as exc:
            column, _, message = str(exc).partition(": ")
            raise BatchError(f"{path} line {line}, column '{column}': {message}") from None
        jobs.append(job)
    return jobs


def _job_of_row(path, line, row) -> Job:
    def bad(column, message):
        return BatchError(f"{path} line {line}, column '{column}': {message}")

    try:
        M = int(row["M"])
    except ValueError:
        raise bad("M", f"must be a positive integer, got {row['M']!r}") from None
    if M <= 0:
        raise bad("M", f"must be a positive integer, got {M}")
    try:
        limit = float(row["time_limit"])
    except ValueError:
        limit = math.nan
    if not (limit > 0 and math.isfinite(limit)):
        raise bad("time_limit", f"must be a positive number of seconds, got {row['time_limit']!r}")
    if not row["spec"]:
        raise bad("spec", "empty")
    return Job(row["spec"], M, row["variant"] or "base", limit, row.get("command") or "solve",
               row.get("method", ""), row.get("strategy", ""))


def _names(text):
    return [s.strip() for s in text.split(",") if s.strip()]


def _default_build(spec):
    from dags import load_dag

    return load_dag(spec)


# --- what a worker runs --------------------------------------------------------------------------------------

def run_job(job: Job, build=None) -> dict:
    """Run one job where it stands; the outcome as a plain dict with the schedule's ``int64`` codes.

    Keys: ``status``, ``io``, ``lower_bound``, ``proved_by`` (solve: the method
    that proved the bound; bound: the best lower bound's name), ``seconds``,
    ``worker`` (host:pid), ``codes`` (or ``None``) and, for an error, ``reason``.
    An exception of the job is an ``error`` outcome, never a crash of the batch.
    """
    start = time.perf_counter()
    out = {"status": "error", "io": None, "lower_bound": None, "proved_by": None, "codes": None}
    try:
        dag = (build or _default_build)(job.spec)
        out.update(_COMMAND_RUNNERS[job.command](job, dag))
    except Exception as exc:  # noqa: BLE001 - the reason goes into the row
        out.update(status="error", codes=None, reason=f"{type(exc).__name__}: {exc}")
    out["seconds"] = round(time.perf_counter() - start, 3)
    out["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return out


def _solve(job, dag):
    # One thread per job: the batch runs the jobs side by side.
    result = METHODS[job.method or "solve"](dag, job.M, variant=job.variant, time_limit=job.time_limit, workers=1)
    return {"status": result.status, "io": result.io, "lower_bound": result.lower_bound,
            "proved_by": result.proved_by if result.optimal else None,
            "codes": None if result.schedule is None else result.schedule.codes}


def _bound(job, dag):
    from proofs import best_lower, best_upper, bounds_for

    from .strategies import STRATEGIES

    found = bounds_for(dag, job.M, variant=job.variant, names=_names(job.method) or None)
    low, up = best_lower(found), best_upper(found)
    out = {"status": "ok", "lower_bound": None if low is None else low.value,
           "proved_by": None if low is None else low.name}
    if up is not None:  # the schedule behind the best upper bound goes back to be checked again
        out["io"] = up.value
        out["codes"] = STRATEGIES[up.name.split(":", 1)[1]](dag, job.M).codes
    return out


def _run(job, dag):
    from .strategies import STRATEGIES

    codes = STRATEGIES[job.strategy](dag, job.M).codes
    return {"status": "ok", "io": int(np.count_nonzero((codes & 3) <= 1)), "codes": codes}


_COMMAND_RUNNERS = {"solve": _solve, "bound": _bound, "run": _run}


# --- the client: check, record, resume --------------------------------------------------------------------

def checked_row(job: Job, outcome: dict, dag, attempts: int) -> dict:
    """The results row of a job: its columns and the outcome, once the schedule passed the verifier.

    A schedule the verifier rejects, an I/O that is not the verifier's count,
    or a lower bound above the I/O makes the row an ``error`` with the reason.
    """
    row = {**job.columns(), "status": outcome.get("status", "error"), "io": outcome.get("io"),
           "lower_bound": _plain(outcome.get("lower_bound")), "proved_by": outcome.get("proved_by"),
           "seconds": outcome.get("seconds"), "worker": outcome.get("worker"), "attempts": attempts}
    reason = outcome.get("reason")
    if row["status"] != "error":
        reason = disagreement(dag, outcome.get("codes"), job.M, variant=job.variant, io=row["io"],
                              lower_bound=row["lower_bound"], optimal=row["status"] == "optimal")
    if reason is not None:
        row.update(status="error", reason=reason)
    row["io"] = _plain(row["io"])
    return row


def _plain(value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _row_key(row) -> tuple:
    return Job(**{c: row[c] for c in JOB_COLUMNS}).key()


def read_results(path) -> list[dict]:
    """The rows of a results file; a last line cut short by a kill is dropped (its job runs again)."""
    return read_rows(path, _row_key)


def run_jobs(jobs, *, workers=None, scheduler=None, results_path=None, progress=None, build=None, task=None):
    """Run ``jobs`` in parallel; the rows of all of them, in the order of ``jobs``.

    Parameters
    ----------
    jobs : iterable of Job
    workers, scheduler : optional
        Where the jobs run, as for :func:`pebble.jobs.run_tasks`: local worker
        processes, or a Dask cluster.
    results_path : path, optional
        JSON-lines file: jobs with a row there are skipped, and each new row
        is appended as its job finishes.
    progress : callable, optional
        ``progress(done, total, errors, elapsed, final=False)``, at the start,
        after each job and about once a second, e.g. :class:`ProgressBar`.
    build : callable, optional
        ``spec -> DAG`` (default :func:`dags.load_dag`), a module-level function
        so that workers can import it.
    task : callable, optional
        ``task(job, build) -> outcome`` run by the workers (default :func:`run_job`).

    The execution (pool, Dask, retry, resume, progress) is
    :func:`pebble.jobs.run_tasks`; each row is :func:`checked_row`. A
    ``KeyboardInterrupt`` stops the workers and propagates; every row written
    until then stays in ``results_path``.

    Examples
    --------
    A grid of exact solves, resumed from its results file::

        rows = run_jobs([Job(spec, M, variant, 60.0) for spec, M, variant in grid],
                        workers=2, results_path="results.jsonl")
        proven = [r for r in rows if r["status"] == "optimal"]
    """
    build = build or _default_build
    dags = {}

    def finish(job, outcome, attempts):
        if job.spec not in dags:
            dags[job.spec] = build(job.spec)
        return checked_row(job, outcome, dags[job.spec], attempts)

    return run_tasks(jobs, functools.partial(_run_task, task or run_job, build), finish, key=Job.key,
                     workers=workers, scheduler=scheduler, results_path=results_path, row_key=_row_key,
                     progress=progress, preload=PRELOAD)


def _run_task(task, build, job):
    return task(job, build)


def summary(rows) -> dict:
    """Counts of the rows by status."""
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts
