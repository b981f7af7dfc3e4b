"""Batches of solves, bounds and strategy runs on a local process pool or a Dask cluster.

A :class:`Job` is one instance and one command: ``solve`` (an exact method of
:mod:`pebble.solver`), ``bound`` (every registered bound of :mod:`proofs`,
with the best strategy's schedule as the upper bound) or ``run`` (one
strategy of :mod:`pebble.strategies`). :func:`run_jobs` runs them on worker
processes, checks every schedule a worker sends back with
:func:`pebble.verify` (a worker is not trusted) and appends one JSON row per
job to a results file as each finishes, so an interrupted batch resumes.
A job whose worker dies is run once more, then recorded as an error.
:func:`read_jobs` reads the CSV that ``pebble batch`` takes. How to run a
batch on a cluster, and the row format: docs/batch.md.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import json
import math
import multiprocessing
import os
import pathlib
import signal
import socket
import sys
import time
from dataclasses import dataclass, fields

import numpy as np

from dags.errors import PebbleError

__all__ = ["COMMANDS", "DASK_EXTRA", "BatchError", "Job", "ProgressBar", "check_job", "checked_row", "read_jobs",
           "read_results", "require_dask", "run_job", "run_jobs", "summary"]

COMMANDS = ("solve", "bound", "run")
SOLVE_METHODS = ("cp-sat", "ideals", "steps", "search")
DASK_EXTRA = "pip install 'pebble-io[dask]'"
# A job is tried this many times in all when its worker process dies under it.
ATTEMPTS = 2
# Seconds between two redraws of the progress while no job finishes.
TICK = 1.0


class BatchError(PebbleError, ValueError):
    """A jobs file, results file or cluster address the batch cannot take; names the file, line and column."""


@dataclass(frozen=True)
class Job:
    """One row of a jobs file.

    ``method`` picks the exact method of a ``solve`` (``cp-sat`` when empty:
    :func:`pebble.solver.solve`, which runs the searches first) or the
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
    from . import solver

    method = job.method or "cp-sat"
    if method == "cp-sat":  # one thread per job: the batch runs the jobs side by side
        result = solver.solve(dag, job.M, variant=job.variant, time_limit=job.time_limit, workers=1)
    else:
        run = {"ideals": solver.ideal_search, "steps": solver.step_search, "search": solver.search}[method]
        result = run(dag, job.M, variant=job.variant, time_limit=job.time_limit)
    return {"status": result.status, "io": result.io, "lower_bound": result.lower_bound,
            "proved_by": result.method if result.optimal else None,
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


def _worker_init():
    # Ctrl-C reaches the whole process group: the parent alone handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# --- the client: check, record, resume --------------------------------------------------------------------

def checked_row(job: Job, outcome: dict, dag, attempts: int) -> dict:
    """The results row of a job: its columns and the outcome, once the schedule passed the verifier.

    A schedule the verifier rejects, an I/O that is not the verifier's count,
    or a lower bound above the I/O makes the row an ``error`` with the reason.
    """
    from .engine import verify

    row = {**job.columns(), "status": outcome.get("status", "error"), "io": outcome.get("io"),
           "lower_bound": _plain(outcome.get("lower_bound")), "proved_by": outcome.get("proved_by"),
           "seconds": outcome.get("seconds"), "worker": outcome.get("worker"), "attempts": attempts}
    reason = outcome.get("reason")
    codes = outcome.get("codes")
    if row["status"] != "error":
        reason = _disagreement(job, dag, codes, row, verify)
    if reason is not None:
        row.update(status="error", reason=reason)
    row["io"] = _plain(row["io"])
    return row


def _disagreement(job, dag, codes, row, verify):
    io, low = row["io"], row["lower_bound"]
    if codes is None:
        return None if io is None else f"the worker reported I/O {io} without a schedule"
    report = verify(dag, np.asarray(codes, dtype=np.int64), job.M, variant=job.variant)
    if not report.valid:
        return f"the verifier rejects the worker's schedule: {report.violation.message}"
    if io != report.io:
        return f"the worker reported I/O {io}, the verifier counts {report.io}"
    if low is not None and low > report.io:
        return f"lower bound {low} above the verified I/O {report.io}"
    if row["status"] == "optimal" and low != report.io:
        return f"status optimal with lower bound {low} below the I/O {report.io}"
    return None


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
    path = pathlib.Path(path)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            _row_key(row)
        except (ValueError, KeyError, TypeError) as exc:
            if number == len(lines):  # no newline after it: the write was cut short
                continue
            raise BatchError(f"{path} line {number}: not a results row ({exc})") from None
        rows.append(row)
    return rows


class _Results:
    """Rows appended to a JSON-lines file, one flushed line each."""

    def __init__(self, path):
        self.file = None
        if path is not None:
            path = pathlib.Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():  # drop a last line cut short by a kill: its job runs again
                data = path.read_bytes()
                if data and not data.endswith(b"\n"):
                    with open(path, "r+b") as f:
                        f.truncate(data.rfind(b"\n") + 1)
            self.file = open(path, "a", encoding="utf-8")

    def write(self, row):
        if self.file is not None:
            self.file.write(json.dumps(row, allow_nan=False) + "\n")
            self.file.flush()

    def close(self):
        if self.file is not None:
            self.file.close()


class ProgressBar:
    """Counts, elapsed and time left on a stream: redrawn with ``\\r`` on a terminal, else a line every ``every`` s."""

    def __init__(self, stream=None, *, every=10.0):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = every
        self.last = -math.inf

    def __call__(self, done, total, errors, elapsed, final=False):
        left = "-" if done == 0 else _clock(elapsed / done * (total - done))
        text = f"{done}/{total} jobs, {errors} errors, {_clock(elapsed)} elapsed, {left} left"
        if self.tty:
            width = 24
            filled = width * done // max(total, 1)
            print(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}", end="\n" if final else "",
                  file=self.stream, flush=True)
        elif final or elapsed - self.last >= self.every:
            print(f"batch: {text}", file=self.stream, flush=True)
            self.last = elapsed


