"""Exact one-shot pebbling by A* over the ideals of the DAG.

Every one-shot schedule can be put, at no extra I/O, in a normal form of
steps, one per needed non-source node: evict what room needs (a dirty value
is stored first), load the operands not red, compute, store an output at
once, drop the values no longer needed. A state is the ideal computed so
far, the red values still needed and those of them never stored; the
heuristic (loads of needed values not red, stores of outputs to come, the
fewest evictions any next step forces) is consistent. Exact and fast on
narrow DAGs (few ideals), it stops at its limits with a proven lower bound
on wide ones. Derivations: docs/solver-searches.md, "Ideal search".
"""

from __future__ import annotations

import heapq
import time

from dags.core import takes_dag

from ..moves import COMPUTE, DELETE, LOAD, STORE, Schedule
from .bitmask import DagMasks, bits, evictions
from .results import SolveResult, proven_result, search_rules

__all__ = ["ideal_search"]


class _Lattice:
    """Needed nodes as bit masks: operands, successors, outputs; the live values of each ideal."""

    def __init__(self, dag):
        needed = dag.needed
        self.is_source = is_source = dag.in_degree == 0
        order = [int(v) for v in dag.topological_order if needed[v]]
        self.computes = [v for v in order if not is_source[v]]
        self.index = {v: i for i, v in enumerate(self.computes)}
        self.full = (1 << len(self.computes)) - 1
        masks = DagMasks.of(dag)
        self.operands = {v: masks.preds[v] for v in self.computes}  # node mask
        self.below = {v: 0 for v in self.computes}  # compute-index mask of non-source operands
        self.succ = {v: 0 for v in order}  # compute-index mask of successors
        for v in self.computes:
            for u in bits(self.operands[v]):
                self.succ[u] |= 1 << self.index[v]
                if not is_source[u]:
                    self.below[v] |= 1 << self.index[u]
        self.outputs = {int(v) for v in dag.outputs if not is_source[v]}
        self.output_mask = sum(1 << self.index[v] for v in self.outputs)
        self.sources_used = [u for u in order if is_source[u] and self.succ[u]]
        self._live = {}
        self._steps = {}

    def live(self, ideal):
        """Node mask of the values a compute outside ``ideal`` still reads."""
        mask = self._live.get(ideal)
        if mask is None:
            mask = 0
            for u in self.sources_used:
                if self.succ[u] & ~ideal:
                    mask |= 1 << u
            for i in bits(ideal):
                v = self.computes[i]
                if self.succ[v] & ~ideal:
                    mask |= 1 << v
            self._live[ideal] = mask
        return mask

    def heuristic(self, ideal, red, M):
        """A lower bound on the I/O still to come from (ideal, red); see docs/solver-searches.md."""
        return ((self.live(ideal) & ~red).bit_count() + (self.output_mask & ~ideal).bit_count()
                + self.forced(ideal, red, M))

    def forced(self, ideal, red, M):
        """The fewest red values any next step must evict (each is needed later, so loaded again)."""
        fewest = None
        for _, ops, _, _, _ in self.steps(ideal):
            k = (red | ops).bit_count() + 1 - M
            if k <= 0:
                return 0
            if fewest is None or k < fewest:
                fewest = k
        return fewest or 0

    def steps(self, ideal):
        """The computes possible from ``ideal``: ``(v, operands, is output, next ideal, its live
        values)``, computed once per ideal."""
        found = self._steps.get(ideal)
        if found is None:
            found = []
            for i, v in enumerate(self.computes):
                if ideal >> i & 1 or self.below[v] & ~ideal:
                    continue
                nxt = ideal | 1 << i
                found.append((v, self.operands[v], v in self.outputs, nxt, self.live(nxt)))
            self._steps[ideal] = found
        return found


