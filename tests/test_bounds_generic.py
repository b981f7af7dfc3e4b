"""Generic bounds: trivial, spectral (Laplacian, eigensolvers, formula), convex min-cut."""

import math

import numpy as np
import pytest

from dags import DAG, build, path_dag, pyramid_dag
from pebble.solver import search
from proofs import generic
from proofs.generic import (
    laplacian_bottom,
    mincut_bound,
    spectral_bound,
    trivial_bound,
    wavefront_mincut,
    weighted_laplacian,
)


def broadcast_dag(k):
    """k+1 inputs; u_i = f(s_i, s_i+1); a chain c over the u; then e_i = c_last * u_i (the outputs).

    When the chain ends, every u_i is still needed: a wavefront of k + 1 values.
    """
    n = k + 1
    edges = [(i, n + i) for i in range(k)] + [(i + 1, n + i) for i in range(k)]
    prev, v = n, n + k
    for i in range(1, k):
        edges += [(prev, v), (n + i, v)]
        prev, v = v, v + 1
    for i in range(k):
        edges += [(prev, v), (n + i, v)]
        v += 1
    return DAG.from_edges(v, edges, name=f"broadcast({k})")


def test_trivial_counts_needed_inputs_and_computed_outputs():
    b = trivial_bound(build("attention:n=3,d=2"), 8)
    assert b.value == 4 * 3 * 2 and b.formula.startswith("18 needed inputs loaded once + 6 computed outputs")
    # an input that feeds nothing needed is not counted; an output that is a source needs no store
    g = DAG.from_edges(4, [(0, 2), (1, 2)], outputs=[2, 3])
    assert trivial_bound(g, 3).value == 3


def test_weighted_laplacian_of_a_tiny_dag():
    # p0[0], p0[1] -> p1[0]: out-degree 1 each, weight 1
    L, n = weighted_laplacian(pyramid_dag(1))
    assert n == 3 and L.toarray().tolist() == [[1, 0, -1], [0, 1, -1], [-1, -1, 2]]
    # a node of out-degree 2 spreads weight 1/2 on each of its edges
    L, _ = weighted_laplacian(DAG.from_edges(3, [(0, 1), (0, 2)], outputs=[1, 2]))
    assert L.toarray().tolist() == [[1, -0.5, -0.5], [-0.5, 0.5, 0], [-0.5, 0, 0.5]]
    # nodes that reach no output are left out, and out-degrees count needed successors only
    L, n = weighted_laplacian(DAG.from_edges(4, [(0, 1), (1, 2), (1, 3)], outputs=[2]))
    assert n == 3 and L.toarray().tolist() == [[1, -1, 0], [-1, 2, -1], [0, -1, 1]]


def test_spectral_formula_with_given_eigenvalues():
    g = path_dag(12)  # n = 12 needed nodes, 1 output store
    lam = [0.0, 0.5, 0.5, 1.0]
    b = spectral_bound(g, 1, eigenvalues=lam)
    # the trivial 2 (the first load of the source, the store of the output) plus
    # ceil(floor(12/k)/2 * sum_k - (k-1) * 1), at least 0:
    # k = 2: ceil(3 * 0.5 - 1) = 1 -> 3; k = 3: ceil(2 * 1.0 - 2) = 0 -> 2; k = 4: ceil(1.5 * 2.0 - 3) = 0 -> 2;
    # beyond the 4 given eigenvalues the sum grows by 1.0 per k: k = 5: ceil(1 * 3.0 - 4) < 0 -> 2
    assert b.value == 3 and b.parameters["k"] == 2


def test_spectral_bound_on_a_path_matches_the_closed_form_spectrum():
    n = 40
    g = path_dag(n)
    lam = 2 - 2 * np.cos(np.pi * np.arange(n) / n)  # eigenvalues of the path graph's Laplacian
    L, _ = weighted_laplacian(g)
    computed, how = laplacian_bottom(L, n)
    assert how.startswith("dense") and np.allclose(computed, lam, atol=1e-8) and np.all(computed <= lam + 1e-12)
    M = 1
    ks = np.arange(1, n + 1)
    raw = np.floor(n / ks) / 2 * np.cumsum(lam) - (ks - 1) * M
    expected = max(math.ceil(max(v, 0) - 1e-9) for v in raw) + 2  # + the trivial 2: one input, one output
    assert spectral_bound(g, M).value == expected


