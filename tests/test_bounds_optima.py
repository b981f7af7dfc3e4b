"""Every bound against exact optima of tiny DAGs (A* search) and against the heuristic on random DAGs.

The optima here come from :func:`pebble.solver.config_search`, which plays the game
over whole configurations and shares nothing with the bounds. A failure
names the DAG, M, the game, the optimum and the bound.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dags import DAG, build
from pebble import verify
from pebble.solver import search
from pebble.strategies import heuristic_schedule
from proofs import bounds_for

TINY = [("pyramid:h=2", 3), ("pyramid:h=3", 3), ("pyramid:h=3", 4), ("tree:h=2", 3), ("tree:h=3", 3),
        ("tree:h=3", 4), ("path:n=6", 2), ("matvec:n=2", 3), ("matvec:n=2,m=3", 4), ("matmul:n=1,k=2,m=2", 3),
        ("fft:k=2", 3), ("fft:k=2", 4), ("stencil:n=3,t=2", 4), ("layered:layers=3,width=3,seed=1", 3),
        ("attention:n=1,d=2", 3), ("approx:n=1,d=1,g=1", 3)]


def assert_bounds_hold(dag, M, variant, opt):
    for b in bounds_for(dag, M, variant=variant):
        if b.kind == "lower":
            assert b.value <= opt, f"{dag.name} M={M} {variant}: lower bound {b.name} = {b.value} > optimum {opt}"
        else:
            assert b.value >= opt, f"{dag.name} M={M} {variant}: upper bound {b.name} = {b.value} < optimum {opt}"


@pytest.mark.parametrize("spec,M", TINY)
@pytest.mark.parametrize("variant", ["base", "one-shot"])
def test_bounds_hold_on_tiny_families(spec, M, variant):
    dag = build(spec)
    result = search(dag, M, variant=variant, max_states=400_000)
    assert result.status == "optimal"
    assert_bounds_hold(dag, M, variant, result.io)


@st.composite
def tiny_dags(draw, max_nodes=9, max_in_degree=2):
    n = draw(st.integers(3, max_nodes))
    edges = []
    for v in range(1, n):
        preds = draw(st.lists(st.integers(0, v - 1), max_size=max_in_degree, unique=True))
        edges += [(u, v) for u in preds]
    dag = DAG.from_edges(n, edges, name=f"random({n})")
    return dag, draw(st.integers(dag.min_memory(), dag.min_memory() + 2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_dags(), st.sampled_from(["base", "one-shot"]))
def test_bounds_hold_on_random_tiny_dags(instance, variant):
    dag, M = instance
    result = search(dag, M, variant=variant, max_states=300_000)
    if result.status == "optimal":
        assert_bounds_hold(dag, M, variant, result.io)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_dags(max_nodes=60, max_in_degree=3), st.sampled_from(["base", "one-shot"]))
def test_lower_bounds_below_the_heuristic_on_random_dags(instance, variant):
    dag, M = instance
    report = verify(dag, heuristic_schedule(dag, M), M, variant=variant)
    assert report.valid
    for b in bounds_for(dag, M, variant=variant, kind="lower"):
        assert b.value <= report.io, f"{dag.name} M={M} {variant}: {b} above the heuristic's {report.io}"

