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

__all__ = ["Block", "Labels"]

_LABEL_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_']*)\s*(?:\[([^\]]*)\])?\s*$")


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
                raise ValueError(f"label block {b.name!r} overlaps the block before it")
            if b.name in self._by_name:
                raise ValueError(f"label block name {b.name!r} is used twice")
            self._by_name[b.name] = b
            end = b.start + b.size
        self.names = None if names is None else [str(s) for s in names]
        self._index = None

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
        if self.names is not None:
            if self._index is None:
                self._index = {}
                for v, s in enumerate(self.names):
                    self._index.setdefault(s, v)
            v = self._index.get(text)
            if v is not None:
                return v
        m = _LABEL_RE.match(text)
        if m and m.group(1) in self._by_name:
            b = self._by_name[m.group(1)]
            parts = [] if m.group(2) is None else [p for p in m.group(2).split(",")]
            try:
                idx = [int(p) for p in parts]
            except ValueError:
                raise KeyError(text) from None
            if len(idx) != len(b.shape) or any(not 0 <= i < s for i, s in zip(idx, b.shape)):
                raise KeyError(text)
            return b.start + (int(np.ravel_multi_index(idx, b.shape)) if idx else 0)
        if text.lstrip("-").isdigit():
            v = int(text)
            if 0 <= v < num_nodes:
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
    def from_json(cls, obj) -> "Labels":
        if not isinstance(obj, dict):
            raise ValueError("'labels' must be an object with 'blocks' and/or 'names'")
        blocks = []
        for b in obj.get("blocks", []):
            try:
                blocks.append((b["name"], int(b["start"]), [int(s) for s in b["shape"]]))
            except (KeyError, TypeError, ValueError):
                raise ValueError("each label block needs 'name', 'start' and 'shape'") from None
        names = obj.get("names")
        if names is not None and not isinstance(names, list):
            raise ValueError("'labels.names' must be a list of strings")
        return cls(blocks, names)

    def check_against(self, num_nodes: int) -> None:
        for b in self.blocks:
            if b.start < 0 or b.start + b.size > num_nodes or any(s < 0 for s in b.shape):
                raise ValueError(
                    f"label block {b.name!r} covers nodes {b.start}..{b.start + b.size - 1}, "
                    f"outside the DAG's {num_nodes} nodes"
                )
        if self.names is not None and len(self.names) != num_nodes:
            raise ValueError(f"{len(self.names)} labels given for {num_nodes} nodes")

    def __repr__(self):
        parts = [f"{b.name}{list(b.shape)}@{b.start}" for b in self.blocks]
        if self.names is not None:
            parts.append(f"{len(self.names)} names")
        return f"Labels({', '.join(parts)})"
