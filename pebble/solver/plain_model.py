"""The plain time-expanded CP-SAT model, kept as the yardstick for :mod:`.cpsat_model`.

One move per step; for every node and step a red and a blue state, and a
load, store, compute and delete decision; the rules as constraints between
consecutive states; at most M red pebbles at every step; blue on every output
at the end; minimise loads plus stores. Nothing more: no dominance rules, no
symmetry breaking, CP-SAT's default search. As in the literature's
time-indexed models, the heuristic's schedule is the warm start and its
length the horizon ``T`` (a step may be idle), so ``optimal`` here means
optimal among schedules of at most ``T`` moves.

Used by ``benchmarks/exact.py`` for the speed-up ratio, and by the tests to
check that it agrees with the exact methods on tiny instances.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.sat.python import cp_model

from dags.core import takes_dag

from ..moves import COMPUTE, DELETE, LOAD, STORE, Schedule
from ..strategies import heuristic_schedule
from .results import SolveResult, checked_report, game_rules

__all__ = ["plain_solve"]


@takes_dag
def plain_solve(dag, M, *, variant="base", time_limit=60.0, workers=2, horizon=None) -> SolveResult:
    """Solve the plain time-expanded model.

    Parameters
    ----------
    dag, M, variant, time_limit, workers
        As for :func:`pebble.solver.solve` (variants base and one-shot).
    horizon : int, optional
        Number of steps; default the length of the heuristic's schedule.

    Returns
    -------
    SolveResult
        ``lower_bound`` is proven only for schedules of at most ``horizon`` moves.

    Examples
    --------
    >>> from dags import pyramid_dag
    >>> r = plain_solve(pyramid_dag(2), 3)
    >>> r.status, r.io
    ('optimal', 6)
    """
    start = time.perf_counter()
    rules = game_rules(dag, M, variant, supported=("base", "one-shot"))
    warm = heuristic_schedule(dag, rules.M)
    T = len(warm) if horizon is None else int(horizon)
    n = dag.num_nodes
    m = cp_model.CpModel()
    kinds = (LOAD, STORE, COMPUTE, DELETE)
    red = [[m.new_bool_var(f"red[{t},{v}]") for v in range(n)] for t in range(T + 1)]
    blue = [[m.new_bool_var(f"blue[{t},{v}]") for v in range(n)] for t in range(T + 1)]
    move = [[[m.new_bool_var(f"move[{t},{k},{v}]") for v in range(n)] for k in kinds] for t in range(T)]
    is_source = dag.in_degree == 0
    for v in range(n):
        m.add(red[0][v] == 0)
        m.add(blue[0][v] == int(is_source[v]))
    for t in range(T):
        load, store, comp, delete = move[t]
        m.add_at_most_one([lit for k in range(4) for lit in move[t][k]])
        m.add(sum(red[t + 1]) <= rules.M)
        for v in range(n):
            m.add(red[t + 1][v] == red[t][v] + load[v] + comp[v] - delete[v])
            m.add(blue[t + 1][v] == blue[t][v] + store[v])
            m.add_implication(load[v], blue[t][v])
            m.add_implication(load[v], ~red[t][v])
            m.add_implication(store[v], red[t][v])
            m.add_implication(store[v], ~blue[t][v])
            m.add_implication(delete[v], red[t][v])
            m.add_implication(comp[v], ~red[t][v])
            if is_source[v]:
                m.add(comp[v] == 0)
            for u in dag.predecessors(v).tolist():
                m.add_implication(comp[v], red[t][u])
    if rules.one_shot:
        for v in range(n):
            m.add(sum(move[t][2][v] for t in range(T)) <= 1)
    for o in dag.outputs.tolist():
        m.add(blue[T][o] == 1)
    m.minimize(sum(move[t][k][v] for t in range(T) for k in (0, 1) for v in range(n)))
    codes = warm.codes.tolist()
    for t in range(T):
        for k in range(4):
            for v in range(n):
                m.add_hint(move[t][k][v], int(t < len(codes) and codes[t] == (v << 2 | k)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.catch_sigint_signal = False  # OR-tools' own handler aborts the interpreter
    solver.parameters.max_time_in_seconds = max(0.01, time_limit - (time.perf_counter() - start))
    status = solver.solve(m)
    stats = {"horizon": T, "variables": len(m.proto.variables), "cp_status": status.name}
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SolveResult("unknown", None, None, int(np.ceil(max(0.0, solver.best_objective_bound))),
                           time.perf_counter() - start, None, rules.M, rules.variant, "plain", stats)
    chosen = [(v << 2 | k) for t in range(T) for k in range(4) for v in range(n)
              if solver.boolean_value(move[t][k][v])]
    schedule = Schedule(np.asarray(chosen, dtype=np.int64))
    report = checked_report(dag, schedule, rules, "the plain CP-SAT model")
    lower = int(np.ceil(solver.best_objective_bound - 1e-6))
    name = "optimal" if status == cp_model.OPTIMAL else "feasible"
    return SolveResult(name, schedule, report.io, report.io if name == "optimal" else lower,
                       time.perf_counter() - start, report, rules.M, rules.variant, "plain", stats)
