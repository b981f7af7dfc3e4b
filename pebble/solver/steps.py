"""Exact base-game pebbling by A* over (red, blue), one compute per step.

Every base-game schedule can be put, at no extra I/O, in a normal form of
steps, each computing one node: evict what room needs (storing some of the
victims), load the operands not red, compute, store an output at once, drop
what can no longer be of use. A state is the red and the blue values that
can still be of use; nothing records what was computed before, so
recomputing is free, unlike in :mod:`.ideals`. The heuristic adds the stores
of the outputs not blue, a minimum vertex cut (a max flow) for the loads,
and the I/O that crowded computes force; it is admissible but not
consistent, so a state's ``f`` is carried along paths. The search runs
compiled (numba) over 64-bit masks (DAGs of at most 62 nodes) with a bucket
queue. Derivations: docs/solver-searches.md, "Step search".
"""

from __future__ import annotations

import signal
import threading
import time

import numpy as np
from numba import njit, types
from numba.typed import Dict, List

from dags.core import takes_dag

from ..moves import COMPUTE, DELETE, LOAD, STORE, Schedule
from .bitmask import MAX_NODES, DagMasks, bits
from .results import SolverError, SolveResult, proven_result, search_rules

__all__ = ["step_search"]

# Expansions between two looks at the clock (and at the bound, for progress).
_CHUNK = 4096
# What a chunk of the search ended on.
_GOING, _GOAL, _EXHAUSTED, _EMPTY, _FULL = range(5)


class _StepGame:
    """The DAG as 64-bit masks (operands, ancestors, sources, outputs, the nodes to compute) and its flow network."""

    def __init__(self, dag, M):
        self.M = M
        n = self.n = dag.num_nodes
        if n > MAX_NODES:
            raise SolverError(f"the step search takes DAGs of at most {MAX_NODES} nodes (a node set is one 64-bit "
                              f"mask), got {n}")
        masks = DagMasks.of(dag)
        self.preds = masks.array(masks.preds)
        self.net = _network([dag.predecessors(v).tolist() for v in range(n)], n)
        self.ancestors = masks.array(masks.ancestors)
        self.sources = masks.sources
        self.outputs = masks.outputs & ~masks.sources
        self.computable = masks.computable
        self.of_use_cache = Dict.empty(types.int64, types.int64)

    def of_use(self, blue):
        """The values that can still be of use: the outputs not blue and their ancestors."""
        return _of_use(blue, self.outputs, self.ancestors, self.of_use_cache)

    def cut_bound(self, red, blue):
        """The heuristic of a state: stores of the outputs not blue, a minimum vertex cut between the sources
        and those outputs (not red) in which a blue value counts 1, a red one 0, and the others cannot be cut,
        and the I/O of crowded computes (docs/solver-searches.md)."""
        return _heuristic(red, blue, self.outputs, self.sources, self.net, self.ancestors, self.of_use_cache,
                          self.preds, self.M)


@njit(cache=True)
def _popcount(x):
    count = 0
    while x:
        x &= x - 1
        count += 1
    return count


@njit(cache=True)
def _of_use(blue, outputs, ancestors, cache):
    todo = outputs & ~blue
    if todo in cache:
        return cache[todo]
    mask = 0
    for o in range(len(ancestors)):
        if todo >> o & 1:
            mask |= ancestors[o]
    cache[todo] = mask
    return mask


@njit(cache=True)
def _heuristic(red, blue, outputs, sources, net, ancestors, of_use_cache, preds, M):
    todo = outputs & ~blue
    targets = todo & ~red
    if targets == 0:
        return _popcount(todo)
    free = _of_use(blue, outputs, ancestors, of_use_cache) & ~red  # the nodes paths may use
    return (_popcount(todo) + _max_flow(free, free & blue, free & sources, targets, net)
            + _crowded(red, blue, targets, outputs, preds, M))


