"""Moves and their compact encoding.

A move is a kind (load, store, compute, delete) and a node. Schedules are
held as one ``int64`` per move, ``code = node << 2 | kind``, so a schedule of
10^8 moves is an 800 MB array (400 MB in a binary file for DAGs under 2^30
nodes) and never 10^8 Python objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias, overload

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from dags.core import DAG

__all__ = ["LOAD", "STORE", "COMPUTE", "DELETE", "KINDS", "KIND_CODES", "encode", "decode",
           "Schedule", "as_codes", "move_text"]

LOAD, STORE, COMPUTE, DELETE = 0, 1, 2, 3
KINDS = ("load", "store", "compute", "delete")
KIND_CODES = {name: code for code, name in enumerate(KINDS)}

#: A node id as a Python or a numpy integer.
NodeId: TypeAlias = "int | np.integer[Any]"
#: One move: a code, ``'kind label'`` text, or a ``(kind, node)`` pair (kind a code or a name, node an id or a label).
MoveLike: TypeAlias = "NodeId | str | tuple[NodeId | str, NodeId | str]"
#: Moves held in memory: a :class:`Schedule`, an integer array of codes, or an iterable of moves.
ScheduleLike: TypeAlias = "Schedule | npt.NDArray[np.integer[Any]] | Iterable[MoveLike]"


@overload
def encode(kind: NodeId, node: NodeId) -> np.int64: ...
@overload
def encode(kind: npt.ArrayLike, node: npt.ArrayLike) -> npt.NDArray[np.int64]: ...
def encode(kind: npt.ArrayLike, node: npt.ArrayLike) -> np.int64 | npt.NDArray[np.int64]:
    """Code(s) of moves; ``kind`` and ``node`` may be scalars or arrays."""
    return (np.asarray(node, dtype=np.int64) << 2) | np.asarray(kind, dtype=np.int64)


def decode(codes: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``(kinds, nodes)`` arrays of an array of codes."""
    arr = np.asarray(codes, dtype=np.int64)
    return arr & 3, arr >> 2


def move_text(dag: DAG, code: NodeId) -> str:
    """``'compute S[0,1]'`` for a move code."""
    code = int(code)
    return f"{KINDS[code & 3]} {dag.label(code >> 2)}"


def _parse_kind(word: str) -> int:
    try:
        return KIND_CODES[word.lower()]
    except KeyError:
        raise ValueError(f"unknown move {word!r}; expected one of: {', '.join(KINDS)}") from None


def _move_code(dag: DAG | None, move: MoveLike) -> int:
    if isinstance(move, (int, np.integer)):
        return int(move)  # already a code
    node: NodeId | str
    if isinstance(move, str):
        parts = move.split(None, 1)
        if len(parts) != 2:
            raise ValueError(f"expected 'kind node', got {move!r}")
        kind, node = _parse_kind(parts[0]), parts[1].strip()
    else:
        kind_given, node = move
        kind = _parse_kind(kind_given) if isinstance(kind_given, str) else int(kind_given)
    if dag is None:
        if not isinstance(node, (int, np.integer)):
            raise ValueError(f"node {node!r} given by label: pass the DAG to resolve it")
        v = int(node)
    else:
        try:
            v = dag.node(node)
        except KeyError:
            raise ValueError(f"unknown node {str(node)!r}") from None
    return (v << 2) | kind


class Schedule:
    """A sequence of moves held as an ``int64`` array of codes.

    Build one from an array of codes, from ``(kind, node)`` pairs, or from
    strings such as ``'load Q[0,1]'`` (which need the DAG for the labels).

    >>> from dags import pyramid_dag
    >>> g = pyramid_dag(1)
    >>> s = Schedule.from_moves(["load p0[0]", "load p0[1]", "compute p1[0]", "store p1[0]"], g)
    >>> len(s), s.text(g)[2]
    (4, 'compute p1[0]')
    """

    __slots__ = ("codes",)

    def __init__(self, codes: npt.ArrayLike = ()) -> None:
        self.codes = np.ascontiguousarray(np.asarray(codes, dtype=np.int64).reshape(-1))

    @classmethod
    def from_moves(cls, moves: Iterable[MoveLike], dag: DAG | None = None) -> Schedule:
        return cls(np.fromiter((_move_code(dag, m) for m in moves), dtype=np.int64))

    @property
    def kinds(self) -> npt.NDArray[np.int64]:
        return self.codes & 3

    @property
    def nodes(self) -> npt.NDArray[np.int64]:
        return self.codes >> 2

    def __len__(self) -> int:
        return int(self.codes.size)

    def __iter__(self) -> Iterator[tuple[str, int]]:
        for c in self.codes.tolist():
            yield KINDS[c & 3], c >> 2

    @overload
    def __getitem__(self, i: slice) -> Schedule: ...
    @overload
    def __getitem__(self, i: NodeId) -> tuple[str, int]: ...
    def __getitem__(self, i: slice | NodeId) -> Schedule | tuple[str, int]:
        if isinstance(i, slice):
            return Schedule(self.codes[i])
        c = int(self.codes[i])
        return KINDS[c & 3], c >> 2

    def __add__(self, other: ScheduleLike) -> Schedule:
        return Schedule(np.concatenate([self.codes, as_codes(other)]))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and np.array_equal(self.codes, other.codes)

    def text(self, dag: DAG) -> list[str]:
        """The moves as ``'kind label'`` strings."""
        return [move_text(dag, c) for c in self.codes]

    @property
    def io(self) -> int:
        """Loads plus stores (what the verifier charges a valid schedule)."""
        k = self.kinds
        return int(np.count_nonzero((k == LOAD) | (k == STORE)))

    def __repr__(self) -> str:
        return f"<Schedule: {len(self)} moves>"


def as_codes(schedule: ScheduleLike, dag: DAG | None = None) -> npt.NDArray[np.int64]:
    """The codes of anything that describes moves in memory."""
    if isinstance(schedule, Schedule):
        return schedule.codes
    if isinstance(schedule, np.ndarray) and schedule.dtype.kind in "iu":
        return np.ascontiguousarray(schedule.reshape(-1), dtype=np.int64)
    return Schedule.from_moves(schedule, dag).codes