@takes_dag
def ideal_search(dag, M, *, variant="one-shot", time_limit=None, max_states=2_000_000, progress=None) -> SolveResult:
    """The optimal one-shot I/O by A* over (ideal, red values, dirty values); see docs/solver-searches.md.

    Parameters
    ----------
    dag : dags.DAG
    M : int
        Red pebbles; at least ``dag.min_memory()``.
    variant : {'one-shot'}
        The only game this search is exact for.
    time_limit : float, optional
        Stop after this many seconds.
    max_states : int
        Stop when this many states have been seen (memory: a few hundred bytes each).
    progress : callable, optional
        ``progress(io, lower_bound, seconds)`` when the lower bound rises or the optimum is found.

    Returns
    -------
    SolveResult
        Method ``ideals``. Status ``optimal`` and the verifier's report on the
        optimal schedule; when a limit stops it first, ``unknown``, no
        schedule, and the smallest ``g + h`` left in the queue as the bound.

    Examples
    --------
    >>> from dags import build
    >>> found = ideal_search(build("layered:layers=6,width=5,seed=3"), 3)
    >>> found.status, found.io, found.stats["ideals"] > 1000
    ('optimal', 31, True)
    """
    start_time = time.perf_counter()
    rules = search_rules(dag, M, variant, max_states, game="one-shot", name="the ideal search",
                         why="its normal form has no recomputation and deletes freely")
    lat = _Lattice(dag)
    M = rules.M
    # A state (ideal, red, dirty) is one int: ideal << 2n | red << n | dirty.
    n = dag.num_nodes
    nodes = (1 << n) - 1
    best = {0: 0}
    parent = {0: None}
    queue = [(lat.heuristic(0, 0, M), 0, 0)]  # (f, -g, state): ties on f go deepest first
    bound, expanded, goal, stopped = 0, 0, None, False
    heappush, heappop = heapq.heappush, heapq.heappop
    while queue:
        f, neg_g, state = heappop(queue)
        g = -neg_g
        if g > best[state]:
            continue
        if f > bound:
            bound = f
            if progress is not None:
                progress(None, bound, time.perf_counter() - start_time)
        ideal, red, dirty = state >> (2 * n), (state >> n) & nodes, state & nodes
        if ideal == lat.full:
            goal = state
            break
        expanded += 1
        if len(best) > max_states or (time_limit is not None and expanded % 256 == 0
                                      and time.perf_counter() - start_time > time_limit):
            stopped = True
            break
        for v, ops, out, nxt_ideal, live in lat.steps(ideal):
            base = g + (ops & ~red).bit_count() + out
            evict = (red | ops).bit_count() + 1 - M
            keep = (red | ops | 1 << v) & live
            high = nxt_ideal << (2 * n)
            new_dirty = 0 if out else 1 << v
            for e in evictions(red & ~ops, evict):
                g2 = base + (e & dirty).bit_count()
                r2 = keep & ~e
                nxt = high | r2 << n | (((dirty & ~e) | new_dirty) & r2)
                if g2 >= best.get(nxt, g2 + 1):
                    continue
                best[nxt] = g2
                parent[nxt] = (state, v, e)
                heappush(queue, (g2 + lat.heuristic(nxt_ideal, r2, M), -g2, nxt))
    stats = {"states_expanded": expanded, "states_seen": len(best), "ideals": len(lat._live)}
    seconds = time.perf_counter() - start_time
    if goal is None:
        if not stopped:
            raise AssertionError("the ideal search ran out of states before the goal (a bug)")
        return SolveResult("unknown", None, None, bound, seconds, None, M, rules.variant, "ideals", stats)
    schedule = _moves(lat, parent, goal, n)
    return proven_result(dag, schedule, best[goal], rules, "ideals", "the ideal search", start_time, stats, progress)


def _moves(lat, parent, goal, n):
    """The schedule of the path to ``goal``, step by step in the normal form of docs/solver-searches.md."""
    nodes = (1 << n) - 1
    steps = []
    state = goal
    while parent[state] is not None:
        prev, v, e = parent[state]
        steps.append((prev, v, e, state))
        state = prev
    codes = []
    for prev, v, e, nxt in reversed(steps):
        red, dirty, red2 = (prev >> n) & nodes, prev & nodes, (nxt >> n) & nodes
        for u in bits(e):
            if dirty >> u & 1:
                codes.append(u << 2 | STORE)
            codes.append(u << 2 | DELETE)
        ops = lat.operands[v]
        codes.extend(u << 2 | LOAD for u in bits(ops & ~red))
        codes.append(v << 2 | COMPUTE)
        if v in lat.outputs:
            codes.append(v << 2 | STORE)
        codes.extend(u << 2 | DELETE for u in bits(((red & ~e) | ops | 1 << v) & ~red2))
    return Schedule(codes)