@njit(cache=True)
def _crowded(red, blue, targets, outputs, preds, M):
    """Loads and stores of values not blue now that crowded computes force (docs/solver-searches.md)."""
    n = len(preds)
    must = frontier = targets  # the values every completion computes: neither red nor blue, and needed
    while frontier:
        operands = 0
        for v in range(n):
            if frontier >> v & 1:
                operands |= preds[v]
        frontier = operands & ~red & ~blue & ~must
        must |= frontier
    taken = np.empty(n, np.int64)  # the operand sets of the crowded computes counted for a load
    loads = 0
    disjoint = 0  # their operands, over those counted for a store too
    stores = 0
    for w in range(n):
        ops = preds[w]
        if not must >> w & 1 or ops & blue & ~red or not ops & ~red:
            continue
        crowded = True
        for x in range(n):
            if ops >> x & 1 and _popcount(preds[x] | (ops & ~(1 << x))) + 1 <= M:
                crowded = False
                break
        if not crowded:
            continue
        apart = True  # no load could serve both w and a compute counted before
        for i in range(loads):
            if _popcount(ops | taken[i]) + 1 <= M:
                apart = False
                break
        if apart:
            taken[loads] = ops
            loads += 1
            if not ops & (disjoint | outputs | blue):
                disjoint |= ops
                stores += 1
    return loads + stores
def _network(preds_of, n):
    """The arrays of :func:`_max_flow`: successor and predecessor lists (CSR; each predecessor entry with the
    index of its edge among the successor entries) and the work arrays of the flow."""
    succs_of = [[] for _ in range(n)]
    for v in range(n):
        for u in preds_of[v]:
            succs_of[u].append(v)
    succ_ptr = np.zeros(n + 1, np.int64)
    succ_idx, edge_of = [], {}
    for u in range(n):
        for v in succs_of[u]:
            edge_of[u, v] = len(succ_idx)
            succ_idx.append(v)
        succ_ptr[u + 1] = len(succ_idx)
    pred_ptr = np.zeros(n + 1, np.int64)
    pred_idx, pred_edge = [], []
    for v in range(n):
        for u in preds_of[v]:
            pred_idx.append(u)
            pred_edge.append(edge_of[u, v])
        pred_ptr[v + 1] = len(pred_idx)
    m = len(succ_idx)
    return (succ_ptr, np.array(succ_idx, np.int64), pred_ptr, np.array(pred_idx, np.int64),
            np.array(pred_edge, np.int64), np.zeros(n, np.int64), np.zeros(max(m, 1), np.int64),
            np.zeros(2 * n, np.int64), np.zeros(2 * n, np.int64), np.zeros(2 * n, np.int64))


@njit(cache=True)
def _max_flow(free, cap1, starts, targets, net):
    """The most paths from ``starts`` to ``targets`` within ``free`` that share no node of ``cap1`` (all but
    ``net`` are masks; ``net`` is :func:`_network`'s). Augmenting paths on the split graph: ``2v`` is v's entry,
    ``2v + 1`` its exit; only the nodes of ``cap1`` have a capacity (1)."""
    succ_ptr, succ_idx, pred_ptr, pred_idx, pred_edge, node_flow, edge_flow, parent, via, queue = net
    n = len(node_flow)
    node_flow[:] = 0
    edge_flow[:] = 0
    flow = 0
    while True:
        parent[:] = -2  # -2: not reached, -1: a start
        tail = 0
        for v in range(n):
            if starts >> v & 1:
                parent[2 * v] = -1
                queue[tail] = 2 * v
                tail += 1
        head = 0
        end = -1
        while head < tail and end < 0:
            a = queue[head]
            head += 1
            v = a >> 1
            if a & 1 == 0:
                if parent[a + 1] == -2 and not (node_flow[v] > 0 and cap1 >> v & 1):
                    parent[a + 1] = a
                    if targets >> v & 1:
                        end = a + 1
                    queue[tail] = a + 1
                    tail += 1
                for k in range(pred_ptr[v], pred_ptr[v + 1]):  # back along an edge with flow
                    u = pred_idx[k]
                    if free >> u & 1 and parent[2 * u + 1] == -2 and edge_flow[pred_edge[k]] > 0:
                        parent[2 * u + 1] = a
                        via[2 * u + 1] = pred_edge[k]
                        queue[tail] = 2 * u + 1
                        tail += 1
            else:
                if parent[a - 1] == -2 and node_flow[v] > 0:
                    parent[a - 1] = a
                    queue[tail] = a - 1
                    tail += 1
                for k in range(succ_ptr[v], succ_ptr[v + 1]):
                    w = succ_idx[k]
                    if free >> w & 1 and parent[2 * w] == -2:
                        parent[2 * w] = a
                        via[2 * w] = k
                        queue[tail] = 2 * w
                        tail += 1
        if end < 0:
            return flow
        flow += 1
        b = end
        while parent[b] != -1:
            a = parent[b]
            if a >> 1 == b >> 1:  # through a node, forwards (entry to exit) or back
                node_flow[a >> 1] += 1 if a & 1 == 0 else -1
            elif a & 1:  # along an edge
                edge_flow[via[b]] += 1
            else:  # back along an edge
                edge_flow[via[b]] -= 1
            b = a


