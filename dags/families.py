"""Classic DAG families, in the style of networkx generators.

Every builder takes its size first and options keyword-only, names the
graph, labels its nodes, and states its node and edge counts in closed form.
"""

from __future__ import annotations

import numpy as np

from .core import DAG, OP_CODES
from .labels import Labels
from .specs import family

__all__ = ["path_dag", "pyramid_dag", "binary_tree_dag"]


def _positive(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"argument '{name}' must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _from_pred_lists(n, rows, preds, **kwargs):
    """DAG from parallel arrays (node, predecessor), rows sorted by node."""
    counts = np.bincount(rows, minlength=n)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    ops = np.where(counts == 0, OP_CODES["input"], OP_CODES["add"]).astype(np.uint8)
    return DAG(indptr, preds, ops=ops, **kwargs)


@family("path", example="path:n=5")
def path_dag(n: int) -> DAG:
    """A chain ``x[0] -> x[1] -> ... -> x[n-1]``.

    ``n`` nodes and ``n - 1`` edges; one source, one output.

    >>> g = path_dag(5); g.num_nodes, g.num_edges
    (5, 4)
    """
    n = _positive("n", n)
    v = np.arange(1, n)
    return _from_pred_lists(n, v, v - 1, labels=Labels([("x", 0, (n,))]), name=f"path({n})")


@family("pyramid", example="pyramid:h=4")
def pyramid_dag(h: int) -> DAG:
    """The pyramid of height ``h``: rows of ``h+1, h, ..., 1`` nodes.

    Node ``p{r}[i]`` of row ``r >= 1`` adds ``p{r-1}[i]`` and ``p{r-1}[i+1]``.
    ``(h+1)(h+2)/2`` nodes, ``h(h+1)`` edges, ``h+1`` sources, one output.

    >>> g = pyramid_dag(4); g.num_nodes, g.num_edges
    (15, 20)
    """
    h = _positive("h", h, minimum=0)
    widths = np.arange(h + 1, 0, -1)
    starts = np.concatenate([[0], np.cumsum(widths)])
    n = int(starts[-1])
    rows, preds = [], []
    for r in range(1, h + 1):
        v = starts[r] + np.arange(widths[r])
        below = starts[r - 1] + np.arange(widths[r])
        rows.append(np.repeat(v, 2))
        preds.append(np.stack([below, below + 1], axis=1).ravel())
    rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    preds = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    labels = Labels([(f"p{r}", int(starts[r]), (int(widths[r]),)) for r in range(h + 1)])
    return _from_pred_lists(n, rows, preds, labels=labels, name=f"pyramid({h})")


@family("tree", example="tree:h=3")
def binary_tree_dag(h: int) -> DAG:
    """The complete binary in-tree of height ``h`` (leaves are the sources).

    Level ``t{k}`` has ``2^(h-k)`` nodes; ``t{k}[i]`` adds ``t{k-1}[2i]`` and
    ``t{k-1}[2i+1]``. ``2^(h+1) - 1`` nodes, ``2^(h+1) - 2`` edges, ``2^h``
    sources, one output.

    >>> g = binary_tree_dag(3); g.num_nodes, g.num_edges
    (15, 14)
    """
    h = _positive("h", h, minimum=0)
    widths = 2 ** np.arange(h, -1, -1)
    starts = np.concatenate([[0], np.cumsum(widths)])
    n = int(starts[-1])
    rows, preds = [], []
    for k in range(1, h + 1):
        v = starts[k] + np.arange(widths[k])
        rows.append(np.repeat(v, 2))
        preds.append(starts[k - 1] + np.arange(2 * widths[k]))
    rows = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    preds = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    labels = Labels([(f"t{k}", int(starts[k]), (int(widths[k]),)) for k in range(h + 1)])
    return _from_pred_lists(n, rows, preds, labels=labels, name=f"tree({h})")
