"""A general pebbling heuristic for any DAG.

Compute the needed nodes once each, in a depth-first topological order (a
node's operands are finished just before it, which keeps the working set
small); load an operand that is not red; when fast memory is full, evict the
red value whose next use lies furthest ahead (Belady's rule), storing it first
only if it is used again and has no blue pebble; store each output once, when
it is computed; delete a value as soon as it has no further use.

The schedule never recomputes, so it is valid in the base and one-shot games.
It needs M >= max in-degree + 1 (the least M of any pebbling).
"""

from __future__ import annotations

import heapq

import numpy as np

from ..moves import COMPUTE, DELETE, LOAD, STORE, Schedule
from .common import require_memory

__all__ = ["heuristic_schedule", "depth_first_order"]


def depth_first_order(dag) -> np.ndarray:
    """Non-source ancestors of the outputs in depth-first post-order (operands first)."""
    n = dag.num_nodes
    indptr, indices = dag.indptr, dag.indices
    done = np.zeros(n, bool)
    order = []
    for root in dag.outputs.tolist():
        if done[root]:
            continue
        stack = [(root, indptr[root])]
        done[root] = True
        while stack:
            v, e = stack[-1]
            if e < indptr[v + 1]:
                stack[-1] = (v, e + 1)
                u = int(indices[e])
                if not done[u]:
                    done[u] = True
                    stack.append((u, indptr[u]))
            else:
                stack.pop()
                if indptr[v + 1] > indptr[v]:
                    order.append(v)
    return np.asarray(order, dtype=np.int64)


def heuristic_schedule(dag, M, *, order=None) -> Schedule:
    """A valid schedule for any DAG with ``M >= dag.min_memory()`` red pebbles.

    ``order`` (optional) is the compute order: every needed non-source node
    once, operands before results; default :func:`depth_first_order`.
    """
    require_memory(dag, M, dag.min_memory(), "heuristic")
    order = depth_first_order(dag) if order is None else np.asarray(order, dtype=np.int64)
    indptr, indices = dag.indptr, dag.indices
    # uses[u]: the positions in `order` at which u is an operand, ascending.
    counts = indptr[order + 1] - indptr[order]
    steps = np.repeat(np.arange(order.size), counts)
    operands = np.concatenate([indices[indptr[v]:indptr[v + 1]] for v in order]) if order.size else np.zeros(0, np.int64)
    by_node = np.argsort(operands, kind="stable")
    use_ptr = np.searchsorted(operands[by_node], np.arange(dag.num_nodes + 1))
    use_pos = steps[by_node]
    cursor = use_ptr[:-1].copy()
    end = use_ptr[1:]
    never = order.size + 1

    def next_use(u):
        return int(use_pos[cursor[u]]) if cursor[u] < end[u] else never

    is_out = np.zeros(dag.num_nodes, bool)
    is_out[dag.outputs] = True
    red = set()
    blue = set(dag.sources.tolist())
    heap = []  # (-next use, node), stale entries skipped
    moves = []

    def make_room(pinned):
        while len(red) >= M:
            key, u = heapq.heappop(heap)
            if u not in red or -key != next_use(u) or u in pinned:
                continue
            if u not in blue:
                moves.append((u << 2) | STORE)
                blue.add(u)
            moves.append((u << 2) | DELETE)
            red.discard(u)

    for t, v in enumerate(order.tolist()):
        preds = indices[indptr[v]:indptr[v + 1]].tolist()
        pinned = set(preds)
        for u in preds:
            if u not in red:
                make_room(pinned)
                moves.append((u << 2) | LOAD)
                red.add(u)
        make_room(pinned)
        moves.append((v << 2) | COMPUTE)
        red.add(v)
        for u in preds:
            cursor[u] += 1
            nu = next_use(u)
            if nu == never:
                moves.append((u << 2) | DELETE)
                red.discard(u)
            else:
                heapq.heappush(heap, (-nu, u))
        if is_out[v]:
            moves.append((v << 2) | STORE)
            blue.add(v)
        nv = next_use(v)
        if nv == never:
            moves.append((v << 2) | DELETE)
            red.discard(v)
        else:
            heapq.heappush(heap, (-nv, v))
    return Schedule(np.asarray(moves, dtype=np.int64))
