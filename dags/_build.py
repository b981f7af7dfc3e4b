"""Vectorised assembly of structured DAGs, one labelled block of nodes at a time.

A builder allocates node ids block by block, in the order the blocks are
created, so a DAG whose blocks only read earlier blocks (or earlier entries of
their own block, in C order) is numbered topologically by construction. Every
block is an array of nodes with one operation and one in-degree; its operands
are given as arrays of node ids of the block's shape, so building costs a few
numpy operations per block, never a Python step per node.
"""

from __future__ import annotations

from math import prod

import numpy as np

from .budget import check_budget
from .core import DAG, OP_CODES
from .labels import Labels

SUMS = ("chain", "tree")


def check_size(name, value, minimum=1):
    """``value`` as an int, or a ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"argument '{name}' must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_choice(name, value, choices):
    """``value`` if it is one of ``choices``, else a ValueError listing them."""
    if value not in choices:
        raise ValueError(f"argument '{name}' must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


class Builder:
    """Collects blocks of nodes and assembles them into a :class:`~dags.core.DAG`."""

    def __init__(self):
        self.num_nodes = 0
        self._blocks = []
        self._parts = []  # (start, shape, op code, operand ids (size, k) or None, any id -1?, coef, const)

    def _allocate(self, name, shape):
        shape = tuple(int(s) for s in shape)
        check_budget(f"the DAG (at block {name!r})", self.num_nodes + prod(shape))
        ids = self.upcoming(shape)
        self._blocks.append((name, self.num_nodes, ids.shape))
        self.num_nodes += ids.size
        return ids

    def inputs(self, name, shape):
        """A block of sources; returns its node ids, shaped ``shape``."""
        start = self.num_nodes
        ids = self._allocate(name, shape)
        self._parts.append((start, ids.shape, OP_CODES["input"], None, False, None, None))
        return ids

    def upcoming(self, shape):
        """The node ids the next block, of shape ``shape``, will get."""
        return self.num_nodes + np.arange(prod(shape), dtype=np.int64).reshape(shape)

    def block(self, name, op, *operands, shape=None, coef=None, const=None):
        """A block computing ``op`` of ``operands`` elementwise (operands broadcast to its shape).

        ``op`` is an operation name, or an array of operation codes (one per
        node, broadcast to the shape) for a block that mixes operations; an
        operand id of -1 means the node has no such operand. ``coef`` and
        ``const`` (scalars or arrays broadcastable to the shape) are the
        operation's constants. Returns the block's node ids.
        """
        if shape is None:
            shape = np.broadcast_shapes(*(np.shape(o) for o in operands))
        start = self.num_nodes
        ids = self._allocate(name, shape)
        preds = np.empty(ids.shape + (len(operands),), np.int64)
        for k, operand in enumerate(operands):
            preds[..., k] = operand
        ragged = any(np.min(operand, initial=0) < 0 for operand in operands)
        code = OP_CODES[op] if isinstance(op, str) else np.asarray(op, np.uint8)
        self._parts.append((start, ids.shape, code, preds.reshape(ids.size, len(operands)), ragged, coef, const))
        return ids

    def reduce(self, name, terms, axis, *, op="add", sums="chain", coef=None, const=None):
        """The reduction of ``terms`` along ``axis`` by binary ``op`` nodes.

        A reduction of ``m`` terms takes ``m - 1`` nodes. With ``sums="chain"``
        the partial results form block ``{name}_acc`` (the axis, of length
        ``m - 2``, in its place: entry ``t`` combines terms ``0 .. t+1``) and
        the last step forms block ``name``. With ``sums="tree"`` round ``r``
        of a balanced pairwise tree forms block ``{name}_r{r}`` (an odd term
        out waits for the next round) and the root forms block ``name``.
        ``coef``/``const`` go on the last node of each reduction; a single
        term is its own result (no node) unless they are given, in which case
        one unary node applies them. Returns the result ids (``axis`` removed).
        """
        terms = np.asarray(terms)
        m = terms.shape[axis]
        if m == 0:
            raise ValueError(f"nothing to reduce for {name}")
        if m == 1:
            single = np.take(terms, 0, axis=axis)
            if coef is None and const is None:
                return single
            return self.block(name, op, single, coef=coef, const=const)
        last = np.moveaxis(terms, axis, -1)
        if sums == "chain":
            acc_shape = list(terms.shape)
            acc_shape[axis] = m - 2
            acc = self.upcoming(acc_shape)
            acc_last = np.moveaxis(acc, axis, -1)
            first = np.concatenate([last[..., :1], acc_last[..., :-1]], axis=-1)
            self.block(f"{name}_acc", op, np.moveaxis(first, -1, axis), np.moveaxis(last[..., 1:m - 1], -1, axis),
                       shape=acc_shape)
            prev = acc_last[..., -1] if m > 2 else last[..., 0]
            return self.block(name, op, prev, last[..., m - 1], coef=coef, const=const)
        check_choice("sums", sums, SUMS)
        rnd = 0
        while last.shape[-1] > 2:
            rnd += 1
            pairs = last.shape[-1] // 2
            shape = list(terms.shape)
            shape[axis] = pairs
            ids = self.block(f"{name}_r{rnd}", op, np.moveaxis(last[..., 0:2 * pairs:2], -1, axis),
                             np.moveaxis(last[..., 1:2 * pairs:2], -1, axis), shape=shape)
            last = np.concatenate([np.moveaxis(ids, axis, -1), last[..., 2 * pairs:]], axis=-1)
        return self.block(name, op, last[..., 0], last[..., 1], coef=coef, const=const)

    def build(self, *, outputs, name, meta):
        """The assembled DAG (structure correct by construction: not re-validated)."""
        n = self.num_nodes
        parts, self._parts = self._parts, []
        ops = np.empty(n, np.uint8)
        indptr = np.empty(n + 1, np.int64)
        indptr[0] = 0
        num_edges = sum(0 if p is None else int(np.count_nonzero(p >= 0)) if ragged else p.size
                        for _, _, _, p, ragged, _, _ in parts)
        indices = np.empty(num_edges, np.int64)
        coef = np.ones(n) if any(p[5] is not None for p in parts) else None
        const = np.zeros(n) if any(p[6] is not None for p in parts) else None
        pos = 0
        while parts:
            start, shape, code, preds, ragged, c, b = parts.pop(0)
            size = prod(shape)
            stop = start + size
            ops[start:stop] = np.broadcast_to(code, shape).ravel()
            if preds is None:
                indptr[start + 1:stop + 1] = pos
            elif ragged:
                present = preds >= 0
                indptr[start + 1:stop + 1] = pos + np.cumsum(present.sum(axis=1))
                preds = preds[present]
            else:
                indptr[start + 1:stop + 1] = pos + preds.shape[1] * np.arange(1, size + 1, dtype=np.int64)
            if preds is not None:
                indices[pos:pos + preds.size] = preds.ravel()
                pos += preds.size
            if c is not None:
                coef[start:stop] = np.broadcast_to(c, shape).ravel()
            if b is not None:
                const[start:stop] = np.broadcast_to(b, shape).ravel()
            del preds
        return DAG(indptr, indices, ops=ops, outputs=outputs, labels=Labels(self._blocks), coef=coef,
                   const=const, name=name, meta=meta, validate=False)
