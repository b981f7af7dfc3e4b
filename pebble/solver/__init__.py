"""Exact optimal pebbling: a CP-SAT solver, and an A* search that checks it.

:func:`solve` (CP-SAT, :mod:`pebble.solver.cpsat`) proves optima of DAGs with
tens of nodes; :func:`search` (:mod:`pebble.solver.search`) plays the game
over whole configurations for tiny DAGs and shares no modelling with it.
Both return a :class:`SolveResult` whose schedule the verifier accepted.
OR-tools is imported only when :func:`solve` is first used.
"""

from .common import SolveResult, SolverError
from .search import search

__all__ = ["SolveResult", "SolverError", "search", "solve"]


def __getattr__(name):
    if name == "solve":
        from .cpsat import solve

        return solve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