@njit(cache=True)
def _slot(keys, red, blue):
    """The slot of (red, blue) in the open-addressing table ``keys`` (rows (red, blue), blue -1 when empty):
    where it is, or the empty slot where it goes."""
    mask = len(keys) - 1
    h = red * -7046029254386353131 + blue * -4658895280553007687  # wraps: a multiplicative hash
    i = (h ^ (h >> 29)) & mask
    while keys[i, 1] != -1 and (keys[i, 0] != red or keys[i, 1] != blue):
        i = (i + 1) & mask
    return i


@njit(cache=True)
def _grow(keys, values):
    """The table with twice the slots, every entry moved."""
    new_keys = np.full((2 * len(keys), 2), -1, np.int64)
    new_values = np.empty((2 * len(keys), values.shape[1]), np.int64)
    for i in range(len(keys)):
        if keys[i, 1] != -1:
            j = _slot(new_keys, keys[i, 0], keys[i, 1])
            new_keys[j, 0], new_keys[j, 1] = keys[i, 0], keys[i, 1]
            new_values[j] = values[i]
    return new_keys, new_values


_PAIR = types.UniTuple(types.int64, 2)
_STACK = types.ListType(_PAIR)


@njit(cache=True)
def _push(queue, sizes, f, g, red, blue):
    """Put (red, blue) in the queue at (f, g): ``queue[f][g]`` is a stack, ``sizes[f]`` counts level f."""
    while len(queue) <= f:
        queue.append(List.empty_list(_STACK))
        sizes.append(0)
    level = queue[f]
    while len(level) <= g:
        level.append(List.empty_list(_PAIR))
    level[g].append((red, blue))
    sizes[f] += 1


