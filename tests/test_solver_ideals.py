"""The A* search over ideals: exact in the one-shot game, held against the other two exact methods."""

import random

import pytest

import dags
from pebble import MemoryTooSmall, verify
from pebble.solver import SolverError, ideal_search, search, solve
from proofs.optima import GRID, read_optima


def random_dag(rng, n):
    """A random DAG on ``n`` nodes, each node with 0 to 3 operands among the earlier ones (2 most often)."""
    return dags.random_dag(n, operands=[0, 1, 2, 2, 3], seed=rng.randrange(2 ** 32))


def test_hand_checked():
    # pyramid(2) with M = 3: 3 loads, 1 store of the output, and one middle value stored and reloaded.
    r = ideal_search(dags.build("pyramid:h=2"), 3)
    assert (r.status, r.io, r.lower_bound, r.method) == ("optimal", 6, 6, "ideals")
    assert verify(dags.build("pyramid:h=2"), r.schedule, 3, variant="one-shot").io == 6
    # Everything fits: load each source once, store the output.
    assert ideal_search(dags.build("pyramid:h=3"), 10).io == 5


def test_agrees_with_configuration_search_on_random_dags():
    rng = random.Random(5)
    for i in range(250):
        g = random_dag(rng, rng.randint(4, 12))
        M = rng.randint(g.min_memory(), g.min_memory() + 2)
        r, exact = ideal_search(g, M), search(g, M, variant="one-shot")
        assert (r.status, r.io) == ("optimal", exact.io), (i, M)
        assert verify(g, r.schedule, M, variant="one-shot").io == r.io


def _one_shot_rows():
    """The table's one-shot optima of the grid and those the ideal search proved within a minute (a longer
    proof's schedule is verified again when it is added to the table); the slow ones marked."""
    for row in read_optima():
        if row.variant == "one-shot" and (row.spec in GRID or "ideals" in row.methods) and row.seconds <= 60:
            marks = [pytest.mark.slow] if row.seconds > 2 else []
            yield pytest.param(row, marks=marks, id=f"{row.spec}-M{row.M}")


@pytest.mark.parametrize("row", list(_one_shot_rows()))
def test_reproduces_the_one_shot_optima_of_the_table(row):
    r = ideal_search(dags.build(row.spec), row.M, max_states=4_000_000)
    assert (r.status, r.io) == ("optimal", row.optimum)


def test_limits_give_a_proven_bound():
    g = dags.build("fft:k=3")
    stopped = ideal_search(g, 4, max_states=500)
    assert stopped.status == "unknown" and stopped.schedule is None and stopped.io is None
    assert 0 < stopped.lower_bound <= 31
    assert ideal_search(g, 4).io == 31  # CP-SAT alone stops at [25, 31] after 60 s


def test_progress_reports_the_bound_then_the_optimum():
    seen = []
    r = ideal_search(dags.build("pyramid:h=4"), 4, progress=lambda io, lb, s: seen.append((io, lb)))
    bounds = [lb for _, lb in seen]
    assert bounds == sorted(bounds) and seen[-1] == (r.io, r.io)
    assert all(io is None for io, _ in seen[:-1])


def test_solve_runs_it_first_and_names_what_proved_the_bound(exact_budget):
    g = dags.build("layered:layers=6,width=5,seed=3")
    r = solve(g, 3, variant="one-shot", **exact_budget)
    assert (r.status, r.io, r.proved_by, r.stats["stages"]["ideals"]) == ("optimal", 31, "ideals", "optimal")
    # In the base game its one-shot optimum is the incumbent; the step search finds nothing below it.
    b = solve(dags.build("pyramid:h=3"), 4, **exact_budget)
    assert (b.status, b.io, b.proved_by, b.stats["stages"]["ideals"]) == ("optimal", 7, "steps", "optimal")
    assert verify(dags.build("pyramid:h=3"), b.schedule, 4, variant="one-shot").valid  # the incumbent
    c = solve(dags.build("pyramid:h=3"), 4, searches=False, **exact_budget)
    assert (c.status, c.io, c.proved_by, c.stats["stages"].get("ideals")) == ("optimal", 7, "cp-sat", None)


@pytest.mark.parametrize("kwargs, message", [
    ({"variant": "base"}, "takes only 'one-shot'"),
    ({"variant": "one-shot+nodel"}, "takes only 'one-shot'"),
    ({"max_states": 0}, "'max_states' must be a positive integer"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(SolverError, match=message):
        ideal_search(dags.build("pyramid:h=3"), 3, **{"variant": "one-shot", **kwargs})
    with pytest.raises(MemoryTooSmall, match="smallest feasible M = 3"):
        ideal_search(dags.build("pyramid:h=3"), 2)
