"""A DAG as bit masks, and the moves the exact searches build their steps from.

A set of nodes is one Python ``int`` (bit ``v`` for node ``v``); for the
compiled search, also one ``int64`` per node in numpy arrays, which holds
DAGs of at most :data:`MAX_NODES` nodes. :func:`lazy_moves` is the one move
generator of the searches that play single moves (:mod:`.config_search`,
:mod:`.transition_search`); :func:`evictions` the one choice of values to
evict of those that play normal-form steps (:mod:`.ideals`; :mod:`.steps`
enumerates the same choices compiled and is tested against
:func:`base_steps`, the Python statement of its step).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..moves import COMPUTE, DELETE, LOAD

__all__ = ["MAX_NODES", "DagMasks", "bits", "mask_of", "lazy_moves", "move_codes", "evictions", "base_steps"]

# The largest DAG whose node sets fit one signed 64-bit integer with room for the shifts of the hash.
MAX_NODES = 62


def bits(mask: int):
    """The positions of the set bits of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def mask_of(nodes) -> int:
    """The mask of an iterable of node ids."""
    mask = 0
    for v in nodes:
        mask |= 1 << int(v)
    return mask


@dataclass(frozen=True)
class DagMasks:
    """The DAG as masks: per node its operands, successors, ancestors and descendants (each with the node
    itself for the last two), and the masks of the sources, outputs, needed nodes (with a path to an
    output) and needed non-sources.

    >>> from dags import pyramid_dag
    >>> m = DagMasks.of(pyramid_dag(1))
    >>> m.preds, m.sources, m.outputs, m.ancestors[2]
    ([0, 0, 3], 3, 4, 7)
    >>> m.succs, m.descendants[0], m.needed, m.computable
    ([4, 4, 0], 5, 7, 4)
    """

    n: int
    preds: list
    succs: list
    ancestors: list
    descendants: list
    sources: int
    outputs: int
    needed: int
    computable: int

    @classmethod
    def of(cls, dag) -> DagMasks:
        n = dag.num_nodes
        preds = [mask_of(dag.predecessors(v).tolist()) for v in range(n)]
        succs = [0] * n
        for v in range(n):
            for u in bits(preds[v]):
                succs[u] |= 1 << v
        order = dag.topological_order.tolist()
        ancestors, descendants = [0] * n, [0] * n
        for v in order:
            ancestors[v] = 1 << v
            for u in bits(preds[v]):
                ancestors[v] |= ancestors[u]
        for v in reversed(order):
            descendants[v] = 1 << v
            for w in bits(succs[v]):
                descendants[v] |= descendants[w]
        sources = mask_of(dag.sources.tolist())
        needed = mask_of(np.flatnonzero(dag.needed).tolist())
        return cls(n, preds, succs, ancestors, descendants, sources, mask_of(dag.outputs.tolist()), needed,
                   needed & ~sources)

    def array(self, masks) -> np.ndarray:
        """``masks`` (one per node) as ``int64``, for compiled code; only for DAGs of at most MAX_NODES."""
        if self.n > MAX_NODES:
            raise ValueError(f"a DAG of {self.n} nodes does not fit 64-bit masks (at most {MAX_NODES})")
        return np.array(masks, np.int64)

    def operands_of(self, nodes: int) -> int:
        """The union of the operands of ``nodes``."""
        ops = 0
        for v in bits(nodes):
            ops |= self.preds[v]
        return ops


def lazy_moves(red: int, M: int, preds, computes: int, loads: int, victims: int):
    """``(kind, v, deleted, red after)`` for each compute (of a node of ``computes`` whose operands are
    red) and each load (of a node of ``loads``), in that order, where fast memory full is made room for by
    deleting one red pebble of ``victims`` first (not an operand of the compute), and ``deleted`` is -1
    when there was room. Deletes are lazy: no other delete is ever needed (see docs/solver-searches.md).
    """
    full = red.bit_count() >= M
    for v in bits(computes & ~red):
        if preds[v] & ~red:
            continue
        if not full:
            yield COMPUTE, v, -1, red | 1 << v
        else:
            for u in bits(victims & red & ~preds[v]):
                yield COMPUTE, v, u, (red & ~(1 << u)) | 1 << v
    for v in bits(loads & ~red):
        if not full:
            yield LOAD, v, -1, red | 1 << v
        else:
            for u in bits(victims & red):
                yield LOAD, v, u, (red & ~(1 << u)) | 1 << v


def move_codes(kind, v, deleted):
    """The move codes of one :func:`lazy_moves` move: the delete (if any), then the move."""
    return (v << 2 | kind,) if deleted < 0 else (deleted << 2 | DELETE, v << 2 | kind)


def evictions(pool: int, count: int):
    """Every set of ``count`` nodes of ``pool`` as a mask (the empty set when ``count <= 0``), in the
    lexicographic order of their node ids."""
    if count <= 0:
        yield 0
        return
    for chosen in itertools.combinations(list(bits(pool)), count):
        yield mask_of(chosen)


def base_steps(masks: DagMasks, M: int, red: int, blue: int):
    """The normal-form steps of the base game from (red, blue): ``(w, evicted, stored, cost, red after,
    blue after)``, in the order :mod:`.steps` plays them (see docs/solver-searches.md)."""
    outputs = masks.outputs & ~masks.sources

    def of_use(blue):  # the outputs not blue, and their ancestors
        mask = 0
        for o in bits(outputs & ~blue):
            mask |= masks.ancestors[o]
        return mask

    keep = of_use(blue)
    for w in bits(keep & ~red & masks.computable):
        ops = masks.preds[w]
        loads = ops & ~red
        if loads & ~blue:
            continue
        blue1, keep1, cost = blue, keep, loads.bit_count()
        if outputs >> w & 1 and not blue >> w & 1:
            blue1 = blue | 1 << w
            keep1 = of_use(blue1)
            cost += 1
        red1 = (red | ops | 1 << w) & keep1
        blue1 &= keep1 | outputs
        evict = (red | ops).bit_count() + 1 - M
        spent = red & ~ops & ~keep1 if evict > 0 else 0
        for e in evictions(red & ~ops & keep1, evict - spent.bit_count()):
            e |= spent
            dirty = e & ~blue & keep1
            stored = dirty
            while True:  # every subset of the dirty victims, largest first
                yield w, e, stored, cost + stored.bit_count(), red1 & ~e, blue1 | stored
                if stored == 0:
                    break
                stored = (stored - 1) & dirty
