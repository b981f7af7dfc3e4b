"""Numeric evaluation of a computation DAG, vectorised level by level.

The nodes of one longest-path level depend only on earlier levels, so each
(level, operation) group is one numpy gather and one reduction: the Python
loop runs over groups (about depth times the number of distinct operations),
never over nodes. Operation semantics are those of :mod:`dags.core`;
arithmetic follows IEEE rules (a division by zero gives ``inf`` or ``nan``
and evaluation goes on).

Inputs are given either as a mapping from label-block names to arrays of the
block's shape (``{"Q": Q, "K": K, "V": V}``), the blocks together covering
every source exactly once, or as one array with a value per source in the
order of ``dag.sources``. :func:`evaluate` returns the values of
``dag.outputs`` in that order; :func:`block_values` reshapes a block, such as
``O``, from such a result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .core import DAG, OP_CODES, OPS, as_dag
from .errors import PebbleError

__all__ = ["EvaluationError", "evaluate", "evaluate_nodes", "reference_evaluate_nodes", "block_values"]


class EvaluationError(PebbleError, ValueError):
    """Inputs that do not fit the DAG, or a DAG without numeric meaning."""


def _source_values(dag: DAG, inputs) -> np.ndarray:
    """Values of ``dag.sources`` from either input form."""
    sources = dag.sources
    if not isinstance(inputs, Mapping):
        vals = np.asarray(inputs, dtype=float)
        if vals.shape != (sources.size,):
            raise EvaluationError(f"inputs: expected {sources.size} values (one per source), got shape {vals.shape}")
        return vals
    values = np.full(dag.num_nodes, np.nan)
    given = np.zeros(dag.num_nodes, bool)
    is_source = dag.in_degree == 0
    for name, arr in inputs.items():
        try:
            blk = dag.labels.block(name)
        except KeyError:
            names = [b.name for b in dag.labels.blocks if is_source[b.start:b.start + b.size].all() and b.size]
            raise EvaluationError(f"inputs: {dag.name or 'the DAG'} has no block {name!r}; "
                                  f"input blocks: {', '.join(names) or 'none'}") from None
        arr = np.asarray(arr, dtype=float)
        if arr.shape != blk.shape:
            raise EvaluationError(f"inputs: block {name!r} has shape {blk.shape}, got an array of shape {arr.shape}")
        span = slice(blk.start, blk.start + blk.size)
        if not is_source[span].all():
            raise EvaluationError(f"inputs: block {name!r} holds computed nodes, not sources")
        values[span] = arr.ravel()
        given[span] = True
    missing = sources[~given[sources]]
    if missing.size:
        raise EvaluationError(f"inputs: no value for source {dag.label(missing[0])} "
                              f"({missing.size} source(s) without a value)")
    return values[sources]


def evaluate_nodes(dag: DAG, inputs) -> np.ndarray:
    """The value of every node (an array of ``dag.num_nodes`` floats).

    Examples
    --------
    >>> from dags import pyramid_dag
    >>> evaluate_nodes(pyramid_dag(1), [1.0, 2.0]).tolist()
    [1.0, 2.0, 3.0]
    """
    dag = as_dag(dag)
    values = np.empty(dag.num_nodes)
    values[dag.sources] = _source_values(dag, inputs)
    opaque = np.flatnonzero(dag.ops == OP_CODES["opaque"])
    if opaque.size:
        raise EvaluationError(f"node {dag.label(opaque[0])} has operation 'opaque': "
                              f"{dag.name or 'the DAG'} has no numeric meaning")
    computed = np.flatnonzero(dag.in_degree > 0)
    key = dag.levels[computed] * len(OPS) + dag.ops[computed]
    if key.size and key.max() < 2 ** 16:
        key = key.astype(np.uint16)  # a stable sort of 16-bit keys is a radix sort
    order = np.argsort(key, kind="stable")
    nodes = computed[order]
    key = key[order]
    bounds = np.concatenate([[0], np.flatnonzero(key[1:] != key[:-1]) + 1, [key.size]]) if key.size else [0]
    with np.errstate(all="ignore"):
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            group = nodes[lo:hi]
            values[group] = _apply(dag, int(dag.ops[group[0]]), group, values)
    return values


def _apply(dag, op, group, values):
    starts = dag.indptr[group]
    counts = dag.indptr[group + 1] - starts
    k = int(counts[0])
    if (counts == k).all():
        x = values[dag.indices[starts[:, None] + np.arange(k)]]
        offsets = None
    else:  # mixed in-degrees: reduce each node's segment of a flat gather
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        flat = np.repeat(starts - offsets, counts) + np.arange(counts.sum())
        x = values[dag.indices[flat]]

    def reduce(ufunc):
        return ufunc.reduce(x, axis=1) if offsets is None else ufunc.reduceat(x, offsets)

    a = 1.0 if dag.coef is None else dag.coef[group]
    b = 0.0 if dag.const is None else dag.const[group]
    if op == OP_CODES["add"]:
        return a * reduce(np.add) + b
    if op == OP_CODES["mul"]:
        return a * reduce(np.multiply) + b
    if op == OP_CODES["max"]:
        return reduce(np.maximum)
    if op == OP_CODES["sub"]:
        return a * (x[:, 0] - x[:, 1]) + b
    if op == OP_CODES["div"]:
        return a * (x[:, 0] / x[:, 1]) + b
    if op == OP_CODES["exp"]:
        return np.exp(a * x[:, 0] + b)
    if op == OP_CODES["square"]:
        return a * x[:, 0] ** 2 + b
    raise EvaluationError(f"node {dag.label(group[0])}: operation '{OPS[op]}' cannot be evaluated")


def reference_evaluate_nodes(dag: DAG, inputs) -> list:
    """:func:`evaluate_nodes` one node at a time in plain Python: slow, and obviously right.

    >>> from dags import pyramid_dag
    >>> reference_evaluate_nodes(pyramid_dag(1), [1.0, 2.0])
    [1.0, 2.0, 3.0]
    """
    # numpy scalars, so that overflow and division by zero give inf and nan as the vectorised
    # evaluation does, instead of raising.
    values = [np.float64(0.0)] * dag.num_nodes
    for v, x in zip(dag.sources.tolist(), _source_values(dag, inputs).tolist()):
        values[v] = np.float64(x)
    with np.errstate(all="ignore"):
        _reference_loop(dag, values)
    return [float(x) for x in values]


def _reference_loop(dag, values):
    for v in dag.topological_order.tolist():
        op = OPS[dag.ops[v]]
        if op == "input":
            continue
        x = [values[u] for u in dag.predecessors(v).tolist()]
        a = 1.0 if dag.coef is None else float(dag.coef[v])
        b = 0.0 if dag.const is None else float(dag.const[v])
        if op == "add":
            values[v] = a * sum(x[1:], x[0]) + b
        elif op == "mul":
            values[v] = a * math.prod(x) + b
        elif op == "sub":
            values[v] = a * (x[0] - x[1]) + b
        elif op == "div":
            values[v] = a * (x[0] / x[1]) + b
        elif op == "exp":
            values[v] = np.exp(a * x[0] + b)
        elif op == "max":
            values[v] = max(x)
        elif op == "square":
            values[v] = a * x[0] ** 2 + b
        else:
            raise EvaluationError(f"node {dag.label(v)}: operation {op!r} cannot be evaluated")


def evaluate(dag: DAG, inputs) -> np.ndarray:
    """Values of ``dag.outputs``, in that order, for the given source values.

    Parameters
    ----------
    dag : DAG
    inputs : mapping or array
        ``{block name: array of the block's shape}`` covering every source,
        or one value per source in the order of ``dag.sources``.

    Examples
    --------
    >>> import numpy as np
    >>> from dags.attention import attention_dag, softmax_attention
    >>> rng = np.random.default_rng(0); Q, K, V = rng.standard_normal((3, 4, 2))
    >>> g = attention_dag(4, 2)
    >>> O = block_values(g, evaluate(g, {"Q": Q, "K": K, "V": V}), "O")
    >>> bool(np.allclose(O, softmax_attention(Q, K, V)))
    True
    """
    dag = as_dag(dag)
    return evaluate_nodes(dag, inputs)[dag.outputs]


def block_values(dag: DAG, values, name: str) -> np.ndarray:
    """The values of label block ``name``, shaped like the block.

    ``values`` holds either every node's value (:func:`evaluate_nodes`) or
    the outputs' values (:func:`evaluate`); in the second case every node of
    the block must be an output.
    """
    values = np.asarray(values)
    blk = dag.labels.block(name)
    ids = np.arange(blk.start, blk.start + blk.size)
    if values.shape == (dag.num_nodes,):
        return values[ids].reshape(blk.shape)
    outputs = dag.outputs
    if values.shape != (outputs.size,):
        raise EvaluationError(f"values: expected {dag.num_nodes} (every node) or {outputs.size} (the outputs) "
                              f"values, got shape {values.shape}")
    pos = np.searchsorted(outputs, ids)
    if ids.size and (pos.max() >= outputs.size or (outputs[np.minimum(pos, outputs.size - 1)] != ids).any()):
        raise EvaluationError(f"block {name!r} is not made of outputs; evaluate every node to read it")
    return values[pos].reshape(blk.shape)
