"""Exact optimal pebbling: a portfolio of a CP-SAT model and three A* searches.

:func:`solve` (:mod:`pebble.solver.portfolio`) runs the exact searches and
the CP-SAT model (:mod:`pebble.solver.cpsat_model`) in stages within a time
and memory budget; :func:`ideal_search` (:mod:`pebble.solver.ideals`) proves
one-shot optima over the ideals of the DAG, fast where the DAG is narrow;
:func:`step_search` (:mod:`pebble.solver.steps`) proves base-game optima over
red and blue sets in steps of one compute; :func:`search`
(:mod:`pebble.solver.config_search`) plays the game over whole
configurations for tiny DAGs; ``plain`` (:mod:`pebble.solver.plain_model`)
is the plain time-expanded model, the yardstick. The searches share one
bitmask view of the DAG and its moves (:mod:`pebble.solver.bitmask`) and
none of the CP-SAT model. :data:`METHODS` calls each the same way::

    METHODS[name](dag, M, *, variant, time_limit, max_states, memory_limit, progress, workers, seed)

All return a :class:`SolveResult` whose schedule the verifier accepted.
OR-tools is imported only when a CP-SAT method is first used.
"""

from .config_search import search
from .ideals import ideal_search
from .results import SolverError, SolveResult
from .steps import step_search

__all__ = ["METHODS", "SolveResult", "SolverError", "ideal_search", "search", "solve", "step_search"]

# Resident bytes per search state, to turn a memory budget into a state cap (as the searches document).
_BYTES_PER_STATE = {"ideals": 400, "steps": 300, "search": 300}


def _cap(name, max_states, memory_limit, default):
    cap = default if max_states is None else max_states
    if memory_limit is not None:
        from .budget import rss

        cap = min(cap, max(1, (memory_limit - rss()) // _BYTES_PER_STATE[name]))
    return cap


def _solve(dag, M, *, variant="base", time_limit=60.0, max_states=None, memory_limit=None, progress=None,
           workers=2, seed=0, searches=True, **options):
    from .portfolio import Policy
    from .portfolio import solve as portfolio_solve

    policy = options.pop("policy", None) or Policy()
    if max_states is not None:
        from dataclasses import replace

        policy = replace(policy, ideals_max_states=max_states, steps_max_states=max_states)
    return portfolio_solve(dag, M, variant=variant, time_limit=time_limit, memory_limit=memory_limit,
                           progress=progress, workers=workers, seed=seed, policy=policy, searches=searches,
                           **options)


def _cpsat(dag, M, **options):
    return _solve(dag, M, searches=False, **options)


def _ideals(dag, M, *, variant="one-shot", time_limit=None, max_states=None, memory_limit=None, progress=None,
            workers=None, seed=None):
    return ideal_search(dag, M, variant=variant, time_limit=time_limit, progress=progress,
                        max_states=_cap("ideals", max_states, memory_limit, 2_000_000))


def _steps(dag, M, *, variant="base", time_limit=None, max_states=None, memory_limit=None, progress=None,
           workers=None, seed=None, upper_bound=None):
    return step_search(dag, M, variant=variant, time_limit=time_limit, progress=progress, upper_bound=upper_bound,
                       max_states=_cap("steps", max_states, memory_limit, 2_000_000))


def _search(dag, M, *, variant="base", time_limit=None, max_states=None, memory_limit=None, progress=None,
            workers=None, seed=None):
    """The configuration search; it reports no progress (tiny DAGs only)."""
    return search(dag, M, variant=variant, time_limit=time_limit,
                  max_states=_cap("search", max_states, memory_limit, 1_000_000))


def _plain(dag, M, *, variant="base", time_limit=60.0, max_states=None, memory_limit=None, progress=None,
           workers=2, seed=None, horizon=None):
    """The plain model; it has no state cap, memory budget or progress (the yardstick runs as published)."""
    from .plain_model import plain_solve

    return plain_solve(dag, M, variant=variant, time_limit=time_limit, workers=workers, horizon=horizon)


# name -> method, each called as METHODS[name](dag, M, *, variant, time_limit, max_states, memory_limit, progress,
# workers, seed); the CLI's --method choices.
METHODS = {"solve": _solve, "cp-sat": _cpsat, "ideals": _ideals, "steps": _steps, "search": _search,
           "plain": _plain}


def __getattr__(name):
    if name == "solve":
        from .portfolio import solve  # OR-tools takes seconds to load: only when solve is first used

        return solve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
