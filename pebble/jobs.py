"""Jobs on a local process pool or a Dask cluster, checked in the submitting process, resumable.

:func:`run_tasks` is the executor behind ``pebble batch`` (:mod:`pebble.batch`),
the table of optima (:mod:`proofs.optima`), the exact benchmark and
``pebble sweep``: a worker runs ``work(job)`` and sends back an outcome; the
submitting process turns each outcome into a row with ``finish`` (which checks
it: a worker is not trusted, and :func:`disagreement` plays its schedule
through the verifier), appends the row to a JSON-lines file so that an
interrupted run resumes, and returns the rows in the order of the jobs. A job
whose worker dies is run once more. It needs the standard library and the
pebble core only, so that every layer above may use it. Details: docs/batch.md.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import json
import multiprocessing
import os
import pathlib
import signal
import sys
import time

from dags.errors import PebbleError

from .engine import verify
from .moves import Schedule
from .progress import StatusLine

__all__ = ["ATTEMPTS", "DASK_EXTRA", "BatchError", "ProgressBar", "disagreement", "failure", "read_rows",
           "require_dask", "run_tasks"]

DASK_EXTRA = "pip install 'pebble-io[dask]'"
# A job is tried this many times in all when its worker process dies under it.
ATTEMPTS = 2
# Seconds between two redraws of the progress while no job finishes.
TICK = 1.0


class BatchError(PebbleError, ValueError):
    """A jobs file, results file or cluster address a run cannot take; names the file, line and column."""


def failure(reason) -> dict:
    """The outcome ``finish`` receives for a job that did not finish: its work raised, or its worker died twice."""
    return {"status": "error", "reason": reason, "worker": None, "seconds": None}


def disagreement(dag, codes, M, *, variant, io, lower_bound=None, optimal=False):
    """Why a worker's claim about its schedule is not what the verifier finds; ``None`` when it is.

    ``codes`` are the schedule's move codes (or ``None``: then ``io`` must be
    ``None`` too), ``io`` the I/O the worker reports, ``lower_bound`` the bound
    it claims and ``optimal`` whether it claims the schedule optimal (bound
    equal to the I/O).
    """
    if codes is None:
        return None if io is None else f"the worker reported I/O {io} without a schedule"
    report = verify(dag, Schedule(codes), M, variant=variant)
    if not report.valid:
        return f"the verifier rejects the worker's schedule: {report.violation.message}"
    if io != report.io:
        return f"the worker reported I/O {io}, the verifier counts {report.io}"
    if lower_bound is not None and lower_bound > report.io:
        return f"lower bound {lower_bound} above the verified I/O {report.io}"
    if optimal and lower_bound != report.io:
        return f"status optimal with lower bound {lower_bound} below the I/O {report.io}"
    return None


def read_rows(path, row_key=None) -> list[dict]:
    """The rows of a JSON-lines results file; a last line cut short by a kill is dropped (its job runs again).

    A line that is not a JSON object, or whose ``row_key(row)`` raises
    ``KeyError``, ``TypeError`` or ``ValueError``, is a :class:`BatchError`
    naming the file and line.
    """
    path = pathlib.Path(path)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise TypeError("not a JSON object")
            if row_key is not None:
                row_key(row)
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
    """Counts, elapsed and time left: redrawn with ``\\r`` on a terminal, else a line every ``every`` s."""

    def __init__(self, stream=None, *, every=10.0):
        self.line = StatusLine(stream, every=every)

    def __call__(self, done, total, errors, elapsed, final=False):
        left = "-" if done == 0 else _clock(elapsed / done * (total - done))
        text = f"{done}/{total} jobs, {errors} errors, {_clock(elapsed)} elapsed, {left} left"
        if self.line.tty:
            width = 24
            filled = width * done // max(total, 1)
            text = f"[{'#' * filled}{'.' * (width - filled)}] {text}"
        else:
            text = f"batch: {text}"
        self.line.show(text, final=final, now=elapsed)


def _clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _is_error(value):
    return isinstance(value, dict) and value.get("status") == "error"


def run_tasks(jobs, work, finish, *, key=None, workers=None, scheduler=None, results_path=None, row_key=None,
              resume=True, progress=None, preload=()):
    """Run ``work(job)`` for every job on worker processes; the rows ``finish`` makes, in the order of ``jobs``.

    Parameters
    ----------
    jobs : iterable
        Picklable jobs; two with the same ``key`` run once.
    work : callable
        ``work(job) -> outcome``, run by a worker: a module-level function (or
        a ``functools.partial`` of one) that workers can import by name, and a
        picklable outcome.
    finish : callable
        ``finish(job, outcome, attempts) -> row`` (a JSON-able dict, or
        ``None`` to record nothing), called in this process as each job ends,
        in the order they end. It is where an outcome is checked. A job that
        did not finish gets ``outcome = failure(reason)``. An exception it
        raises stops the workers and propagates.
    key : callable, optional
        ``key(job)``, hashable: what identifies a job (default the job itself).
    workers : int, optional
        Local worker processes (default ``os.cpu_count()``); ignored with ``scheduler``.
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``tcp://host:8786``) or a connected client:
        the jobs run on that cluster (needs the ``dask`` extra).
    results_path : path, optional
        JSON-lines file: every row is appended as its job ends.
    row_key : callable, optional
        ``row_key(row)``, the ``key`` of the job a row of ``results_path``
        belongs to. With ``resume`` (the default) a job that has a row there is
        not run again and that row (the last one, if several) stands for it.
    progress : callable, optional
        ``progress(done, total, errors, elapsed, final=False)`` at the start,
        after each job and about once a second, e.g. :class:`ProgressBar`;
        ``errors`` counts failures and rows whose ``status`` is ``error``.
    preload : iterable of str
        Modules the local fork server imports once for all its workers (the
        module of ``work`` always is).

    A ``KeyboardInterrupt`` stops the workers and propagates; every row
    written until then stays in ``results_path``.
    """
    jobs = list(jobs)
    key = key or _itself
    previous = {}
    if results_path is not None and resume and row_key is not None:
        previous = {row_key(r): r for r in read_rows(results_path, row_key)}
    pending = {}
    for job in jobs:
        if key(job) not in previous:
            pending.setdefault(key(job), job)
    pending = list(pending.values())
    rows = dict(previous)
    results = _Results(results_path)
    counts = {"done": 0, "errors": 0}
    start = time.perf_counter()

    def tick(final=False):
        if progress is not None:
            progress(counts["done"], len(pending), counts["errors"], time.perf_counter() - start, final=final)

    def record(job, outcome, attempts):
        row = finish(job, outcome, attempts)
        if row is not None:
            results.write(row)
        rows[key(job)] = row
        counts["done"] += 1
        counts["errors"] += _is_error(outcome) or _is_error(row)
        tick()

    try:
        if pending:
            tick()
            if scheduler is None:
                modules = ["pebble.jobs", *preload, _module_of(work)]
                _run_local(pending, work, key, workers or os.cpu_count() or 1, modules, record, tick)
            else:
                _run_dask(pending, work, key, scheduler, record, tick)
    finally:
        results.close()
        if pending:  # also on Ctrl-C: the last counts, and the terminal's line ended
            tick(final=True)
    return [rows[key(j)] for j in jobs]


def _itself(job):
    return job


def _module_of(work):
    while isinstance(work, functools.partial):
        work = work.func
    module = getattr(work, "__module__", None)
    return None if module in (None, "__main__") else module


def _worker_init():
    # Ctrl-C reaches the whole process group: the parent alone handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _died(attempts, why):
    return failure(f"the worker died {attempts} times running the job ({why})")


def _raised(exc):
    return failure(f"{type(exc).__name__}: {exc}")


def _run_local(pending, work, key, workers, modules, record, tick):
    """One single-process pool per slot, so that a dead worker names the one job it was running."""
    if sys.platform.startswith("linux"):
        context = multiprocessing.get_context("forkserver")
        # Imported once in the server, which starts no thread, instead of once per worker process.
        context.set_forkserver_preload(list(dict.fromkeys(m for m in modules if m)))
    else:
        context = multiprocessing.get_context("spawn")
    queue = list(reversed(pending))  # popped from the end: in order
    attempts = {}
    running = {}  # future -> (job, pool)
    pools = set()  # every pool with a live process, shut down at the end whatever happens

    def start(pool):
        job = queue.pop()
        attempts[key(job)] = attempts.get(key(job), 0) + 1
        if pool is None:
            pool = cf.ProcessPoolExecutor(1, mp_context=context, initializer=_worker_init)
            pools.add(pool)
        running[pool.submit(work, job)] = (job, pool)

    try:
        for _ in range(min(workers, len(queue))):
            start(None)
        while running:
            finished, _ = cf.wait(running, timeout=TICK, return_when=cf.FIRST_COMPLETED)
            if not finished:
                tick()
            for future in finished:
                job, pool = running.pop(future)
                tried = attempts[key(job)]
                try:
                    outcome = future.result()
                except cf.process.BrokenProcessPool as exc:
                    pools.discard(pool)
                    pool.shutdown(wait=True)
                    pool = None
                    if tried < ATTEMPTS:
                        queue.append(job)
                    else:
                        record(job, _died(tried, exc or "process ended"), tried)
                except Exception as exc:  # noqa: BLE001 - the work raised, or its job cannot be pickled
                    record(job, _raised(exc), tried)
                else:
                    record(job, outcome, tried)
                if queue:
                    start(pool)
    finally:
        busy = {pool for _, pool in running.values()}
        for pool in pools:
            if pool in busy:
                _stop_pool(pool)
            else:
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


def _run_dask(pending, work, key, scheduler, record, tick):
    distributed = require_dask()
    own = isinstance(scheduler, str)
    try:
        client = distributed.Client(scheduler, timeout=30) if own else scheduler
    except (OSError, TimeoutError) as exc:
        raise BatchError(f"argument '--scheduler': cannot reach {scheduler}: {exc}") from None

    # The scheduler runs a task again after its worker dies; the run wants to count those deaths itself,
    # so it asks for a KilledWorker error at the first one for as long as it runs (then restores the setting).
    def allowed_failures(value, dask_scheduler=None):
        old, dask_scheduler.allowed_failures = dask_scheduler.allowed_failures, value
        return old

    old = client.run_on_scheduler(allowed_failures, 0)
    attempts, jobs = {}, {}
    futures = distributed.as_completed(loop=client.loop)

    def submit(job):
        attempts[key(job)] = attempts.get(key(job), 0) + 1
        future = client.submit(work, job, pure=False)
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
                tried = attempts[key(job)]
                if future.status == "finished":
                    record(job, future.result(), tried)
                    future.release()
                    continue
                # An error; or a result lost with its worker before it was fetched (the status is then
                # neither): both are a worker's death, as far as the job is concerned.
                exc = future.exception() if future.status == "error" else None
                if exc is not None and not isinstance(exc, distributed.KilledWorker):
                    record(job, _raised(exc), tried)
                elif tried < ATTEMPTS:
                    submit(job)
                else:
                    record(job, _died(tried, "worker lost" if exc is not None else "result lost with its worker"),
                           tried)
                future.release()
    finally:
        for future in jobs:
            future.cancel()
        try:
            client.run_on_scheduler(allowed_failures, old)
        finally:
            if own:
                client.close()
