"""Bounds as data, and the registry that applies them.

A :class:`Bound` is a number with its provenance: lower or upper, the method,
the formula in words with the instance's numbers, the game it holds in, the
regime and DAG family it covers, and a reference or proof sketch. Asymptotic
statements cannot be held against a certified optimum; every bound here is a
number for one DAG and one M.

A bound *function* takes ``(dag, M)`` and returns a :class:`Bound`, a list of
them, or ``None`` (nothing to say for this instance). Registered with
:func:`register_bound`, it is applied by :func:`bounds_for` to every DAG and M
its ``covers`` predicate accepts; ``pebble bound`` and ``pebble bounds check``
(the regression against the certified optima) pick it up with no further
change.

Which games a bound holds in
----------------------------
Every variant restricts the base game (``one-shot`` forbids recomputation,
``nodel`` forbids deleting a red pebble without a blue one), so its optimum is
at least the base optimum; sliding relaxes the game. Hence a lower bound
proven in game ``G`` holds in every game at least as restricted as ``G``, and
an upper bound (a schedule verified in ``G``) holds in every game at least as
relaxed. :meth:`Bound.holds_in` applies exactly this rule. Bounds count I/O,
so the ``compcost`` variant (which prices computes) is not one of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

from dags.core import takes_dag
from dags.errors import PebbleError
from pebble.rules import Rules, check_memory

if TYPE_CHECKING:
    from dags.core import DAG

__all__ = ["Assumptions", "Bound", "BoundError", "register_bound", "unregister_bound", "registered_bounds",
           "bounds_for", "best_lower", "best_upper", "brief", "game_flags", "normalize_variant"]

BoundKind: TypeAlias = Literal["lower", "upper"]
KINDS: tuple[BoundKind, ...] = ("lower", "upper")


class BoundError(PebbleError, ValueError):
    """A bound that cannot be computed or registered, with the reason in words."""


def game_flags(variant: str) -> frozenset[str]:
    """The restrictions a variant name imposes, e.g. ``{'one-shot'}`` for ``'one-shot'``.

    >>> sorted(game_flags("one-shot+nodel")), sorted(game_flags("base"))
    (['nodel', 'one-shot'], [])
    """
    rules = Rules.make(1, variant)
    if rules.compcost:
        raise BoundError("argument 'variant': bounds count I/O; the 'compcost' variant (which also prices "
                         "computes) is not supported")
    return frozenset(name for name, on in (("one-shot", rules.one_shot), ("nodel", rules.nodel)) if on)


def normalize_variant(variant: str) -> str:
    """The canonical name of a variant: ``'nodel+one-shot'`` reads ``'one-shot+nodel'``.

    >>> normalize_variant("nodel+one-shot")
    'one-shot+nodel'
    """
    return "+".join(sorted(game_flags(variant), key=("one-shot", "nodel").index)) or "base"


@dataclass(frozen=True)
class Assumptions:
    """Where a bound holds.

    Parameters
    ----------
    variant : str
        For a lower bound, the game it is proven in (it then holds in every
        more restricted game); for an upper bound, the game its schedule was
        verified in (it then holds in every more relaxed game).
    sliding : bool
        Lower bound: proven also when sliding is allowed. Upper bound: the
        schedule needs sliding.
    regime : str
        The range of parameters, in words (``'M >= 2.37 d^2'``).
    family : str
        The DAGs covered, in words (``'any DAG'``, ``'attention, chain or tree sums'``).
    """

    variant: str = "base"
    sliding: bool = False
    regime: str = "any M"
    family: str = "any DAG"

    def __post_init__(self) -> None:
        object.__setattr__(self, "variant", normalize_variant(self.variant))

    @property
    def game(self) -> str:
        """The variant, with ``+sliding`` when it applies: ``'one-shot+sliding'``."""
        return self.variant + ("+sliding" if self.sliding else "")

    def to_dict(self) -> dict[str, str | bool]:
        return {"variant": self.variant, "sliding": self.sliding, "regime": self.regime, "family": self.family}


@dataclass(frozen=True)
class Bound:
    """A lower or upper bound on the optimal I/O of one DAG with M red pebbles.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``'trivial'`` or ``'schedule:heuristic'``.
    kind : {'lower', 'upper'}
    value : int or float
        The bound on the number of loads plus stores.
    method : str
        How it was obtained (``'counting'``, ``'partition'``, ``'spectral'``,
        ``'verified schedule'``, ...).
    formula : str
        The formula in words, with this instance's numbers.
    assumptions : Assumptions
    reference : str
        Citation, or where the proof is (a docstring).
    parameters : dict
        Values chosen by the bound (the best phase length, the best k, ...).

    Examples
    --------
    >>> b = Bound("trivial", "lower", 5, "counting", "4 inputs + 1 output", Assumptions(sliding=True), "elementary")
    >>> b.holds_in("one-shot"), b.holds_in("base", sliding=True)
    (True, True)
    >>> Bound("s", "upper", 9, "verified schedule", "", Assumptions("one-shot"), "").holds_in("one-shot+nodel")
    False
    """

    name: str
    kind: BoundKind
    value: float
    method: str
    formula: str
    assumptions: Assumptions = field(default_factory=Assumptions)
    reference: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BoundError(f"bound {self.name!r}: kind must be 'lower' or 'upper', got {self.kind!r}")
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) or math.isnan(self.value):
            raise BoundError(f"bound {self.name!r}: value must be a number, got {self.value!r}")
        if not isinstance(self.assumptions, Assumptions):
            raise BoundError(f"bound {self.name!r}: assumptions must be an Assumptions object")

    def holds_in(self, variant: str = "base", *, sliding: bool = False) -> bool:
        """Whether the bound holds in the given game (see the module docstring)."""
        asked = game_flags(variant)
        own = game_flags(self.assumptions.variant)
        if self.kind == "lower":
            return own <= asked and (self.assumptions.sliding or not sliding)
        return asked <= own and (sliding or not self.assumptions.sliding)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "value": self.value, "method": self.method,
                "formula": self.formula, "assumptions": self.assumptions.to_dict(), "reference": self.reference,
                "parameters": dict(self.parameters)}

    def __str__(self) -> str:
        sign = ">=" if self.kind == "lower" else "<="
        return f"Q {sign} {self.value:g}  [{self.name}: {self.formula}]"


#: A bound function: ``(dag, M)`` to a bound, several, or ``None`` (nothing to say for this instance).
BoundFunction: TypeAlias = "Callable[[DAG, int], Bound | Iterable[Bound] | None]"
#: Which ``(dag, M)`` a bound function claims.
Covers: TypeAlias = "Callable[[DAG, int], bool]"
_BoundFunctionT = TypeVar("_BoundFunctionT", bound=BoundFunction)


@dataclass(frozen=True)
class RegisteredBound:
    """A bound function, the predicate saying which ``(dag, M)`` it covers, and its game if fixed."""

    name: str
    kind: BoundKind
    func: BoundFunction
    covers: Covers | None
    game: Assumptions | None = None

    @property
    def summary(self) -> str:
        doc = (self.func.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    def may_hold_in(self, variant: str, sliding: bool) -> bool:
        """False when every bound the function returns would fail :meth:`Bound.holds_in`."""
        if self.game is None:
            return True
        return Bound(self.name, self.kind, 0, "", "", self.game).holds_in(variant, sliding=sliding)


_REGISTRY: dict[str, RegisteredBound] = {}


def register_bound(name: str | None = None, *, kind: BoundKind = "lower", covers: Covers | None = None,
                   variant: str | None = None, sliding: bool = False) -> Callable[[_BoundFunctionT], _BoundFunctionT]:
    """Register a bound function ``(dag, M) -> Bound | list[Bound] | None``.

    Parameters
    ----------
    name : str, optional
        Registry name (default: the function's name, ``_`` read as ``-``).
    kind : {'lower', 'upper'}
        What the function returns; checked on every call.
    covers : callable ``(dag, M) -> bool``, optional
        The DAGs and M the bound claims; default every DAG and every M at
        which a pebbling exists. Decide by the DAG's structure or ``meta``,
        not by its name alone.
    variant, sliding : optional
        The game every bound of the function is proven in, when it is fixed:
        :func:`bounds_for` then skips the function in games where it cannot
        hold instead of computing it. Each returned bound still carries its
        own :class:`Assumptions`, which decide.

    Examples
    --------
    >>> @register_bound("doc-example", covers=lambda dag, M: dag.num_nodes == 3)
    ... def three_nodes(dag, M):
    ...     '''Two inputs are loaded and one output is stored.'''
    ...     return Bound("doc-example", "lower", 3, "counting", "2 loads + 1 store")
    >>> from dags import pyramid_dag
    >>> [b.value for b in bounds_for(pyramid_dag(1), 3) if b.name == "doc-example"]
    [3]
    >>> unregister_bound("doc-example")
    """
    if kind not in KINDS:
        raise BoundError(f"argument 'kind' must be 'lower' or 'upper', got {kind!r}")
    game = None if variant is None else Assumptions(variant, sliding=sliding)

    def decorate(func: _BoundFunctionT) -> _BoundFunctionT:
        key = name or func.__name__.replace("_", "-")
        if key in _REGISTRY and _REGISTRY[key].func is not func:
            raise BoundError(f"a bound named {key!r} is already registered")
        _REGISTRY[key] = RegisteredBound(key, kind, func, covers, game)
        return func

    return decorate


def unregister_bound(name: str) -> None:
    """Remove a registered bound (for experiments in a notebook)."""
    if _REGISTRY.pop(name, None) is None:
        raise BoundError(f"no bound named {name!r} is registered")


def registered_bounds() -> dict[str, RegisteredBound]:
    """``{name: RegisteredBound}`` of every registered bound function, in registration order."""
    return dict(_REGISTRY)


@takes_dag
def bounds_for(dag: DAG, M: int, *, variant: str = "base", sliding: bool = False, kind: BoundKind | None = None,
               names: Iterable[str] | None = None, progress: Callable[[str], object] | None = None) -> list[Bound]:
    """Every registered bound that covers ``(dag, M)`` and holds in the given game.

    Parameters
    ----------
    dag : dags.DAG
    M : int
        Red pebbles; at least ``dag.min_memory(sliding=sliding)``.
    variant : str
        ``'base'``, ``'one-shot'``, ``'nodel'`` or a combination joined by ``'+'``.
    sliding : bool
        The game allows sliding: keep only bounds that hold there.
    kind : {'lower', 'upper'}, optional
        Only this kind.
    names : iterable of str, optional
        Only these registered functions.
    progress : callable, optional
        Called with each registered name before its function runs.

    Returns
    -------
    list of Bound
        Lower bounds first, each kind in registration order.

    Examples
    --------
    >>> from proofs import bounds_for  # the package: importing it registers the built-in bounds
    >>> from dags import pyramid_dag
    >>> lower = bounds_for(pyramid_dag(3), 3, kind="lower")
    >>> [(b.name, b.value) for b in lower]
    [('trivial', 5)]
    """
    M = check_memory(dag, M, sliding=sliding, what="argument 'M'")
    game_flags(variant)
    registry = registered_bounds()
    if names is not None:
        names = list(names)
        unknown = [n for n in names if n not in registry]
        if unknown:
            raise BoundError(f"unknown bound {unknown[0]!r}; registered: {', '.join(sorted(registry))}")
        registry = {n: registry[n] for n in names}
    found = []
    for entry in registry.values():
        if (kind is not None and entry.kind != kind) or not entry.may_hold_in(variant, sliding):
            continue
        if entry.covers is not None and not entry.covers(dag, M):
            continue
        if progress is not None:
            progress(entry.name)
        result = entry.func(dag, M)
        for b in [] if result is None else [result] if isinstance(result, Bound) else list(result):
            if not isinstance(b, Bound) or b.kind != entry.kind:
                raise BoundError(f"bound function {entry.name!r} returned {b!r}; expected a {entry.kind} Bound")
            if b.holds_in(variant, sliding=sliding):
                found.append(b)
    found.sort(key=lambda b: KINDS.index(b.kind))
    return found


def brief(bound: Bound | None) -> str:
    """``'2040 (saha-ye)'``, or ``'-'`` for ``None``: a bound in a table cell."""
    return "-" if bound is None else f"{bound.value:g} ({bound.name})"


def best_lower(bounds: Iterable[Bound]) -> Bound | None:
    """The largest lower bound of a list, or ``None``."""
    lows = [b for b in bounds if b.kind == "lower"]
    return max(lows, key=lambda b: b.value) if lows else None


def best_upper(bounds: Iterable[Bound]) -> Bound | None:
    """The smallest upper bound of a list, or ``None``."""
    ups = [b for b in bounds if b.kind == "upper"]
    return min(ups, key=lambda b: b.value) if ups else None
