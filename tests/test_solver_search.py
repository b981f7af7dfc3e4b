"""The A* search, and the CP-SAT solver held against it on random and named DAGs."""

import random

import pytest

import dags
from pebble import MemoryTooSmall, verify
from pebble.solver import search, solve


def random_instances(count, seed, sizes=(4, 9)):
    rng = random.Random(seed)
    for i in range(count):
        # Each forward pair an edge with probability p.
        g = dags.random_dag(rng.randint(*sizes), p=rng.choice([0.25, 0.35, 0.5]), seed=rng.randrange(2 ** 32))
        M = rng.randint(g.min_memory(), g.min_memory() + 2)
        yield i, g, M, rng.choice(["base", "base", "one-shot", "nodel", "one-shot+nodel"])


# -- hand-checked cases ----------------------------------------------------------

@pytest.mark.parametrize("spec, M, variant, optimum", [
    ("pyramid:h=1", 3, "base", 3),        # load, load, compute, store
    ("path:n=5", 2, "base", 2),           # load x[0], walk the path, store x[4]
    ("pyramid:h=2", 4, "base", 4),        # 3 loads + 1 store: everything fits
    ("pyramid:h=2", 3, "base", 6),        # one of the middle values must go out and back (2 more)
    ("tree:h=2", 3, "base", 7),           # 4 loads, 1 store, one sibling result spilled and reloaded
    ("pyramid:h=3", 3, "nodel", 12),      # nodel stores what it deletes
])
def test_search_hand_checked(spec, M, variant, optimum):
    r = search(dags.build(spec), M, variant=variant)
    assert (r.status, r.io, r.lower_bound) == ("optimal", optimum, optimum)
    assert verify(dags.build(spec), r.schedule, M, variant=variant).io == optimum


def test_search_recomputation_beats_one_shot():
    # Node 1 is cheap to recompute from the source 0; the one-shot game must spill it instead.
    g = dags.DAG.from_edges(10, [(0, 1), (1, 2), (0, 3), (1, 4), (3, 5), (3, 6), (2, 8), (3, 8), (7, 8),
                                 (4, 9), (5, 9), (8, 9)])
    base, one_shot = search(g, 4), search(g, 4, variant="one-shot")
    assert (base.io, one_shot.io) == (5, 6)
    computes = [v for kind, v in base.schedule if kind == "compute"]
    assert len(computes) > len(set(computes))  # it does recompute


def test_search_limit_gives_a_valid_bound():
    g = dags.build("pyramid:h=4")
    stopped = search(g, 4, max_states=50)
    assert stopped.status == "unknown" and stopped.schedule is None
    assert 0 < stopped.lower_bound <= search(g, 4).io == 10


def test_search_rejects_impossible_memory():
    with pytest.raises(MemoryTooSmall, match="smallest feasible M = 3"):
        search(dags.build("pyramid:h=3"), 2)


# -- the two exact methods agree -------------------------------------------------

def test_solver_agrees_with_search_on_random_dags(exact_budget):
    proven = 0
    instances = list(random_instances(220, seed=7))
    for i, g, M, variant in instances:
        exact = search(g, M, variant=variant)
        r = solve(g, M, variant=variant, **exact_budget)
        assert r.report.valid and verify(g, r.schedule, M, variant=variant).io == r.io
        assert r.lower_bound <= exact.io <= r.io, (i, variant, M)
        if r.status == "optimal":
            assert r.io == exact.io, (i, variant, M)
            proven += 1
    # The base game's model is a relaxation (see pebble.solver.cpsat_model); on these DAGs it is tight.
    assert proven == len(instances)


@pytest.mark.slow
def test_solver_agrees_with_search_on_larger_random_dags(exact_budget):
    proven = total = 0
    for i, g, M, variant in random_instances(60, seed=11, sizes=(9, 12)):
        exact = search(g, M, variant=variant)
        r = solve(g, M, variant=variant, **exact_budget)
        assert r.lower_bound <= exact.io <= r.io, (i, variant, M)
        if r.status == "optimal":
            assert r.io == exact.io
            proven += 1
        total += 1
    assert proven >= 0.9 * total


NAMED = ["path:n=6", "tree:h=2", "tree:h=3", "pyramid:h=2", "pyramid:h=3", "matvec:n=2", "fft:k=2",
         "matmul:n=2,k=1,m=2", "stencil:n=4,t=2", "layered:layers=3,width=4,seed=0"]


@pytest.mark.parametrize("spec", NAMED)
@pytest.mark.parametrize("variant", ["base", "one-shot"])
def test_solver_agrees_with_search_on_families(spec, variant, exact_budget):
    g = dags.build(spec)
    for M in (g.min_memory(), g.min_memory() + 1):
        exact = search(g, M, variant=variant)
        r = solve(g, M, variant=variant, **exact_budget)
        assert (r.status, r.io) == ("optimal", exact.io), M


@pytest.mark.slow
@pytest.mark.parametrize("spec, M", [("pyramid:h=4", 4), ("pyramid:h=4", 5), ("tree:h=3", 4), ("matvec:n=2", 4)])
def test_solver_agrees_with_search_on_larger_families(spec, M, exact_budget):
    g = dags.build(spec)
    for variant in ("base", "one-shot", "nodel"):
        assert solve(g, M, variant=variant, **exact_budget).io == search(g, M, variant=variant).io
