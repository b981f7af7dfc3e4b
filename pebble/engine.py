"""The verifier: compiled, streaming, and the trusted core of the toolkit.

:func:`verify` checks a schedule move by move against the rules of
:mod:`pebble.rules` and returns a :class:`~pebble.rules.Report`; an invalid
schedule is a result, not an exception. The moves run through a numba kernel
over byte arrays (red, blue, computed) and the predecessor CSR, a chunk at a
time, so schedules far larger than memory can be streamed from a file.
:func:`reference_verify` is the same game played over Python sets with the
functions of :mod:`pebble.rules`; the tests hold the two against each other.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt
from numba import njit

from dags.core import as_dag
from dags.errors import ArgumentError

from . import rules as R
from .moves import MoveLike, NodeId, Schedule, ScheduleLike, as_codes
from .schedule_io import read_schedule_chunks

if TYPE_CHECKING:
    from dags.core import DAG

__all__ = ["verify", "reference_verify", "Verifier"]

#: A schedule as :func:`verify` takes it: moves in memory (a Schedule, a code array, a list or tuple of
#: moves), a file path, or any other iterable, which holds chunks of moves.
ScheduleSource: TypeAlias = ("Schedule | npt.NDArray[np.integer[Any]] | list[MoveLike] | tuple[MoveLike, ...]"
                             " | str | os.PathLike[str] | Iterable[ScheduleLike]")
#: An output set: node ids or labels, or one label.
OutputSet: TypeAlias = "str | Iterable[NodeId | str]"

# The kernel compares plain integers (numba does not take the enum).
_E = R.Err
_NODE_RANGE, _LOAD_NOT_BLUE, _REDUNDANT_LOAD = int(_E.NODE_RANGE), int(_E.LOAD_NOT_BLUE), int(_E.REDUNDANT_LOAD)
_CAPACITY, _STORE_NOT_RED, _REDUNDANT_STORE = int(_E.CAPACITY), int(_E.STORE_NOT_RED), int(_E.REDUNDANT_STORE)
_COMPUTE_SOURCE, _ONE_SHOT, _COMPUTE_PRED = int(_E.COMPUTE_SOURCE), int(_E.ONE_SHOT), int(_E.COMPUTE_PRED)
_REDUNDANT_COMPUTE, _REDUNDANT_DELETE, _NODEL = int(_E.REDUNDANT_COMPUTE), int(_E.REDUNDANT_DELETE), int(_E.NODEL)
_SLIDE_NEXT = int(_E.SLIDE_NEXT)

# Layout of the counter array carried between chunks.
_LOADS, _STORES, _COMPUTES, _DELETES, _RED, _PEAK, _PENDING = range(7)


@njit(cache=True, nogil=True)
def _play(codes: npt.NDArray[np.int64], indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int64],
          red: npt.NDArray[np.uint8], blue: npt.NDArray[np.uint8], computed: npt.NDArray[np.uint8],
          st: npt.NDArray[np.int64], M: int, one_shot: bool, nodel: bool, sliding: bool,
          strict: bool) -> tuple[int, int, int]:
    """Play ``codes``; returns ``(position, error, extra)``, position == len(codes) if all passed."""
    n = red.shape[0]
    loads, stores, comps, dels = st[0], st[1], st[2], st[3]
    cnt, peak, pending = st[4], st[5], st[6]
    err = 0
    extra = -1
    i = 0
    m = codes.shape[0]
    while i < m:
        c = codes[i]
        k = c & 3
        v = c >> 2
        if v < 0 or v >= n:
            err = _NODE_RANGE
            break
        if pending >= 0:
            ok = False
            if k == 3 and red[v]:
                for e in range(indptr[pending], indptr[pending + 1]):
                    if indices[e] == v:
                        ok = True
                        break
            if not ok:
                err = _SLIDE_NEXT
                extra = pending
                break
        if k == 0:  # load
            if not blue[v]:
                err = _LOAD_NOT_BLUE
                break
            if red[v]:
                if strict:
                    err = _REDUNDANT_LOAD
                    break
            else:
                if cnt >= M:
                    err = _CAPACITY
                    break
                red[v] = 1
                cnt += 1
            loads += 1
        elif k == 1:  # store
            if not red[v]:
                err = _STORE_NOT_RED
                break
            if blue[v] and strict:
                err = _REDUNDANT_STORE
                break
            blue[v] = 1
            stores += 1
        elif k == 2:  # compute
            lo = indptr[v]
            hi = indptr[v + 1]
            if lo == hi:
                err = _COMPUTE_SOURCE
                break
            if one_shot and computed[v]:
                err = _ONE_SHOT
                break
            for e in range(lo, hi):
                if not red[indices[e]]:
                    extra = indices[e]
                    err = _COMPUTE_PRED
                    break
            if err:
                break
            if red[v]:
                if strict:
                    err = _REDUNDANT_COMPUTE
                    break
            else:
                if cnt >= M:
                    if not sliding:
                        err = _CAPACITY
                        break
                    pending = v
                red[v] = 1
                cnt += 1
            computed[v] = 1
            comps += 1
        else:  # delete
            if not red[v]:
                if strict:
                    err = _REDUNDANT_DELETE
                    break
            else:
                if nodel and not blue[v]:
                    err = _NODEL
                    break
                red[v] = 0
                cnt -= 1
            dels += 1
            pending = -1
        if pending < 0 and cnt > peak:
            peak = cnt
        i += 1
    st[0], st[1], st[2], st[3] = loads, stores, comps, dels
    st[4], st[5], st[6] = cnt, peak, pending
    return i, err, extra


class Verifier:
    """Streaming verifier: :meth:`feed` chunks of move codes, then :meth:`finish`.

    >>> from dags import pyramid_dag
    >>> from pebble import Schedule
    >>> g = pyramid_dag(1)
    >>> v = Verifier(g, M=3)
    >>> v.feed(Schedule.from_moves(["load p0[0]", "load p0[1]", "compute p1[0]"], g).codes)
    True
    >>> v.feed(Schedule.from_moves(["store p1[0]"], g).codes)
    True
    >>> v.finish().io
    3
    """

    def __init__(self, dag: DAG, M: int, *, variant: str = "base", sliding: bool = False, strict: bool = True,
                 outputs: OutputSet | None = None, compute_cost: float = R.DEFAULT_COMPUTE_COST) -> None:
        self.rules = R.Rules.make(M, variant, sliding=sliding, strict=strict, compute_cost=compute_cost)
        self.dag = dag = _with_outputs(as_dag(dag), outputs)
        n = dag.num_nodes
        # More red pebbles than nodes never bind: the kernel gets at most n + 1 (an int64), the report M as given.
        self._kernel_M = min(self.rules.M, n + 1)
        self.red = np.zeros(n, np.uint8)
        self.blue = np.zeros(n, np.uint8)
        self.blue[dag.sources] = 1
        self.computed = np.zeros(n, np.uint8)
        self.counters = np.zeros(7, np.int64)
        self.counters[_PENDING] = -1
        self.position = 0
        self.violation: R.Violation | None = None

    def feed(self, codes: npt.ArrayLike) -> bool:
        """Play a chunk; ``False`` once a violation was found (later chunks are ignored)."""
        if self.violation is not None:
            return False
        codes = np.ascontiguousarray(codes, dtype=np.int64)
        r = self.rules
        pos, err, extra = _play(codes, self.dag.indptr, self.dag.indices, self.red, self.blue, self.computed,
                                self.counters, self._kernel_M, r.one_shot, r.nodel, r.sliding, r.strict)
        if err:
            code = int(codes[pos])
            self.violation = R.make_violation(self.dag, r, self.position + pos, code, err, code >> 2, extra)
            self.position += pos
            return False
        self.position += pos
        return True

    def check(self, schedule: ScheduleSource) -> R.Report:
        """Feed a whole schedule (anything :func:`verify` takes) and return the report.

        Afterwards the red, blue and computed arrays hold the state at the
        end, or just before the failing move.
        """
        for chunk in _chunks(self.dag, schedule):
            if not self.feed(chunk):
                break
        return self.finish()

    def finish(self) -> R.Report:
        """The report; checks the end conditions if no move failed."""
        if self.violation is None:
            state = R.State(pending=int(self.counters[_PENDING]))
            bad = R.end_violation(self.dag, self.rules, state, self.blue[self.dag.outputs] != 0)
            if bad is not None:
                err, node, extra = bad
                self.violation = R.make_violation(self.dag, self.rules, self.position, None, err, node, extra)
        c = self.counters
        return R.Report(valid=self.violation is None, moves=self.position, loads=int(c[_LOADS]),
                        stores=int(c[_STORES]), computes=int(c[_COMPUTES]), deletes=int(c[_DELETES]),
                        peak_red=int(c[_PEAK]), rules=self.rules, violation=self.violation)


def _with_outputs(dag: DAG, outputs: OutputSet | None) -> DAG:
    """``dag`` with the output set ``outputs`` (nodes or labels), if given; an empty set is refused."""
    if outputs is None:
        return dag
    # One label names one node: neither its characters nor (for bytes) the ids of its bytes.
    given: Iterable[object] = [outputs] if isinstance(outputs, (str, bytes)) else outputs
    nodes: list[int] = []
    for o in given:
        try:
            nodes.append(dag.node(o))
        except KeyError:
            raise ArgumentError(f"argument 'outputs': unknown node {o!r}") from None
    if not nodes:
        raise ArgumentError("argument 'outputs' is empty: every schedule would be valid "
                            "(pass None for the DAG's outputs)")
    return dag.with_outputs(nodes)


def _chunks(dag: DAG, schedule: ScheduleSource) -> Iterator[npt.NDArray[np.int64]]:
    if isinstance(schedule, (str, os.PathLike)):
        yield from read_schedule_chunks(schedule, dag)
    elif isinstance(schedule, (Schedule, np.ndarray, list, tuple)) or not isinstance(schedule, Iterable):
        yield as_codes(schedule, dag)
    else:  # any other iterable holds chunks, e.g. a generator streaming a long schedule
        for chunk in schedule:
            yield as_codes(chunk, dag)


def verify(dag: DAG, schedule: ScheduleSource, M: int, *, variant: str = "base", sliding: bool = False,
           strict: bool = True, outputs: OutputSet | None = None,
           compute_cost: float = R.DEFAULT_COMPUTE_COST) -> R.Report:
    """Check a red-blue pebbling schedule and count its I/O.

    Parameters
    ----------
    dag : dags.DAG or networkx.DiGraph
        A DiGraph is converted by :func:`dags.as_dag`.
    schedule : Schedule, int64 array of move codes, list of moves, iterable of code chunks, or a file path
        Moves may be ``'load Q[0,1]'`` strings or ``(kind, node)`` pairs.
    M : int
        Red pebbles (fast memory size), at least 1.
    variant : {'base', 'one-shot', 'nodel', 'compcost'} or several joined by '+'
    sliding : bool
        A compute may find fast memory full if the next move deletes one of
        its red operands (the pebble slides onto the result).
    strict : bool
        Redundant moves (that change nothing) are violations (default).
    outputs : iterable of nodes or labels, optional
        The nodes that must end blue; default the DAG's outputs.
    compute_cost : float
        Cost per compute in the ``compcost`` variant.

    Returns
    -------
    Report
        ``valid``, ``loads``, ``stores``, ``computes``, ``deletes``, ``io``,
        ``cost``, ``peak_red`` and the first ``violation`` (or ``None``).
    """
    return Verifier(dag, M, variant=variant, sliding=sliding, strict=strict, outputs=outputs,
                    compute_cost=compute_cost).check(schedule)


def reference_verify(dag: DAG, schedule: ScheduleSource, M: int, *, variant: str = "base", sliding: bool = False,
                     strict: bool = True, outputs: OutputSet | None = None,
                     compute_cost: float = R.DEFAULT_COMPUTE_COST) -> R.Report:
    """:func:`verify` played over Python sets with :mod:`pebble.rules`: slow, obviously correct."""
    rules = R.Rules.make(M, variant, sliding=sliding, strict=strict, compute_cost=compute_cost)
    dag = _with_outputs(as_dag(dag), outputs)
    state = R.State.initial(dag)
    violation = None
    index = 0
    for chunk in _chunks(dag, schedule):
        for code in chunk.tolist():
            kind, v = code & 3, code >> 2
            broken = R.check(dag, rules, state, kind, v)
            if broken is not None:
                violation = R.make_violation(dag, rules, index, code, broken[0], v, broken[1])
                break
            R.apply(dag, rules, state, kind, v)
            index += 1
        if violation is not None:
            break
    if violation is None:
        blue = np.array([int(o) in state.blue for o in dag.outputs], dtype=bool)
        at_end = R.end_violation(dag, rules, state, blue)
        if at_end is not None:
            violation = R.make_violation(dag, rules, index, None, *at_end)
    return R.Report(valid=violation is None, moves=index, loads=state.loads, stores=state.stores,
                    computes=state.computes, deletes=state.deletes, peak_red=state.peak, rules=rules,
                    violation=violation)