def test_sparse_eigensolver_agrees_with_lapack(monkeypatch):
    g = build("fft:k=6")  # 448 nodes; repeated eigenvalues, which a single-vector Lanczos can miss
    L, n = weighted_laplacian(g)
    dense, _ = laplacian_bottom(L, 12)
    monkeypatch.setattr(generic, "DENSE_LIMIT", 100)
    sparse, how = laplacian_bottom(L, 12)
    assert how.startswith("sparse LOBPCG")
    assert np.all(sparse <= dense + 1e-9), "the sparse path must never overstate an eigenvalue"
    assert np.allclose(sparse, dense, atol=1e-4)
    assert len(set(np.round(dense, 6))) < 12  # the test does exercise repeated eigenvalues
    monkeypatch.setattr(generic, "SPARSE_EIGENVALUES", 12)
    assert spectral_bound(g, 3).value <= spectral_bound(g, 3, eigenvalues=dense).value


def test_wavefront_mincut_by_hand():
    g = broadcast_dag(3)
    cuts = wavefront_mincut(g)
    last = max(cuts)  # the last output: P may hold everything but nothing is then live
    assert cuts[last] == 0
    chain_end = 4 + 3 + 1  # u0..u2 at 4..6, the chain at 7..8
    # when the chain ends, u0, u1, u2 and the chain's end are live: 4 non-outputs, weight 8
    assert cuts[chain_end] == 8
    assert mincut_bound(g, 3).value == 7 + (8 - 6) and mincut_bound(g, 4).value == 7


@pytest.mark.parametrize("k,M", [(3, 3), (4, 3), (4, 4), (5, 3)])
def test_mincut_against_the_one_shot_optimum(k, M):
    g = broadcast_dag(k)
    opt = search(g, M, variant="one-shot").io
    assert trivial_bound(g, M).value < mincut_bound(g, M).value <= opt


def test_mincut_samples_large_dags():
    g = build("fft:k=6")
    b = mincut_bound(g, 3)
    assert "48 of 384 nodes" in b.formula and b.value >= trivial_bound(g, 3).value


def test_generic_bounds_are_one_shot_except_the_trivial():
    for b in (spectral_bound(pyramid_dag(3), 3), mincut_bound(pyramid_dag(3), 3)):
        assert b.holds_in("one-shot") and b.holds_in("one-shot", sliding=True) and not b.holds_in("base")
    assert trivial_bound(pyramid_dag(3), 3).holds_in("base", sliding=True)


def brute_wavefront(dag, x):
    """The least weighted wavefront over every closed set of needed non-sources containing x, by enumeration."""
    inner = [v for v in range(dag.num_nodes) if dag.needed[v] and dag.in_degree[v] > 0]
    outputs = set(dag.outputs.tolist())
    succ = {v: [int(u) for u in dag.successors(v) if dag.needed[u]] for v in inner}
    desc, stack = set(), [x]
    while stack:
        for u in succ[stack.pop()]:
            if u not in desc:
                desc.add(u)
                stack.append(u)
    best = None
    for mask in range(1 << len(inner)):
        P = {v for i, v in enumerate(inner) if mask >> i & 1}
        if x not in P or P & desc:
            continue
        if any(u in succ and u not in P for v in P for u in dag.predecessors(v).tolist()):
            continue  # not closed under predecessors
        weight = sum(1 if v in outputs else 2 for v in P if any(u not in P for u in succ[v]))
        best = weight if best is None else min(best, weight)
    return best


def test_wavefront_mincut_equals_enumeration():
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(4, 11))
        edges = [(int(u), v) for v in range(1, n) for u in rng.choice(v, size=min(v, int(rng.integers(0, 3))),
                                                                       replace=False)]
        dag = DAG.from_edges(n, edges)
        for x, w in wavefront_mincut(dag).items():
            assert w == brute_wavefront(dag, x), (edges, x)
