"""The general heuristic: compiled against the readable reference, and every schedule verified."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dags import DAG, load_dag, pyramid_dag
from pebble import verify
from pebble.strategies import MemoryTooSmall, StrategyError, depth_first_order, heuristic_schedule
from pebble.strategies.heuristic import reference_heuristic_schedule
from proofs import trivial_lower_bound


@st.composite
def dags_and_memory(draw):
    n = draw(st.integers(1, 14))
    edges = [(u, v) for v in range(n) for u in range(v) if draw(st.booleans()) and draw(st.booleans())]
    perm = draw(st.permutations(range(n)))  # ids need not be topological
    edges = [(perm[u], perm[v]) for u, v in edges]
    outputs = None
    if draw(st.booleans()):
        outputs = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    dag = DAG.from_edges(n, edges, outputs=outputs)
    M = dag.min_memory() + draw(st.integers(0, 3))
    return dag, M


@settings(max_examples=300, deadline=None)
@given(dags_and_memory())
def test_fast_equals_reference_and_verifies(case):
    dag, M = case
    fast = heuristic_schedule(dag, M)
    assert fast == reference_heuristic_schedule(dag, M)
    for variant in ("base", "one-shot"):
        report = verify(dag, fast, M, variant=variant)
        assert report.valid, report
        assert report.peak_red <= M
    assert verify(dag, fast, M).io >= trivial_lower_bound(dag)


def test_pyramid_counts():
    # Hand-checked: pyramid(1) loads both inputs, computes, stores the output.
    g = pyramid_dag(1)
    s = heuristic_schedule(g, 3)
    assert s.text(g) == ["load p0[0]", "load p0[1]", "compute p1[0]", "delete p0[0]", "delete p0[1]",
                         "store p1[0]", "delete p1[0]"]
    # With M = h + 2 the whole pyramid fits: every input loaded once, the top stored once.
    for h in range(1, 8):
        g = pyramid_dag(h)
        assert verify(g, heuristic_schedule(g, h + 2), h + 2).io == trivial_lower_bound(g) == h + 2


def test_large_pyramid_matches_reference():
    g = pyramid_dag(120)
    for M in (3, 7, 40):
        s = heuristic_schedule(g, M)
        assert s == reference_heuristic_schedule(g, M)
        assert verify(g, s, M).valid


def test_osp_tiny(osp_tiny_dir):
    files = sorted(osp_tiny_dir.glob("*.hdag"))
    assert len(files) == 16
    for path in files:
        g = load_dag(str(path))
        m = g.min_memory()
        for M in (m, 2 * m):
            s = heuristic_schedule(g, M)
            assert s == reference_heuristic_schedule(g, M), path.name
            assert verify(g, s, M, variant="one-shot").valid, path.name


def test_depth_first_order_is_topological():
    g = pyramid_dag(6)
    order = depth_first_order(g)
    position = np.full(g.num_nodes, -1)
    position[order] = np.arange(order.size)
    assert sorted(order.tolist()) == np.flatnonzero(g.in_degree > 0).tolist()
    for v in order:
        for u in g.predecessors(v):
            assert g.in_degree[u] == 0 or position[u] < position[v]


def test_explicit_order():
    g = pyramid_dag(5)
    order = g.topological_order[g.in_degree[g.topological_order] > 0]
    s = heuristic_schedule(g, 4, order=order)
    assert s == reference_heuristic_schedule(g, 4, order=order)
    assert verify(g, s, 4).valid


@pytest.mark.parametrize("order, message", [
    ([6, 6], "appears twice"),
    ([0], "is a source"),
    ([99], "must lie in"),
    ([11], "is not computed before it"),
])
def test_bad_order(order, message):
    with pytest.raises(ValueError, match=message):
        heuristic_schedule(pyramid_dag(4), 3, order=order)


def test_too_little_memory_names_the_smallest_M():
    with pytest.raises(MemoryTooSmall, match=r"strategy 'heuristic': M = 2 is below the smallest feasible M = 3"):
        heuristic_schedule(pyramid_dag(3), 2)
    with pytest.raises(StrategyError, match="positive integer"):
        heuristic_schedule(pyramid_dag(3), 0)
