"""What the exact methods share: checking an instance, the result type, the final check.

Nothing here models the game; each method plays it its own way and hands
its schedule to :func:`checked_report`, which runs the verifier.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dags.errors import PebbleError

from ..engine import verify
from ..moves import Schedule
from ..rules import Report, Rules, check_memory

if TYPE_CHECKING:
    from dags.core import DAG

__all__ = ["SolverError", "SolveResult", "STATUSES", "game_rules", "search_rules", "checked_report",
           "proven_result"]

STATUSES = ("optimal", "feasible", "infeasible", "unknown")


class SolverError(PebbleError, ValueError):
    """An instance an exact method cannot take, with the reason and what would work."""


def game_rules(dag: DAG, M: int, variant: str, *,
               supported: Sequence[str] = ("base", "one-shot", "nodel", "one-shot+nodel")) -> Rules:
    """The rules of the game to solve; raises :class:`~pebble.rules.MemoryTooSmall` at once for an impossible M.

    >>> from dags import pyramid_dag
    >>> game_rules(pyramid_dag(3), 2, "base")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pebble.rules.MemoryTooSmall: M = 2 is below the smallest feasible M = 3 for pyramid(3) (max in-degree 2, ...
    """
    rules = Rules.make(M, variant)
    if rules.variant not in supported:
        raise SolverError(f"argument 'variant': the exact solvers take {', '.join(supported)}, got {variant!r}")
    check_memory(dag, rules.M)
    return rules


def search_rules(dag: DAG, M: int, variant: str, max_states: int, *, game: str, name: str, why: str) -> Rules:
    """:func:`game_rules` for a search exact in one ``game`` only (``why`` says why), its state cap checked."""
    rules = game_rules(dag, M, variant)
    if rules.variant != game:
        raise SolverError(f"argument 'variant': {name} takes only {game!r} ({why}), got {variant!r}")
    if isinstance(max_states, bool) or not isinstance(max_states, int) or max_states < 1:
        raise SolverError(f"argument 'max_states' must be a positive integer, got {max_states!r}")
    return rules


def checked_report(dag: DAG, schedule: Schedule, rules: Rules, method: str) -> Report:
    """The verifier's report on ``schedule``; a schedule it rejects is a bug of ``method``."""
    report = verify(dag, schedule, rules.M, variant=rules.variant)
    if not report.valid:
        raise AssertionError(f"{method} produced an invalid schedule (a bug): {report.violation}")
    return report


def proven_result(dag: DAG, schedule: Schedule, counted_io: int, rules: Rules, method: str, what: str,
                  start_time: float, stats: dict, progress: Callable[[int, int, float], object] | None = None
                  ) -> SolveResult:
    """The result of a search that reached its goal: ``schedule`` verified, the verifier's I/O held against
    the search's own count ``counted_io`` (a disagreement is a bug of ``what``), ``progress`` told."""
    report = checked_report(dag, schedule, rules, what)
    if report.io != counted_io:
        raise AssertionError(f"{what} counted I/O {counted_io}, the verifier {report.io} (a bug)")
    seconds = time.perf_counter() - start_time
    if progress is not None:
        progress(report.io, report.io, seconds)
    return SolveResult("optimal", schedule, report.io, report.io, seconds, report, rules.M, rules.variant, method,
                       stats)


@dataclass
class SolveResult:
    """The outcome of an exact method.

    Attributes
    ----------
    status : {'optimal', 'feasible', 'infeasible', 'unknown'}
        ``optimal``: ``io == lower_bound`` and the schedule attains it;
        ``feasible``: a verified schedule, not proven optimal; ``unknown``: no
        schedule found in time.
    schedule : Schedule or None
        The best schedule found, accepted by :func:`pebble.verify`.
    io : int or None
        Its I/O (loads + stores).
    lower_bound : int
        A proven lower bound on the optimum of the game (all schedules).
    seconds : float
        Wall time.
    report : Report or None
        The verifier's report on ``schedule``.
    M, variant, method : the instance and the method that ran.
    stats : dict
        Method-specific figures (model size, states expanded, ...).
    proved_by : str or None
        The method whose proof or bound closed the gap (``method`` itself for
        a single method's optimum); None if not proven optimal.
    """

    status: str
    schedule: Schedule | None
    io: int | None
    lower_bound: int
    seconds: float
    report: Report | None
    M: int
    variant: str
    method: str
    stats: dict = field(default_factory=dict)
    proved_by: str | None = None

    def __post_init__(self) -> None:
        if self.status == "optimal" and self.proved_by is None:
            self.proved_by = self.method

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    def to_dict(self) -> dict:
        return {"status": self.status, "io": self.io, "lower_bound": self.lower_bound, "M": self.M,
                "variant": self.variant, "method": self.method, "proved_by": self.proved_by,
                "seconds": round(self.seconds, 3),
                "moves": None if self.schedule is None else len(self.schedule), **self.stats}

    def __str__(self) -> str:
        if self.io is None or self.schedule is None:
            return f"{self.status}: no schedule found (lower bound {self.lower_bound}, {self.seconds:.2f} s)"
        bound = "" if self.optimal else f", lower bound {self.lower_bound}"
        by = f" by {self.proved_by}" if self.proved_by not in (None, self.method) else ""
        return (f"{self.status}: I/O {self.io}{bound} (M={self.M} {self.variant}, {self.method}{by}, "
                f"{self.seconds:.2f} s, {len(self.schedule)} moves)")
