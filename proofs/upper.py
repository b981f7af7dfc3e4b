"""Upper bounds: the I/O of the schedules of :mod:`pebble.strategies`, counted by the verifier.

Every schedule a strategy generates is played move by move by
:class:`pebble.Verifier` (streamed, never held whole) before its I/O counts
as a bound. It is checked in the base game, in the one-shot game and in the
nodel game at once; the bound carries the most restricted game it passed
(a schedule valid in the one-shot and in the nodel game is valid in both at
once: the two rules only forbid moves, on the same pebble configuration),
so it holds in that game and every more relaxed one. A strategy that
declines the DAG or M (a :class:`~pebble.strategies.StrategyError`) gives
no bound; a strategy whose schedule the verifier rejects is an error, never
a bound.
"""

from __future__ import annotations

from pebble import Verifier
from pebble.strategies import STRATEGIES, MemoryTooSmall, StrategyError, schedule_chunks

from .bound import Assumptions, Bound, BoundError, register_bound

__all__ = ["schedule_bounds", "verified_schedule_bound"]


def verified_schedule_bound(dag, M, name, generator, **options):
    """The verified I/O of one strategy's schedule as an upper :class:`Bound`, or ``None`` if it declines.

    >>> from dags import pyramid_dag
    >>> from pebble.strategies import heuristic_schedule
    >>> b = verified_schedule_bound(pyramid_dag(4), 3, "heuristic", heuristic_schedule)
    >>> b.value, b.assumptions.variant
    (20, 'one-shot')
    """
    games = {v: Verifier(dag, M, variant=v) for v in ("base", "one-shot", "nodel")}
    try:
        for chunk in schedule_chunks(generator, dag, M, **options):
            for checker in games.values():
                checker.feed(chunk)
    except (StrategyError, MemoryTooSmall):
        return None
    reports = {v: checker.finish() for v, checker in games.items()}
    base = reports["base"]
    if not base.valid:
        raise BoundError(f"strategy '{name}' produced a schedule the verifier rejects on {dag.name or 'the DAG'} "
                         f"with M = {M}: {base.violation.message}")
    variant = "+".join(v for v in ("one-shot", "nodel") if reports[v].valid) or "base"
    return Bound(f"schedule:{name}", "upper", base.io, "verified schedule",
                 f"{base.loads} loads + {base.stores} stores of the '{name}' schedule ({base.moves} moves, "
                 f"peak {base.peak_red} red), counted by pebble.verify",
                 Assumptions(variant, regime=f"M = {M}", family="any DAG the strategy accepts"),
                 f"pebble.strategies.STRATEGIES['{name}']",
                 {"moves": base.moves, "loads": base.loads, "stores": base.stores, "peak_red": base.peak_red})


@register_bound("schedules", kind="upper")
def schedule_bounds(dag, M):
    """The verified I/O of every strategy in ``pebble.strategies.STRATEGIES`` that accepts the DAG and M."""
    found = (verified_schedule_bound(dag, M, name, gen) for name, gen in STRATEGIES.items())
    return [b for b in found if b is not None]
