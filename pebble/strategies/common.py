"""Helpers shared by the schedule generators."""

from __future__ import annotations

__all__ = ["StrategyError", "require_memory"]


class StrategyError(ValueError):
    """A strategy that cannot run with the given parameters; says what would work."""


def require_memory(dag, M, smallest, strategy):
    """Raise :class:`StrategyError` naming the smallest usable M when ``M < smallest``."""
    if isinstance(M, bool) or not isinstance(M, int) or M <= 0:
        raise StrategyError(f"argument 'M' must be a positive integer, got {M!r}")
    if M < smallest:
        raise StrategyError(f"strategy '{strategy}' needs M >= {smallest} on {dag.name or 'this DAG'}, got M = {M}")
