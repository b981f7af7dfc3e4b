"""Exact optimal pebbling by A* search over pebble configurations.

An independent check of the CP-SAT solver, for tiny DAGs: it plays the game
move by move over whole configurations (red, blue and, one-shot, computed
sets as bit masks), deleting lazily and moving only needed nodes. Its
heuristic (stores of outputs not blue, loads of operands that must be
loaded) is consistent, so the first goal taken from the queue is optimal and
a stopped search leaves a proven lower bound. Derivations:
docs/solver-searches.md, "Configuration search".
"""

from __future__ import annotations

import heapq
import time

from dags.core import takes_dag

from ..moves import COMPUTE, STORE, Schedule
from .bitmask import DagMasks, bits, lazy_moves, move_codes
from .results import SolveResult, game_rules, proven_result

__all__ = ["search"]


class _ConfigGame:
    """The moves and heuristic of the search over whole configurations, over the DAG's masks."""

    def __init__(self, dag, rules):
        self.M = rules.M
        self.one_shot = rules.one_shot
        self.nodel = rules.nodel
        masks = DagMasks.of(dag)
        self.preds = masks.preds
        self.sources = masks.sources
        self.outputs = masks.outputs
        has_needed_succ = masks.operands_of(masks.needed)
        self.computable = masks.computable
        self.loadable = has_needed_succ
        self.storable = self.computable & (has_needed_succ | self.outputs)
        self.out_todo = self.outputs & ~self.sources

    def heuristic(self, red, blue, done):
        """Lower bound on the I/O from this state on, or ``None`` if no schedule completes it."""
        stores = (self.out_todo & ~blue).bit_count()
        must = self.out_todo & ~blue & ~red
        frontier = must
        operands = 0
        while frontier:
            ops = 0
            for v in bits(frontier):
                ops |= self.preds[v]
            operands |= ops
            frontier = ops & ~red & ~blue & ~must
            must |= frontier
        if self.one_shot:
            if must & done:
                return None
            loads = operands & ~red & (self.sources | done)
        else:
            loads = operands & ~red & self.sources
        return stores + loads.bit_count()

    def moves(self, red, blue, done):
        """``(cost, red, blue, done, codes)`` for every move from a state."""
        victims = red & blue if self.nodel else red
        for kind, v, deleted, red2 in lazy_moves(red, self.M, self.preds, self.computable & ~done,
                                                 self.loadable & blue, victims):
            codes = move_codes(kind, v, deleted)
            if kind == COMPUTE:
                yield 0, red2, blue, done | (1 << v) if self.one_shot else done, codes
            else:
                yield 1, red2, blue, done, codes
        for v in bits(self.storable & red & ~blue):
            yield 1, red, blue | 1 << v, done, (v << 2 | STORE,)


@takes_dag
def search(dag, M, *, variant="base", max_states=1_000_000, time_limit=None) -> SolveResult:
    """The optimal I/O of a tiny DAG by A* over pebble configurations.

    Parameters
    ----------
    dag : dags.DAG
    M : int
        Red pebbles; at least ``dag.min_memory()``.
    variant : {'base', 'one-shot', 'nodel', 'one-shot+nodel'}
    max_states : int
        Stop after expanding this many states.
    time_limit : float, optional
        Stop after this many seconds.

    Returns
    -------
    SolveResult
        ``optimal`` with a verified optimal schedule, or ``unknown`` with the
        lower bound reached when a limit stopped the search.

    Examples
    --------
    >>> from dags import pyramid_dag
    >>> r = search(pyramid_dag(2), 3)
    >>> r.status, r.io, r.report.valid
    ('optimal', 6, True)
    """
    start_time = time.perf_counter()
    rules = game_rules(dag, M, variant)
    game = _ConfigGame(dag, rules)
    n = dag.num_nodes
    mask = (1 << n) - 1

    def key(red, blue, done):  # one int per state: red, blue and done side by side
        return red | blue << n | done << (2 * n)

    start = key(0, game.sources, 0)
    bound = game.heuristic(0, game.sources, 0)
    best = {start: 0}
    parent = {start: None}
    queue = [(bound, 0, start)]  # ties on f: deepest first
    expanded = 0
    goal = None
    while queue:
        f, neg_g, state = heapq.heappop(queue)
        g = -neg_g
        if g > best[state]:
            continue
        bound = f
        red, blue, done = state & mask, (state >> n) & mask, state >> (2 * n)
        if not game.outputs & ~blue:
            goal = state
            break
        expanded += 1
        if expanded > max_states or (time_limit is not None and time.perf_counter() - start_time > time_limit):
            break
        for cost, r2, b2, d2, codes in game.moves(red, blue, done):
            nxt = key(r2, b2, d2)
            g2 = g + cost
            if g2 >= best.get(nxt, g2 + 1):
                continue
            h = game.heuristic(r2, b2, d2)
            if h is None:
                continue
            best[nxt] = g2
            parent[nxt] = (state, codes)
            heapq.heappush(queue, (g2 + h, -g2, nxt))
    stats = {"states_expanded": expanded, "states_seen": len(best)}
    seconds = time.perf_counter() - start_time
    if goal is None:
        return SolveResult("unknown", None, None, bound, seconds, None, rules.M, rules.variant, "search", stats)
    codes = []
    state = goal
    while parent[state] is not None:
        state, step = parent[state]
        codes.extend(reversed(step))
    schedule = Schedule(codes[::-1])
    return proven_result(dag, schedule, best[goal], rules, "search", "the A* search", start_time, stats)