@njit(cache=True)
def _run(queue, sizes, keys, values, of_use_cache, preds, net, ancestors, sources, outputs, computable, M, cap,
         expansions, max_states, out):
    """Up to ``expansions`` expansions of the A* search; ``out`` holds [what it ended on, expanded, bound, goal
    red, goal blue, lowest f in the queue]. The queue is a bucket queue (f and g are small integers): lowest f
    first, then highest g, the deepest. The table (``keys``, ``values``; ``out[6]`` entries) maps (red, blue)
    to (g, its heuristic or -1 until the state is taken from the queue, previous red, previous blue, node
    computed, values evicted, values stored); it grows as it fills, and is returned. Every state enters at an
    f no lower than the one taken, so the lowest f only rises."""
    n = len(preds)
    pool = np.empty(n, np.int64)  # the values a step may evict
    pick = np.empty(n, np.int64)  # one choice of them, as indices into pool
    done = 0
    f = out[5]
    while True:
        while f < len(sizes) and sizes[f] == 0:
            f += 1
        out[5] = f
        if f == len(sizes):
            break
        level = queue[f]
        g = len(level) - 1
        while len(level[g]) == 0:
            g -= 1
        red, blue = level[g].pop()
        sizes[f] -= 1
        i = _slot(keys, red, blue)
        if g > values[i, 0]:
            continue
        h = values[i, 1]
        if h < 0:
            h = _heuristic(red, blue, outputs, sources, net, ancestors, of_use_cache, preds, M)
            values[i, 1] = h
        if g + h > f:  # entered the queue with its parent's f: back with its own
            _push(queue, sizes, g + h, g, red, blue)
            continue
        if f >= cap:  # every state left leads only to schedules of I/O cap or more
            out[0] = _EXHAUSTED
            out[2] = max(out[2], cap)
            return keys, values
        if f > out[2]:
            out[2] = f
        if outputs & ~blue == 0:
            out[0], out[3], out[4] = _GOAL, red, blue
            return keys, values
        out[1] += 1
        if out[6] > max_states:
            out[0] = _FULL
            return keys, values
        keep = _of_use(blue, outputs, ancestors, of_use_cache)
        todo = keep & ~red & computable
        for w in range(n):
            if not todo >> w & 1:
                continue
            ops = preds[w]
            loads = ops & ~red
            if loads & ~blue:
                continue
            blue1, keep1, base = blue, keep, g + _popcount(loads)
            if outputs >> w & 1 and not blue >> w & 1:  # stored at once
                blue1 = blue | 1 << w
                keep1 = _of_use(blue1, outputs, ancestors, of_use_cache)
                base += 1
            red1 = (red | ops | 1 << w) & keep1
            blue1 &= keep1 | outputs
            evict = _popcount(red | ops) + 1 - M
            # Values of no more use go first (any other choice is dominated: they are dropped after).
            spent = red & ~ops & ~keep1 if evict > 0 else 0
            evict -= _popcount(spent)
            size = 0
            if evict > 0:
                rest = red & ~ops & keep1
                for u in range(n):
                    if rest >> u & 1:
                        pool[size] = u
                        size += 1
                for i in range(evict):
                    pick[i] = i
            else:
                evict = 0
            while True:  # every choice of ``evict`` values of the pool, in lexicographic order
                e = spent
                for i in range(evict):
                    e |= 1 << pool[pick[i]]
                red2 = red1 & ~e
                dirty = e & ~blue & keep1  # storing a value of no more use would be wasted
                stored = dirty
                while True:  # every subset of the dirty victims is stored
                    g2 = base + _popcount(stored)
                    blue2 = blue1 | stored
                    j = _slot(keys, red2, blue2)
                    new = keys[j, 1] == -1
                    if g2 < cap and (new or g2 < values[j, 0]):
                        if new:
                            keys[j, 0], keys[j, 1] = red2, blue2
                            values[j, 1] = -1
                            out[6] += 1
                        values[j, 0], values[j, 2], values[j, 3] = g2, red, blue
                        values[j, 4], values[j, 5], values[j, 6] = w, e, stored
                        # Its f is at least its parent's (docs/solver-searches.md).
                        _push(queue, sizes, max(f, g2), g2, red2, blue2)
                    if 2 * out[6] > len(keys):
                        keys, values = _grow(keys, values)
                    if stored == 0:
                        break
                    stored = (stored - 1) & dirty
                i = evict - 1
                while i >= 0 and pick[i] == size - evict + i:
                    i -= 1
                if i < 0:
                    break
                pick[i] += 1
                for j in range(i + 1, evict):
                    pick[j] = pick[j - 1] + 1
        done += 1
        if done >= expansions:
            out[0] = _GOING
            return keys, values
    out[0] = _EMPTY
    return keys, values


class _CtrlC:
    """Ctrl-C during the search: noted while a compiled chunk runs, raised as KeyboardInterrupt between two
    (an interrupt inside compiled code would surface as an error). Only in the main thread, where signals
    arrive."""

    def __enter__(self):
        self.pressed = False
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, signum, frame):
        self.pressed = True

    def check(self):
        if self.pressed:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


