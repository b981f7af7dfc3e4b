"""Compiled graph kernels (numba) behind :mod:`dags.core`."""

import numpy as np
from numba import njit


@njit(cache=True)
def kahn_order(indptr, indices, n):
    """Topological order by Kahn's algorithm over predecessor CSR.

    Returns ``(order, count)``; ``count < n`` means the graph has a cycle and
    ``order[:count]`` holds the nodes that are not on or behind one.
    """
    outdeg = np.zeros(n + 1, np.int64)
    for e in range(indices.shape[0]):
        outdeg[indices[e] + 1] += 1
    sptr = np.cumsum(outdeg)
    succ = np.empty(indices.shape[0], np.int64)
    fill = sptr[:-1].copy()
    for v in range(n):
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            succ[fill[u]] = v
            fill[u] += 1
    remaining = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    head = 0
    tail = 0
    for v in range(n):
        remaining[v] = indptr[v + 1] - indptr[v]
        if remaining[v] == 0:
            order[tail] = v
            tail += 1
    while head < tail:
        u = order[head]
        head += 1
        for e in range(sptr[u], sptr[u + 1]):
            w = succ[e]
            remaining[w] -= 1
            if remaining[w] == 0:
                order[tail] = w
                tail += 1
    return order, tail


@njit(cache=True)
def levels_from_order(indptr, indices, order):
    """Longest-path depth of every node (sources at depth 0)."""
    n = order.shape[0]
    level = np.zeros(n, np.int64)
    for k in range(n):
        v = order[k]
        best = -1
        for e in range(indptr[v], indptr[v + 1]):
            if level[indices[e]] > best:
                best = level[indices[e]]
        level[v] = best + 1
    return level


@njit(cache=True)
def ancestors_mask(indptr, indices, seeds, n):
    """Boolean mask of ``seeds`` and all their ancestors."""
    mark = np.zeros(n, np.bool_)
    stack = np.empty(n, np.int64)
    top = 0
    for s in seeds:
        if not mark[s]:
            mark[s] = True
            stack[top] = s
            top += 1
    while top > 0:
        top -= 1
        v = stack[top]
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            if not mark[u]:
                mark[u] = True
                stack[top] = u
                top += 1
    return mark
