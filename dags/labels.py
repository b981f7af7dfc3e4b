"""Readable node labels without a Python object per node.

A DAG of 10^7 nodes cannot afford a string per node, but its nodes come in a
few named arrays: ``Q[i,l]``, ``S[i,j]``, ``O[i,c]``. A :class:`Labels` object
stores those arrays as *blocks* (a name, the first node id and a shape) and
computes a label from a node id, or a node id from a label, on demand.
Graphs without such structure (from networkx or HyperDAG files) carry an
explicit list of strings instead; nodes covered by neither are labelled by
their integer id.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from math import prod

import numpy as np

from .errors import PebbleError

__all__ = ["Block", "LabelError", "Labels", "label_problem"]

_BLOCK_NAME = r"[A-Za-z_][A-Za-z0-9_']*"
_LABEL_RE = re.compile(rf"^\s*({_BLOCK_NAME})\s*(?:\[([^\]]*)\])?\s*$")
_BLOCK_NAME_RE = re.compile(rf"^{_BLOCK_NAME}$")
_ID_RE = re.compile(r"^[0-9]{1,19}$")  # an integer node id as schedule files and options write it
_INTEGER_LIKE = re.compile(r"^\s*[+-]?[0-9]+\s*$")


class LabelError(PebbleError, ValueError):
    """Labels that cannot name the nodes unambiguously; the message names the label."""


def label_problem(name: str) -> str | None:
    """Why ``name`` cannot be a node label in a schedule file (``None`` if it can).

    A text schedule line is ``kind label  # comment``, read by splitting at the
    first ``#`` and stripping blanks, so a label must be non-empty, without
    ``#``, without leading or trailing blanks and without control characters
    (a line break would split the move).
    """
    if not name:
        return "is empty"
    if "#" in name:
        return "contains '#', which starts a comment in schedule files"
    if not name.isprintable():
        return "contains a control character or line break"
    if name != name.strip():
        return "has leading or trailing whitespace"
    return None


def parse_node_id(text: str):
    """``int(text)`` for a plain decimal node id (ASCII digits, at most 19), else ``None``."""
    return int(text) if _ID_RE.match(text) else None


@dataclass(frozen=True)
class Block:
    """Nodes ``start .. start + prod(shape) - 1`` named ``name[i,j,...]`` in C order."""

    name: str
    start: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return prod(self.shape)

    def label(self, offset: int) -> str:
        if not self.shape:
            return self.name
        idx = np.unravel_index(offset, self.shape)
        return f"{self.name}[{','.join(str(int(i)) for i in idx)}]"


class Labels:
    """Node labels of a DAG: named blocks, an explicit list, or plain ids.

    Parameters
    ----------
    blocks : iterable of (name, start, shape)
        Disjoint ranges of node ids, each labelled as an array.
    names : sequence of str, optional
        One label per node; takes precedence over blocks.
    """

    def __init__(self, blocks=(), names=None):
        self.blocks: list[Block] = sorted(
            (Block(str(b[0]), int(b[1]), tuple(int(s) for s in b[2])) for b in blocks),
            key=lambda b: b.start,
        )
        self._starts = [b.start for b in self.blocks]
        self._by_name = {}
        end = -1
        for b in self.blocks:
            if b.start < end:
                raise LabelError(f"label block {b.name!r} overlaps the block before it")
            if b.name in self._by_name:
                raise LabelError(f"label block name {b.name!r} is used twice")
            self._by_name[b.name] = b
            end = b.start + b.size
        for b in self.blocks:
            if not _BLOCK_NAME_RE.match(b.name):
                raise LabelError(f"label block name {b.name!r} must be an identifier ([A-Za-z_][A-Za-z0-9_']*)")
        self.names = None if names is None else [str(s) for s in names]
        self._index = None if self.names is None else self._name_index(self.names)

    @staticmethod
    def _name_index(names):
        """``{name: node}``, refusing names a schedule file could not write back unambiguously."""
        index = {}
        for v, s in enumerate(names):
            problem = label_problem(s)
            if problem is None and _INTEGER_LIKE.match(s) and s != str(v):
                problem = f"looks like node id {s.strip()}, but names node {v}"
            if problem is None and s in index:
                problem = f"is used twice (nodes {index[s]} and {v})"
            if problem is not None:
                raise LabelError(f"label {s!r} of node {v} {problem}")
            index[s] = v
        return index

    # -- node -> label ---------------------------------------------------
    def label(self, v: int) -> str:
        v = int(v)
        if self.names is not None and 0 <= v < len(self.names):
            return self.names[v]
        i = bisect_right(self._starts, v) - 1
        if i >= 0:
            b = self.blocks[i]
            if v < b.start + b.size:
                return b.label(v - b.start)
        return str(v)

    # -- label -> node ---------------------------------------------------
    def lookup(self, text: str, num_nodes: int) -> int:
        """Node id of ``text`` (a label or an integer id); ``KeyError`` if none."""
        text = text.strip()
        if self._index is not None:
            v = self._index.get(text)
            if v is not None:
                return v
        m = _LABEL_RE.match(text)
        if m and m.group(1) in self._by_name:
            b = self._by_name[m.group(1)]
            parts = [] if m.group(2) is None else [p for p in m.group(2).split(",")]
            idx = [parse_node_id(p.strip()) for p in parts]
            if None in idx or len(idx) != len(b.shape) or any(not 0 <= i < s for i, s in zip(idx, b.shape)):
                raise KeyError(text)
            return b.start + (int(np.ravel_multi_index(idx, b.shape)) if idx else 0)
        v = parse_node_id(text)
        if v is not None and v < num_nodes:
            return v
        raise KeyError(text)

    def block(self, name: str) -> Block:
        return self._by_name[name]

    # -- serialisation ---------------------------------------------------
    def to_json(self):
        out = {}
        if self.blocks:
            out["blocks"] = [{"name": b.name, "start": b.start, "shape": list(b.shape)} for b in self.blocks]
        if self.names is not None:
            out["names"] = list(self.names)
        return out

    @classmethod
    def from_json(cls, obj) -> Labels:
        if not isinstance(obj, dict):
            raise LabelError("'labels' must be an object with 'blocks' and/or 'names'")
        blocks = obj.get("blocks", [])
        if not isinstance(blocks, list):
            raise LabelError("'labels.blocks' must be a list")
        for k, b in enumerate(blocks):
            if not (isinstance(b, dict) and isinstance(b.get("name"), str) and _is_count(b.get("start"))
                    and isinstance(b.get("shape"), list) and all(_is_count(x) for x in b["shape"])):
                raise LabelError(f"labels.blocks[{k}] needs 'name' (a string), 'start' and 'shape' "
                                 f"(non-negative integers)")
        names = obj.get("names")
        if names is not None and not (isinstance(names, list) and all(isinstance(x, str) for x in names)):
            raise LabelError("'labels.names' must be a list of strings")
        return cls([(b["name"], b["start"], b["shape"]) for b in blocks], names)

    def check_against(self, num_nodes: int) -> None:
        for b in self.blocks:
            if b.start < 0 or b.start + b.size > num_nodes or any(s < 0 for s in b.shape):
                raise LabelError(
                    f"label block {b.name!r} covers nodes {b.start}..{b.start + b.size - 1}, "
                    f"outside the DAG's {num_nodes} nodes"
                )
        if self.names is not None and len(self.names) != num_nodes:
            raise LabelError(f"{len(self.names)} labels given for {num_nodes} nodes")

    def __repr__(self):
        parts = [f"{b.name}{list(b.shape)}@{b.start}" for b in self.blocks]
        if self.names is not None:
            parts.append(f"{len(self.names)} names")
        return f"Labels({', '.join(parts)})"


def _is_count(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 1 << 62