def _clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def run_jobs(jobs, *, workers=None, scheduler=None, results_path=None, progress=None, build=None, task=None):
    """Run ``jobs`` in parallel; the rows of all of them, in the order of ``jobs``.

    Parameters
    ----------
    jobs : iterable of Job
    workers : int, optional
        Local worker processes (default ``os.cpu_count()``); ignored with ``scheduler``.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``) or a connected client:
        the jobs run on that cluster (needs the ``dask`` extra).
    results_path : path, optional
        JSON-lines file: jobs with a row there are skipped, and each new row
        is appended as its job finishes.
    progress : callable, optional
        ``progress(done, total, errors, elapsed, final=False)``, at the start,
        after each job and about once a second, e.g. :class:`ProgressBar`.
    build : callable, optional
        ``spec -> DAG`` (default :func:`dags.load_dag`), a module-level function
        so that workers can import it; the table of optima passes its own for
        ``osp-tiny/`` specs.
    task : callable, optional
        ``task(job, build) -> outcome`` run by the workers (default :func:`run_job`).

    A ``KeyboardInterrupt`` stops the workers and propagates; every row
    written until then stays in ``results_path``.

    Examples
    --------
    The table of optima or the exact benchmark builds its jobs and reads the rows::

        rows = run_jobs([Job(spec, M, variant, 60.0) for spec, M, variant in grid],
                        workers=2, results_path="benchmarks/results/exact.jsonl")
        proven = [r for r in rows if r["status"] == "optimal"]
    """
    jobs = list(jobs)
    build = build or _default_build
    task = task or run_job
    previous = {}
    if results_path is not None:
        previous = {_row_key(r): r for r in read_results(results_path)}
    pending = [j for j in dict.fromkeys(jobs) if j.key() not in previous]
    dags = {}
    for job in pending:
        if job.spec not in dags:
            dags[job.spec] = build(job.spec)
    rows = dict(previous)
    results = _Results(results_path)
    counts = {"done": 0, "errors": 0}
    start = time.perf_counter()

    def tick(final=False):
        if progress is not None:
            progress(counts["done"], len(pending), counts["errors"], time.perf_counter() - start, final=final)

    def record(job, outcome, attempts):
        row = checked_row(job, outcome, dags[job.spec], attempts)
        results.write(row)
        rows[job.key()] = row
        counts["done"] += 1
        counts["errors"] += row["status"] == "error"
        tick()

    try:
        if pending:
            tick()
            if scheduler is None:
                _run_local(pending, workers or os.cpu_count() or 1, build, task, record, tick)
            else:
                _run_dask(pending, scheduler, build, task, record, tick)
    finally:
        results.close()
        if pending:  # also on Ctrl-C: the last counts, and the terminal's line ended
            tick(final=True)
    return [rows[j.key()] for j in jobs if j.key() in rows]


