"""Automorphisms of a DAG for symmetry breaking in the CP-SAT model.

An automorphism of the needed sub-DAG that maps outputs to outputs maps
every schedule to one of the same I/O (operand order does not matter to the
game). A *stabiliser chain* picks compute nodes ``v1, v2, ...`` and, for
each, its orbit under the automorphisms that fix ``v1 .. v(i-1)``; requiring
each ``v_i`` to be computed first among its orbit keeps at least one optimal
schedule: map any schedule by an automorphism taking the first-computed
member of the first orbit to ``v1``, then one fixing ``v1`` for the second
orbit, and so on; each later map fixes the earlier nodes and permutes their
orbits, so what was arranged stays so.

Orbits are found by colour refinement (the 1-dimensional Weisfeiler-Leman
algorithm, with the chain's nodes given colours of their own), and each
member is confirmed by an explicit automorphism from networkx's matcher,
which is kept to map schedules (:func:`canonical_schedule`).
"""

from __future__ import annotations

import time

import numpy as np

from ..moves import Schedule

__all__ = ["stabiliser_chain", "canonical_schedule"]


def _refine(nodes, preds, succs, colour):
    """Stable colouring: a node's colour, with the multisets of its neighbours' colours."""
    count = len(set(colour.values()))
    while True:
        sig = {v: (colour[v], tuple(sorted(colour[u] for u in preds[v])), tuple(sorted(colour[w] for w in succs[v])))
               for v in nodes}
        ids = {s: i for i, s in enumerate(sorted(set(sig.values())))}
        colour = {v: ids[sig[v]] for v in nodes}
        if len(ids) == count:
            return colour
        count = len(ids)


def stabiliser_chain(dag, *, time_budget=2.0):
    """``[(v, orbit, maps)]``: each ``v`` first among ``orbit``; ``maps[w]`` an automorphism taking v to w.

    Only needed non-source nodes are chain nodes. The search stops adding
    levels after ``time_budget`` seconds (a level cut short is dropped);
    every prefix of a chain is valid.

    >>> from dags import pyramid_dag
    >>> [(v, orbit) for v, orbit, _ in stabiliser_chain(pyramid_dag(2))]
    [(3, [4])]
    """
    # networkx costs ~0.25 s to import; only the symmetry reduction needs it.
    import networkx as nx
    from networkx.algorithms.isomorphism import DiGraphMatcher

    start = time.perf_counter()
    needed = dag.needed
    nodes = [int(v) for v in np.flatnonzero(needed)]
    graph = nx.DiGraph()
    graph.add_nodes_from((v, {"id": v}) for v in nodes)
    preds = {v: [int(u) for u in dag.predecessors(v)] for v in nodes}
    succs = {v: [] for v in nodes}
    for v in nodes:
        for u in preds[v]:
            graph.add_edge(u, v)
            succs[u].append(v)
    is_output = set(int(v) for v in dag.outputs)
    base = {v: (len(preds[v]) == 0, v in is_output) for v in nodes}
    ids = {b: i for i, b in enumerate(sorted(set(base.values())))}
    colour = _refine(nodes, preds, succs, {v: ids[base[v]] for v in nodes})
    chain = []
    for v in (int(u) for u in dag.topological_order):
        if time.perf_counter() - start > time_budget:
            break
        if not needed[v] or not preds[v]:
            continue
        candidates = [w for w in nodes if w != v and colour[w] == colour[v]]
        orbit, maps = [], {}
        for w in candidates:
            if time.perf_counter() - start > time_budget:
                break
            c1, c2 = dict(colour), dict(colour)
            c1[v] = c2[w] = -1
            matcher = DiGraphMatcher(graph, graph, node_match=lambda a, b, c1=c1, c2=c2: c1[a["id"]] == c2[b["id"]])
            if matcher.is_isomorphic():
                orbit.append(w)
                maps[w] = dict(matcher.mapping)
        if time.perf_counter() - start > time_budget:
            break  # the orbit may be incomplete, and "first among part of an orbit" is not valid
        if not orbit:
            continue
        chain.append((v, orbit, maps))
        colour = dict(colour)
        colour[v] = max(colour.values()) + 1
        colour = _refine(nodes, preds, succs, colour)
    return chain


def canonical_schedule(schedule: Schedule, chain) -> Schedule:
    """``schedule`` mapped by automorphisms so that it satisfies the chain's constraints."""
    codes = schedule.codes.copy()
    for v, orbit, maps in chain:
        computes = codes[(codes & 3) == 2] >> 2
        first = {}
        for i, u in enumerate(computes.tolist()):
            first.setdefault(u, i)
        w = min([v] + orbit, key=lambda u: first.get(u, len(computes)))
        if w == v:
            continue
        inverse = {b: a for a, b in maps[w].items()}
        table = np.arange(max(max(inverse), int((codes >> 2).max(initial=0))) + 1)
        for b, a in inverse.items():
            table[b] = a
        codes = (table[codes >> 2] << 2) | (codes & 3)
    return Schedule(codes)