@takes_dag
def step_search(dag, M, *, variant="base", time_limit=None, max_states=2_000_000, upper_bound=None,
                progress=None) -> SolveResult:
    """The optimal base-game I/O by A* over (red, blue) in steps of one compute; see docs/solver-searches.md.

    Parameters
    ----------
    dag, M, time_limit, max_states, progress
        As for :func:`.ideals.ideal_search`; ``dag`` of at most 62 nodes, and a
        state takes up to 300 bytes.
    variant : {'base'}
        The only game this search is exact for.
    upper_bound : int, optional
        Look only for schedules of I/O below this (the I/O of one known):
        states that cannot lead to one are not kept, which saves memory and
        time.

    Returns
    -------
    SolveResult
        Method ``steps``, otherwise as :func:`.ideals.ideal_search`. When no
        schedule is below ``upper_bound``, the result has no schedule, that
        bound as its lower bound, and ``stats['exhausted']`` true.

    Examples
    --------
    >>> from dags import build
    >>> found = step_search(build("pyramid:h=4"), 4)
    >>> found.status, found.io, found.method
    ('optimal', 10, 'steps')
    """
    start_time = time.perf_counter()
    rules = search_rules(dag, M, variant, max_states, game="base", name="the step search",
                         why="its states do not record what was computed, nor keep values it could delete")
    if upper_bound is not None and (isinstance(upper_bound, bool) or not isinstance(upper_bound, int)):
        raise SolverError(f"argument 'upper_bound' must be an integer, got {upper_bound!r}")
    with _CtrlC() as ctrl_c:  # from the first call to compiled code (which may compile it)
        game = _StepGame(dag, rules.M)
        M = rules.M
        cap = 1 << 40 if upper_bound is None else max(upper_bound, 0)
        keys, values = np.full((1 << 16, 2), -1, np.int64), np.empty((1 << 16, 7), np.int64)
        queue, sizes = List.empty_list(types.ListType(_STACK)), List.empty_list(types.int64)
        blue0 = game.sources & (game.of_use(game.sources) | game.outputs)
        start = _slot(keys, 0, blue0)
        keys[start] = (0, blue0)
        values[start] = (0, -1, -1, -1, -1, 0, 0)
        _push(queue, sizes, 0, 0, 0, blue0)
        # What the last chunk ended on, expanded, bound, goal red, goal blue, lowest f in the queue, states.
        out = np.array([_GOING, 0, 0, 0, 0, 0, 1], np.int64)
        reported = 0
        while True:
            keys, values = _run(queue, sizes, keys, values, game.of_use_cache, game.preds, game.net,
                                game.ancestors, game.sources, game.outputs, game.computable, M, cap, _CHUNK,
                                max_states, out)
            ctrl_c.check()
            ended, bound = int(out[0]), int(out[2])
            seconds = time.perf_counter() - start_time
            if bound > reported and ended != _GOAL and progress is not None:
                progress(None, bound, seconds)
            reported = max(reported, bound)
            if ended != _GOING or (time_limit is not None and seconds > time_limit):
                break
    if ended == _EMPTY:
        if upper_bound is None:
            raise AssertionError("the step search ran out of states before the goal (a bug)")
        ended, bound = _EXHAUSTED, cap  # every state below upper_bound was expanded
    exhausted = ended == _EXHAUSTED
    stats = {"states_expanded": int(out[1]), "states_seen": int(out[6]), "exhausted": exhausted}
    if ended != _GOAL:
        return SolveResult("unknown", None, None, bound, time.perf_counter() - start_time, None, M, rules.variant,
                           "steps", stats)
    goal = (int(out[3]), int(out[4]))
    schedule, io = _moves(game, keys, values, goal)
    return proven_result(dag, schedule, io, rules, "steps", "the step search", start_time, stats, progress)


def _moves(game, keys, values, goal):
    """The schedule of the path to ``goal``, step by step in the normal form of docs/solver-searches.md, and its I/O."""
    steps = []
    state = goal
    io = int(values[_slot(keys, *goal), 0])
    while True:
        _, _, red, blue, w, e, stored = values[_slot(keys, *state)].tolist()
        if red < 0:
            break
        steps.append(((red, blue), w, e, stored, state))
        state = (red, blue)
    outputs = game.outputs
    codes = []
    for (red, blue), w, e, stored, (red2, _) in reversed(steps):
        for u in bits(e):
            if stored >> u & 1:
                codes.append(u << 2 | STORE)
            codes.append(u << 2 | DELETE)
        ops = int(game.preds[w])
        codes.extend(u << 2 | LOAD for u in bits(ops & ~red))
        codes.append(w << 2 | COMPUTE)
        if outputs >> w & 1 and not blue >> w & 1:
            codes.append(w << 2 | STORE)
        codes.extend(u << 2 | DELETE for u in bits(((red & ~e) | ops | 1 << w) & ~red2))
    return Schedule(codes), io