def _died(job, attempts, why):
    return {"status": "error", "reason": f"the worker died {attempts} times running the job ({why})",
            "worker": None, "seconds": None}


def _run_local(pending, workers, build, task, record, tick):
    """One single-process pool per slot, so that a dead worker names the one job it was running."""
    if sys.platform.startswith("linux"):
        context = multiprocessing.get_context("forkserver")
        # Imported once in the server, which starts no thread, instead of once per worker process.
        context.set_forkserver_preload(["pebble.batch", "pebble.engine", "pebble.strategies", "proofs"])
    else:
        context = multiprocessing.get_context("spawn")
    queue = list(reversed(pending))  # popped from the end: in order
    attempts = {}
    running = {}  # future -> (job, pool)
    idle = []

    def start(pool):
        job = queue.pop()
        attempts[job] = attempts.get(job, 0) + 1
        pool = pool or cf.ProcessPoolExecutor(1, mp_context=context, initializer=_worker_init)
        running[pool.submit(task, job, build)] = (job, pool)

    try:
        for _ in range(min(workers, len(queue))):
            start(None)
        while running:
            finished, _ = cf.wait(running, timeout=TICK, return_when=cf.FIRST_COMPLETED)
            if not finished:
                tick()
            for future in finished:
                job, pool = running.pop(future)
                try:
                    outcome = future.result()
                except cf.process.BrokenProcessPool as exc:
                    pool.shutdown(wait=True)
                    pool = None
                    if attempts[job] < ATTEMPTS:
                        queue.append(job)
                    else:
                        record(job, _died(job, attempts[job], exc or "process ended"), attempts[job])
                except Exception as exc:  # noqa: BLE001 - e.g. a job that cannot be pickled
                    record(job, {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}, attempts[job])
                else:
                    record(job, outcome, attempts[job])
                if queue:
                    start(pool)
                elif pool is not None:
                    idle.append(pool)
    finally:
        for _, pool in running.values():
            _stop_pool(pool)
        for pool in idle:
            pool.shutdown(wait=True)


def _stop_pool(pool):
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def require_dask():
    """The ``distributed`` module, or a :class:`BatchError` naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise BatchError(f"argument '--scheduler' needs Dask's distributed scheduler: {DASK_EXTRA}") from None
    return distributed


def _run_dask(pending, scheduler, build, task, record, tick):
    distributed = require_dask()
    own = isinstance(scheduler, str)
    try:
        client = distributed.Client(scheduler, timeout=30) if own else scheduler
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"argument '--scheduler': cannot reach {scheduler}: {exc}") from None

    # The scheduler runs a task again after its worker dies; the batch wants to count those deaths itself,
    # so it asks for a KilledWorker error at the first one for as long as it runs (then restores the setting).
    def allowed_failures(value, dask_scheduler=None):
        old, dask_scheduler.allowed_failures = dask_scheduler.allowed_failures, value
        return old

    old = client.run_on_scheduler(allowed_failures, 0)
    attempts, jobs = {}, {}
    futures = distributed.as_completed(loop=client.loop)

    def submit(job):
        attempts[job] = attempts.get(job, 0) + 1
        future = client.submit(task, job, build, pure=False)
        jobs[future] = job
        futures.add(future)

    try:
        for job in pending:
            submit(job)
        while not futures.is_empty():
            if not futures.has_ready():
                time.sleep(TICK / 4)
                tick()
                continue
            for future in futures.next_batch(block=False):  # a retry joins the same loop
                job = jobs.pop(future)
                if future.status == "finished":
                    record(job, future.result(), attempts[job])
                else:
                    exc = future.exception()
                    if isinstance(exc, distributed.KilledWorker) and attempts[job] < ATTEMPTS:
                        submit(job)
                    elif isinstance(exc, distributed.KilledWorker):
                        record(job, _died(job, attempts[job], "worker lost"), attempts[job])
                    else:
                        record(job, {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}, attempts[job])
                future.release()
    finally:
        for future in jobs:
            future.cancel()
        try:
            client.run_on_scheduler(allowed_failures, old)
        finally:
            if own:
                client.close()


def summary(rows) -> dict:
    """Counts of the rows by status."""
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts
