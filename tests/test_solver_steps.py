"""The A* search in steps of one compute: exact in the base game, held against the other exact methods."""

import os
import random
import signal
import threading

import pytest

import dags
from pebble import MemoryTooSmall, verify
from pebble.solver import SolverError, search, step_search
from pebble.solver.steps import _max_flow, _StepGame
from proofs.optima import read_optima
from tests.test_solver_ideals import random_dag


def test_hand_checked():
    # pyramid(2) with M = 3: 3 loads, 1 store of the output, and one middle value stored and reloaded
    # (recomputing it would need its two sources again: 2 loads).
    r = step_search(dags.build("pyramid:h=2"), 3)
    assert (r.status, r.io, r.lower_bound, r.method) == ("optimal", 6, 6, "steps")
    assert verify(dags.build("pyramid:h=2"), r.schedule, 3).io == 6
    assert step_search(dags.build("pyramid:h=3"), 10).io == 5  # everything fits


def test_recomputation_is_found_where_it_pays():
    # layered 5x5 seed 2 with M = 4: the one-shot optimum is 19, the base optimum 18.
    g = dags.build("layered:layers=5,width=5,seed=2")
    r = step_search(g, 4)
    assert (r.status, r.io) == ("optimal", 18)
    assert r.report.computes > int((g.in_degree > 0).sum())  # some node computed twice


def test_agrees_with_configuration_search_on_random_dags():
    rng = random.Random(11)
    for i in range(250):
        g = random_dag(rng, rng.randint(4, 11))
        M = rng.randint(g.min_memory(), g.min_memory() + 2)
        r, exact = step_search(g, M), search(g, M)
        assert (r.status, r.io) == ("optimal", exact.io), (i, M)
        assert verify(g, r.schedule, M).io == r.io


def test_agrees_with_configuration_search_when_outputs_are_not_sinks():
    rng = random.Random(77)
    for i in range(100):
        g = random_dag(rng, rng.randint(4, 11))
        computed = [v for v in range(g.num_nodes) if g.in_degree[v] > 0]
        if not computed:
            continue
        g = g.with_outputs(sorted(set(rng.sample(computed, min(len(computed), rng.randint(1, 3))))))
        M = rng.randint(g.min_memory(), g.min_memory() + 2)
        assert step_search(g, M).io == search(g, M).io, (i, M)


def _base_rows():
    """The table's base-game optima of the grid and of the benchmark; the slow ones marked."""
    for row in read_optima():
        if row.variant == "base" and not row.spec.startswith("osp:"):
            slow = row.seconds > 1 or row.spec in ("pyramid:h=6", "matvec:n=3", "attention:n=2,d=1",
                                                  "matmul:n=2,k=2,m=2", "approx:n=2,d=1,g=1")
            yield pytest.param(row, marks=[pytest.mark.slow] if slow else [], id=f"{row.spec}-M{row.M}")


@pytest.mark.parametrize("row", list(_base_rows()))
def test_reproduces_the_base_optima_of_the_table(row):
    # Looking below the optimum + 1 finds a schedule of the optimum, and proves nothing is below it.
    r = step_search(dags.build(row.spec), row.M, max_states=12_000_000,
                    upper_bound=row.optimum + 1)
    assert (r.status, r.io) == ("optimal", row.optimum)


def test_upper_bound_keeps_only_better_schedules():
    g = dags.build("pyramid:h=4")
    assert step_search(g, 4, upper_bound=11).io == 10
    none = step_search(g, 4, upper_bound=10)  # nothing below the optimum: the bound is proven, no schedule
    assert (none.status, none.schedule, none.lower_bound, none.stats["exhausted"]) == ("unknown", None, 10, True)
    assert step_search(g, 4, upper_bound=3).lower_bound == 3


def test_limits_give_a_proven_bound():
    g = dags.build("pyramid:h=5")
    stopped = step_search(g, 4, max_states=300)
    assert stopped.status == "unknown" and stopped.schedule is None and not stopped.stats["exhausted"]
    assert 7 <= stopped.lower_bound <= 15


def test_progress_reports_the_bound_then_the_optimum():
    seen = []
    r = step_search(dags.build("pyramid:h=4"), 4, progress=lambda io, lb, s: seen.append((io, lb)))
    bounds = [lb for _, lb in seen]
    assert bounds == sorted(bounds) and seen[-1] == (r.io, r.io)
    assert all(io is None for io, _ in seen[:-1])


def test_ctrl_c_stops_the_search_between_chunks():
    before = signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:  # the search alone takes about a minute: it ends only because the interrupt is seen between chunks
        with pytest.raises(KeyboardInterrupt):
            step_search(dags.build("layered:layers=6,width=5,seed=3"), 3, max_states=12_000_000)
    finally:
        timer.cancel()
    assert signal.getsignal(signal.SIGINT) is before


def test_max_flow_is_a_cut_of_the_sources():
    # The compiled flow and the same code run as Python agree; the flow never exceeds the sources of use (a
    # path starts at one, and a source carries one path), and it is zero when nothing is left to compute.
    rng = random.Random(3)
    for _ in range(200):
        g = random_dag(rng, rng.randint(5, 20))
        game = _StepGame(g, g.min_memory())
        free, blue = rng.getrandbits(g.num_nodes), rng.getrandbits(g.num_nodes) | game.sources
        ends = (free & blue, free & game.sources, game.outputs & free & ~blue)
        flow = _max_flow(free, *ends, game.net)
        assert flow == _max_flow.py_func(free, *ends, game.net)
        assert flow <= (free & game.sources).bit_count()
        assert _max_flow(free, *ends[:2], 0, game.net) == 0


def test_cut_bound_counts_blue_values_once():
    g = dags.build("pyramid:h=2")  # sources 0, 1, 2; middle 3 = (0, 1), 4 = (1, 2); output 5 = (3, 4)
    game = _StepGame(g, 4)  # room to compute 3 and 4 and keep both: nothing crowded
    assert game.cut_bound(0, game.sources) == 1 + 3  # the store of 5, the loads of 0, 1, 2
    assert game.cut_bound(0, game.sources | 1 << 3) == 1 + 3  # 4 cannot be loaded: 1 and 2 cut, and 0 or 3
    assert game.cut_bound(0, game.sources | 1 << 3 | 1 << 4) == 1 + 2  # 3 and 4, each loaded or recomputed
    assert game.cut_bound(1 << 4, game.sources | 1 << 3) == 1 + 1  # 4 red: 3 alone is a cut
    assert game.cut_bound(1 << 5, game.sources) == 1  # the output red: only its store is left


def test_crowded_computes_force_a_store_and_a_load():
    # pyramid(2) with M = 3: computing 4 needs 1, 2 and 4 red, so 3 cannot stay red from its compute to 5's
    # (nor be computed again while 4 waits): whichever of 3 and 4 is made red last is loaded, stored before.
    g = dags.build("pyramid:h=2")
    game = _StepGame(g, 3)
    assert game.cut_bound(0, game.sources) == 1 + 3 + 2 == step_search(g, 3).io
    # 3 red and never stored: computing 4 takes all the room, so 3 is stored and loaded again; with the
    # loads of 1 and 2 and the store of 5, that is what finishing costs.
    assert game.cut_bound(1 << 3, game.sources) == 1 + 2 + 2
    assert game.cut_bound(0, game.sources | 1 << 3) == 1 + 3  # 3 blue: nothing crowded either
    # Two such diamonds joined at the output: three crowded computes with disjoint operands (4, 9 and 10),
    # each a store and a load; the bound is the optimum.
    g = dags.DAG.from_edges(11, [(0, 2), (1, 2), (1, 3), (0, 3), (2, 4), (3, 4),
                                 (5, 7), (6, 7), (6, 8), (5, 8), (7, 9), (8, 9), (4, 10), (9, 10)])
    game = _StepGame(g, 3)
    assert game.cut_bound(0, game.sources) == 1 + 4 + 3 * 2 == search(g, 3).io


@pytest.mark.parametrize("kwargs, message", [
    ({"variant": "one-shot"}, "takes only 'base'"),
    ({"variant": "nodel"}, "takes only 'base'"),
    ({"max_states": 0}, "'max_states' must be a positive integer"),
    ({"upper_bound": True}, "'upper_bound' must be an integer"),
    ({"upper_bound": 2.5}, "'upper_bound' must be an integer"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(SolverError, match=message):
        step_search(dags.build("pyramid:h=3"), 3, **kwargs)
    with pytest.raises(MemoryTooSmall, match="smallest feasible M = 3"):
        step_search(dags.build("pyramid:h=3"), 2)
    with pytest.raises(SolverError, match="at most 62 nodes .* got 63"):
        step_search(dags.build("tree:h=5"), 3)
