"""Exact optimal pebbling: a CP-SAT solver, and three A* searches that check it.

:func:`solve` (CP-SAT, :mod:`pebble.solver.cpsat`) proves optima of DAGs with
tens of nodes; :func:`ideal_search` (:mod:`pebble.solver.ideals`) proves
one-shot optima over the ideals of the DAG, fast where the DAG is narrow;
:func:`step_search` (:mod:`pebble.solver.steps`) proves base-game optima over
red and blue sets in steps of one compute; both run first inside
:func:`solve`. :func:`search` (:mod:`pebble.solver.config_search`) plays the game
over whole configurations for tiny DAGs. The searches share one bitmask view
of the DAG and its moves (:mod:`pebble.solver.bitmask`) and none of the
CP-SAT model. All return a :class:`SolveResult` whose schedule the verifier accepted.
OR-tools is imported only when :func:`solve` is first used.
"""

from .results import SolveResult, SolverError
from .ideals import ideal_search
from .config_search import search
from .steps import step_search

__all__ = ["SolveResult", "SolverError", "ideal_search", "search", "solve", "step_search"]


def __getattr__(name):
    if name == "solve":
        from .cpsat import solve

        return solve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
