"""Helpers shared by the schedule generators."""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from dags.core import as_dag
from dags.errors import PebbleError

from ..engine import Verifier
from ..moves import COMPUTE, DELETE, LOAD, Schedule
from ..rules import MemoryTooSmall, check_memory
from ..schedule_io import write_schedule

__all__ = ["StrategyError", "MemoryTooSmall", "require_memory", "streamed", "schedule_chunks", "emit", "add_term",
           "outer_step", "run_kernel", "ceil_div", "generate_verified"]


class StrategyError(PebbleError, ValueError):
    """A strategy that cannot run with the given parameters; says what would work."""


def require_memory(dag, M, smallest, strategy):
    """Raise :class:`~pebble.rules.MemoryTooSmall` naming the smallest usable M when ``M < smallest``
    (``None``: the least M of any pebbling, :func:`~pebble.rules.check_memory`)."""
    if isinstance(M, bool) or not isinstance(M, (int, np.integer)) or M <= 0:
        raise StrategyError(f"argument 'M' must be a positive integer, got {M!r}")
    if smallest is None:
        check_memory(dag, int(M), what=f"strategy '{strategy}'")
    elif M < smallest:
        raise MemoryTooSmall(f"strategy '{strategy}' needs M >= {smallest} on {dag.name or 'this DAG'}, "
                             f"got M = {M}", smallest)


def ceil_div(a, b):
    return -(-a // b)


def streamed(func):
    """Give a chunk-returning generator a ``stream`` keyword.

    ``func(dag, M, **options)`` checks its arguments at once and returns an
    iterator of ``int64`` code arrays. The wrapped function returns a
    :class:`~pebble.moves.Schedule` by default and the iterator itself with
    ``stream=True`` (for schedules too large to hold: pass it to
    :func:`pebble.verify` or :func:`pebble.write_schedule`). The DAG may be
    a networkx DiGraph (:func:`dags.as_dag`).
    """

    @functools.wraps(func)
    def wrapper(dag, M, *, stream=False, **options):
        chunks = func(as_dag(dag), M, **options)
        if stream:
            return chunks
        parts = list(chunks)
        return Schedule(np.concatenate(parts) if parts else np.zeros(0, np.int64))

    wrapper.streams = True
    return wrapper


def schedule_chunks(generator, dag, M, **options):
    """The moves of any generator as an iterator of code arrays (streamed when it can)."""
    if getattr(generator, "streams", False):
        return generator(dag, M, stream=True, **options)
    return iter([generator(dag, M, **options).codes])


@njit(cache=True, inline="always")
def emit(out, count, kind, node):
    """Write move number ``count`` into ``out`` if it has room; returns ``count + 1``.

    A compiled kernel emits every move through this and returns the count;
    :func:`run_kernel` runs it again with a large enough array if the first
    guess was short, so a wrong estimate costs time, never memory safety.
    """
    if count < out.shape[0]:
        out[count] = (node << 2) | kind
    return count + 1


def run_kernel(kernel, *args, estimate):
    """The moves ``kernel(*args, out)`` emits, as an int64 array (``estimate``: a first guess of their number)."""
    out = np.empty(max(int(estimate), 0), np.int64)
    count = kernel(*args, out)
    if count > out.size:
        out = np.empty(count, np.int64)
        kernel(*args, out)
    return out[:count]


def generate_verified(generator, dag, M, *, output=None, binary=None, comment=None, verify_options=None,
                      **options):
    """Generate a schedule, verify it as it streams, and optionally write it to a file.

    Parameters
    ----------
    generator : callable
        A schedule generator ``(dag, M, **options)``, e.g. a value of
        :data:`pebble.strategies.STRATEGIES`.
    output : path, optional
        Write the moves there (binary for ``.pbs``, else text with labels).
    verify_options : dict, optional
        Keyword arguments of :func:`pebble.verify` (``variant``, ``sliding``, ...).
    **options
        Options of the generator.

    Returns
    -------
    Report
        The verifier's report on every move generated.

    Examples
    --------
    >>> from dags import pyramid_dag
    >>> from pebble.strategies import heuristic_schedule
    >>> generate_verified(heuristic_schedule, pyramid_dag(4), 3).io
    20
    """
    dag = as_dag(dag)
    checker = Verifier(dag, M, **(verify_options or {}))

    def checked(chunks):
        for chunk in chunks:
            checker.feed(chunk)
            yield chunk

    chunks = checked(schedule_chunks(generator, dag, M, **options))
    if output is None:
        for _ in chunks:
            pass
    else:
        write_schedule(output, chunks, dag, binary=binary, comment=comment)
    return checker.finish()


@njit(cache=True, inline="always")
def add_term(out, count, term, new, old, first):
    """Compute ``term`` and add it into a chain sum: ``new = old + term``, then free ``old`` and ``term``.

    The first term of a sum is its own running value: it is computed and kept.
    """
    count = emit(out, count, COMPUTE, term)
    if not first:
        count = emit(out, count, COMPUTE, new)
        count = emit(out, count, DELETE, old)
        count = emit(out, count, DELETE, term)
    return count


@njit(cache=True, inline="always")
def outer_step(out, count, a, b, terms, new, old, first):
    """One step of an outer-product update: load ``a`` and ``b``, fold every ``terms[r, c]`` into its sum, free both.

    ``terms[r, c]`` is an operation on ``a[r]`` and ``b[c]``; it is added into
    the chain sum whose running value goes from ``old[r, c]`` to
    ``new[r, c]`` (see :func:`add_term`; ``first``: the terms start their sums).
    """
    for r in range(a.shape[0]):
        count = emit(out, count, LOAD, a[r])
    for c in range(b.shape[0]):
        count = emit(out, count, LOAD, b[c])
    for r in range(a.shape[0]):
        for c in range(b.shape[0]):
            count = add_term(out, count, terms[r, c], new[r, c], old[r, c], first)
    for r in range(a.shape[0]):
        count = emit(out, count, DELETE, a[r])
    for c in range(b.shape[0]):
        count = emit(out, count, DELETE, b[c])
    return count
