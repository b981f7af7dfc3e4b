"""The rules of the red-blue pebble game, one check and one apply per move kind.

This module is the readable statement of the game (GAMES.md sections 1-3 with
the project's defaults). The reference verifier and the interactive
:class:`pebble.game.Game` run these functions directly; the compiled verifier
in :mod:`pebble.engine` implements the same checks in the same order and is
tested against them move by move.

Order of checks for a move on node ``v`` (the first that fails is reported):

1. ``v`` is a node.
2. (sliding) after a compute that slid, the move must delete a red operand
   of that compute.
3. load: ``v`` has a blue pebble; ``v`` is not already red (redundant);
   fewer than M red pebbles.
   store: ``v`` has a red pebble; ``v`` is not already blue (redundant).
   compute: ``v`` is not a source; (one-shot) ``v`` was never computed;
   every predecessor is red, in operand order; ``v`` is not already red
   (redundant); fewer than M red pebbles, or (sliding) ``v`` has an operand
   and the next move deletes one.
   delete: ``v`` has a red pebble (else redundant); (nodel) ``v`` has a blue
   pebble.
4. At the end: no compute is still waiting for its slide, and every output
   has a blue pebble.

Redundant moves (which change nothing) are violations unless ``strict=False``;
then they are accepted and counted like any other move of their kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

from dags.errors import ArgumentError, PebbleError

from .moves import COMPUTE, DELETE, KINDS, LOAD, STORE, move_text

if TYPE_CHECKING:
    from dags.core import DAG

__all__ = ["Err", "Rules", "Violation", "Report", "State", "check", "apply", "undo", "DEFAULT_COMPUTE_COST",
           "MemoryTooSmall", "check_memory"]

DEFAULT_COMPUTE_COST = 1e-3
MAX_COMPUTE_COST = 1e12
VARIANTS = ("base", "one-shot", "nodel", "compcost")


class Err(IntEnum):
    """Why a move (or the end of a schedule) breaks the rules."""

    OK = 0
    NODE_RANGE = 1
    LOAD_NOT_BLUE = 2
    REDUNDANT_LOAD = 3
    CAPACITY = 4
    STORE_NOT_RED = 5
    REDUNDANT_STORE = 6
    COMPUTE_SOURCE = 7
    ONE_SHOT = 8
    COMPUTE_PRED = 9
    REDUNDANT_COMPUTE = 10
    REDUNDANT_DELETE = 11
    NODEL = 12
    SLIDE_NEXT = 13
    SLIDE_END = 14
    GOAL = 15


@dataclass(frozen=True)
class Rules:
    """The game being played: M and the variant flags.

    Build with :meth:`make`, which parses a variant name such as ``'base'``,
    ``'one-shot'``, ``'nodel'``, ``'compcost'`` or a combination joined by
    ``'+'`` (``'one-shot+nodel'``).
    """

    M: int
    one_shot: bool = False
    nodel: bool = False
    compcost: bool = False
    compute_cost: float = DEFAULT_COMPUTE_COST
    sliding: bool = False
    strict: bool = True

    @classmethod
    def make(cls, M: int, variant: str = "base", *, sliding: bool = False, strict: bool = True,
             compute_cost: float = DEFAULT_COMPUTE_COST) -> Rules:
        if isinstance(M, bool) or not isinstance(M, int) or M <= 0:
            try:
                ok = float(M).is_integer() and int(M) > 0 and not isinstance(M, bool)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ArgumentError(f"argument 'M' must be a positive integer, got {M!r}")
            M = int(M)
        parts = [p.strip() for p in str(variant).split("+")]
        unknown = [p for p in parts if p not in VARIANTS]
        if unknown:
            raise ArgumentError(f"argument 'variant': unknown variant {unknown[0]!r}; "
                             f"accepted: {', '.join(VARIANTS)} (or several joined by '+')")
        compcost = "compcost" in parts
        if compcost:  # the cost matters only in the compcost variant
            try:
                cost = float(compute_cost)
            except (TypeError, ValueError):
                cost = float("nan")
            if not 0 < cost <= MAX_COMPUTE_COST:  # also refuses nan; the cap keeps every total finite
                raise ArgumentError(f"argument 'compute_cost' must be a number in (0, {MAX_COMPUTE_COST:g}], "
                                    f"got {compute_cost!r}")
        else:
            cost = DEFAULT_COMPUTE_COST
        return cls(M=M, one_shot="one-shot" in parts, nodel="nodel" in parts, compcost=compcost,
                   compute_cost=cost, sliding=bool(sliding), strict=bool(strict))

    @property
    def variant(self) -> str:
        names = [n for n, on in (("one-shot", self.one_shot), ("nodel", self.nodel),
                                 ("compcost", self.compcost)) if on]
        return "+".join(names) or "base"

    @property
    def options(self) -> list[str]:
        return [o for o, on in (("sliding", self.sliding), ("lenient", not self.strict)) if on]

    def describe(self) -> str:
        return " ".join([f"M={self.M}", self.variant] + self.options)


_RULE_OF = {
    Err.NODE_RANGE: "node", Err.LOAD_NOT_BLUE: "R1 load", Err.REDUNDANT_LOAD: "redundant",
    Err.CAPACITY: "capacity", Err.STORE_NOT_RED: "R2 store", Err.REDUNDANT_STORE: "redundant",
    Err.COMPUTE_SOURCE: "R3 compute", Err.ONE_SHOT: "one-shot", Err.COMPUTE_PRED: "R3 compute",
    Err.REDUNDANT_COMPUTE: "redundant", Err.REDUNDANT_DELETE: "redundant", Err.NODEL: "nodel",
    Err.SLIDE_NEXT: "sliding", Err.SLIDE_END: "sliding", Err.GOAL: "goal",
}


class MemoryTooSmall(PebbleError, ValueError):
    """M below what a pebbling (or a strategy) needs; ``smallest`` is the least M that works."""

    def __init__(self, message: str, smallest: int) -> None:
        super().__init__(message)
        self.smallest = smallest


def check_memory(dag: DAG, M: int, *, sliding: bool = False, what: str | None = None) -> int:
    """``M`` as an int if some complete pebbling of ``dag`` exists with M red pebbles.

    Raises :class:`MemoryTooSmall` naming the smallest M (``dag.min_memory``)
    otherwise, prefixed by ``what`` (who asks: ``"argument 'M'"``, a
    strategy's name), and ValueError for an M that is not a positive integer.

    >>> from dags import pyramid_dag
    >>> check_memory(pyramid_dag(3), 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pebble.rules.MemoryTooSmall: M = 2 is below the smallest feasible M = 3 for pyramid(3) (max in-degree 2, ...
    """
    M = Rules.make(M).M
    smallest = dag.min_memory(sliding=sliding)
    if M < smallest:
        why = (f"max in-degree {smallest}, with sliding" if sliding
               else f"max in-degree {smallest - 1}, plus 1 for the result")
        prefix = f"{what}: " if what else ""
        raise MemoryTooSmall(f"{prefix}M = {M} is below the smallest feasible M = {smallest} for "
                             f"{dag.name or 'this DAG'} ({why})", smallest)
    return M


def reason(err: Err, dag: DAG, node: int, extra: int, rules: Rules) -> str:
    """The violation in words, naming the nodes by label."""
    X = dag.label(node) if 0 <= node < dag.num_nodes else str(node)
    Y = dag.label(extra) if 0 <= extra < dag.num_nodes else str(extra)
    return {
        Err.NODE_RANGE: f"node id {node} is not a node (the DAG has {dag.num_nodes} nodes)",
        Err.LOAD_NOT_BLUE: f"{X} has no blue pebble",
        Err.REDUNDANT_LOAD: f"{X} already has a red pebble (a redundant load)",
        Err.CAPACITY: f"fast memory is full (M = {rules.M} red pebbles)",
        Err.STORE_NOT_RED: f"{X} has no red pebble",
        Err.REDUNDANT_STORE: f"{X} already has a blue pebble (a redundant store)",
        Err.COMPUTE_SOURCE: f"{X} is a source; inputs are loaded, never computed",
        Err.ONE_SHOT: f"{X} was computed before; the one-shot game forbids recomputation",
        Err.COMPUTE_PRED: f"predecessor {Y} has no red pebble",
        Err.REDUNDANT_COMPUTE: f"{X} already has a red pebble (a redundant compute)",
        Err.REDUNDANT_DELETE: f"{X} has no red pebble to delete (a redundant delete)",
        Err.NODEL: f"{X} has no blue pebble; the nodel game removes a red pebble only from a node "
                   "with a blue pebble",
        Err.SLIDE_NEXT: f"compute {Y} found fast memory full, so this move must delete a red predecessor of {Y} "
                        "(sliding)",
        Err.SLIDE_END: f"the schedule ends right after compute {Y} found fast memory full; "
                       f"a red predecessor of {Y} must be deleted next (sliding)",
        Err.GOAL: f"output {X} has no blue pebble at the end"
                  + (f" (nor have {extra} more outputs)" if extra > 0 else ""),
    }[err]


@dataclass(frozen=True)
class Violation:
    """The first move (or the end) at which a schedule breaks the rules.

    ``index`` counts moves from 0; for a violation found at the end it equals
    the number of moves, and ``move`` is ``None``.
    """

    index: int
    move: str | None
    rule: str
    reason: str
    code: Err
    node: int
    extra: int = -1

    @property
    def message(self) -> str:
        where = f"move {self.index}: {self.move}" if self.move is not None else f"end of schedule ({self.index} moves)"
        return f"{where}: {self.reason}"

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, int | str | None]:
        return {"index": self.index, "move": self.move, "rule": self.rule, "message": self.message,
                "reason": self.reason}


def make_violation(dag: DAG, rules: Rules, index: int, code: int | None, err: int, node: int, extra: int) -> Violation:
    err = Err(err)
    move = None if code is None else (move_text(dag, code) if 0 <= (code >> 2) < dag.num_nodes
                                      else f"{KINDS[code & 3]} {code >> 2}")
    return Violation(index=int(index), move=move, rule=_RULE_OF[err], reason=reason(err, dag, node, extra, rules),
                     code=err, node=int(node), extra=int(extra))


@dataclass(frozen=True)
class Report:
    """What the verifier found: validity, move counts, I/O and the first violation."""

    valid: bool
    moves: int
    loads: int
    stores: int
    computes: int
    deletes: int
    peak_red: int
    rules: Rules
    violation: Violation | None = None

    @property
    def io(self) -> int:
        return self.loads + self.stores

    @property
    def cost(self) -> float:
        """I/O, plus ``compute_cost`` per compute in the compcost variant."""
        return self.io + (self.rules.compute_cost * self.computes if self.rules.compcost else 0)

    @property
    def M(self) -> int:
        return self.rules.M

    @property
    def variant(self) -> str:
        return self.rules.variant

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "valid": self.valid, "moves": self.moves, "loads": self.loads, "stores": self.stores,
            "computes": self.computes, "deletes": self.deletes, "io": self.io, "cost": self.cost,
            "peak_red": self.peak_red, "M": self.M, "variant": self.variant, "options": self.rules.options}
        if self.violation is not None:
            d["violation"] = self.violation.to_dict()
        return d

    def __str__(self) -> str:
        head = "valid" if self.valid else "INVALID"
        text = (f"{head} ({self.rules.describe()}): {self.moves} moves, I/O {self.io} "
                f"({self.loads} loads + {self.stores} stores), {self.computes} computes, "
                f"{self.deletes} deletes, peak {self.peak_red} red")
        if self.rules.compcost:
            text += f", cost {self.cost:g}"
        if self.violation is not None:
            text += f"\n{self.violation.message}"
        return text


@dataclass
class State:
    """Pebble configuration and counters, over Python sets (reference and game)."""

    red: set[int] = field(default_factory=set)
    blue: set[int] = field(default_factory=set)
    computed: set[int] = field(default_factory=set)
    pending: int = -1  # a compute that slid and still owes its delete
    loads: int = 0
    stores: int = 0
    computes: int = 0
    deletes: int = 0
    peak: int = 0

    @classmethod
    def initial(cls, dag: DAG) -> State:
        return cls(blue=set(dag.sources.tolist()))


def check(dag: DAG, rules: Rules, state: State, kind: int, v: int) -> tuple[Err, int] | None:
    """``(Err, extra)`` for the first rule the move breaks, or ``None``."""
    if not 0 <= v < dag.num_nodes:
        return Err.NODE_RANGE, -1
    if state.pending >= 0:
        if not (kind == DELETE and v in state.red and v in dag.predecessors(state.pending).tolist()):
            return Err.SLIDE_NEXT, state.pending
    strict = rules.strict
    if kind == LOAD:
        if v not in state.blue:
            return Err.LOAD_NOT_BLUE, -1
        if v in state.red:
            return (Err.REDUNDANT_LOAD, -1) if strict else None
        if len(state.red) >= rules.M:
            return Err.CAPACITY, -1
    elif kind == STORE:
        if v not in state.red:
            return Err.STORE_NOT_RED, -1
        if v in state.blue and strict:
            return Err.REDUNDANT_STORE, -1
    elif kind == COMPUTE:
        preds = dag.predecessors(v).tolist()
        if not preds:
            return Err.COMPUTE_SOURCE, -1
        if rules.one_shot and v in state.computed:
            return Err.ONE_SHOT, -1
        for u in preds:
            if u not in state.red:
                return Err.COMPUTE_PRED, u
        if v in state.red:
            return (Err.REDUNDANT_COMPUTE, -1) if strict else None
        if len(state.red) >= rules.M and not rules.sliding:
            return Err.CAPACITY, -1
    else:
        if v not in state.red:
            return (Err.REDUNDANT_DELETE, -1) if strict else None
        if rules.nodel and v not in state.blue:
            return Err.NODEL, -1
    return None


#: What :func:`undo` needs: kind, node, whether it was red, blue and computed, the pending slide and the peak.
UndoRecord: TypeAlias = tuple[int, int, bool, bool, bool, int, int]


def apply(dag: DAG, rules: Rules, state: State, kind: int, v: int) -> UndoRecord:
    """Play a move that :func:`check` accepted; returns what :func:`undo` needs."""
    record = (kind, v, v in state.red, v in state.blue, v in state.computed, state.pending, state.peak)
    if kind == LOAD:
        state.red.add(v)
        state.loads += 1
    elif kind == STORE:
        state.blue.add(v)
        state.stores += 1
    elif kind == COMPUTE:
        if v not in state.red and len(state.red) >= rules.M:
            state.pending = v  # slides: a predecessor's pebble moves onto v with the next move
        state.red.add(v)
        state.computed.add(v)
        state.computes += 1
    else:
        state.red.discard(v)
        state.deletes += 1
        state.pending = -1
    if state.pending < 0:
        state.peak = max(state.peak, len(state.red))
    return record


def undo(state: State, record: UndoRecord) -> None:
    """Take back the move that produced ``record``."""
    kind, v, was_red, was_blue, was_computed, pending, peak = record
    for flag, s in ((was_red, state.red), (was_blue, state.blue), (was_computed, state.computed)):
        if flag:
            s.add(v)
        else:
            s.discard(v)
    state.pending, state.peak = pending, peak
    attr = ("loads", "stores", "computes", "deletes")[kind]
    setattr(state, attr, getattr(state, attr) - 1)


def end_violation(dag: DAG, rules: Rules, state: State, is_output_blue: npt.ArrayLike) -> tuple[Err, int, int] | None:
    """``(Err, node, extra)`` for what is wrong at the end, or ``None``.

    ``is_output_blue`` is a boolean array over ``dag.outputs``.
    """
    if state.pending >= 0:
        return Err.SLIDE_END, -1, state.pending
    missing = np.flatnonzero(~np.asarray(is_output_blue, dtype=bool))
    if missing.size:
        return Err.GOAL, int(dag.outputs[missing[0]]), int(missing.size - 1)
    return None
