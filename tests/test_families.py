import math

import numpy as np
import pytest
import scipy.linalg

from dags import SpecError, build
from dags.evaluate import block_values, evaluate, evaluate_nodes
from dags.families import (
    binary_tree_dag,
    fft_dag,
    matmul_dag,
    matvec_dag,
    path_dag,
    pyramid_dag,
    random_dag,
    random_layered_dag,
    stencil_dag,
)


def assert_sound(dag):
    """Valid, numbered topologically, every node in exactly one label block."""
    dag.validate()
    rows = np.repeat(np.arange(dag.num_nodes), dag.in_degree)
    assert (dag.indices < rows).all()
    covered = np.zeros(dag.num_nodes, int)
    for b in dag.labels.blocks:
        covered[b.start:b.start + b.size] += 1
    assert (covered == 1).all()


def preds(dag, label):
    return [dag.label(u) for u in dag.predecessors(dag.node(label))]


@pytest.mark.parametrize("k", [0, 1, 2, 3, 6])
def test_fft(k):
    g = fft_dag(k)
    assert_sound(g)
    size = 2 ** k
    assert (g.num_nodes, g.num_edges, g.sources.size, g.outputs.size) == ((k + 1) * size, k * 2 * size, size, size)
    x = np.random.default_rng(k).standard_normal(size)
    assert np.allclose(evaluate(g, x), scipy.linalg.hadamard(size) @ x)


def test_fft_butterflies():
    g = fft_dag(3)
    assert preds(g, "x2[1]") == ["x1[1]", "x1[3]"] and preds(g, "x2[3]") == ["x1[1]", "x1[3]"]
    assert g.ops[g.node("x2[1]")] == 1 and g.ops[g.node("x2[3]")] == 3  # add, sub
    assert preds(g, "x3[6]") == ["x2[2]", "x2[6]"]


@pytest.mark.parametrize("n,m", [(1, 1), (2, 1), (3, 3), (4, 7), (9, 2)])
@pytest.mark.parametrize("sums", ["chain", "tree"])
def test_matvec(n, m, sums):
    g = matvec_dag(n, m, sums=sums)
    assert_sound(g)
    assert (g.num_nodes, g.num_edges) == (n * m + m + n * m + n * (m - 1), 2 * n * m + 2 * n * (m - 1))
    rng = np.random.default_rng(n + m)
    A, x = rng.standard_normal((n, m)), rng.standard_normal(m)
    assert np.allclose(evaluate(g, {"A": A, "x": x}), A @ x)


def test_matvec_spec_example():
    g = build("matvec:n=3")
    assert (g.num_nodes, g.sources.size, g.labels.block("P").size) == (27, 12, 9)
    assert int((g.ops == 1).sum()) == 6
    assert preds(g, "P[2,1]") == ["A[2,1]", "x[1]"] and preds(g, "y[2]") == ["y_acc[2,0]", "P[2,2]"]


@pytest.mark.parametrize("n,k,m", [(1, 1, 1), (2, 2, 2), (3, 1, 2), (2, 5, 3), (4, 4, 4), (5, 8, 2)])
@pytest.mark.parametrize("sums", ["chain", "tree"])
def test_matmul(n, k, m, sums):
    g = matmul_dag(n, k, m, sums=sums)
    assert_sound(g)
    assert (g.num_nodes, g.num_edges) == (n * k + k * m + n * m * k + n * m * (k - 1), 2 * n * m * k + 2 * n * m * (k - 1))
    assert g.outputs.size == n * m
    rng = np.random.default_rng(n * k * m)
    A, B = rng.standard_normal((n, k)), rng.standard_normal((k, m))
    values = evaluate(g, {"A": A, "B": B})
    C = values.reshape(n, m) if k == 1 else block_values(g, values, "C")
    assert np.allclose(C, A @ B)


def test_matmul_layout_and_depth():
    g = matmul_dag(2, 8, 3)
    assert preds(g, "P[1,2,5]") == ["A[1,5]", "B[5,2]"]
    assert preds(g, "C[1,2]") == ["C_acc[1,2,5]", "P[1,2,7]"]
    assert g.levels.max() == 1 + 7
    t = matmul_dag(2, 8, 3, sums="tree")
    assert [b.name for b in t.labels.blocks] == ["A", "B", "P", "C_r1", "C_r2", "C"]
    assert t.levels.max() == 1 + 3


@pytest.mark.parametrize("n,t", [(1, 0), (1, 3), (2, 2), (8, 4), (13, 9)])
def test_stencil(n, t):
    g = stencil_dag(n, t)
    assert_sound(g)
    assert (g.num_nodes, g.num_edges, g.sources.size, g.outputs.size) == ((t + 1) * n, t * (3 * n - 2), n, n)
    u = np.random.default_rng(n).standard_normal(n)
    ref = u.copy()
    for _ in range(t):
        padded = np.concatenate([[0.0], ref, [0.0]])
        counts = np.full(n, 3.0)
        counts[0] -= 1
        counts[-1] -= 1
        ref = (padded[:-2] + padded[1:-1] + padded[2:]) / np.maximum(counts, 1)
    assert np.allclose(evaluate(g, u), ref)


def test_stencil_operands():
    g = stencil_dag(5, 2)
    assert preds(g, "u[1,0]") == ["u[0,0]", "u[0,1]"]
    assert preds(g, "u[2,2]") == ["u[1,1]", "u[1,2]", "u[1,3]"]
    assert g.coef[g.node("u[2,2]")] == pytest.approx(1 / 3) and g.coef[g.node("u[2,4]")] == 0.5


@pytest.mark.parametrize("layers,width,p,max_in,seed", [(1, 3, 0.5, 2, 0), (4, 4, 0.5, 2, 0), (6, 10, 0.9, 3, 1),
                                                        (5, 7, 0.05, 4, 2), (3, 2, 1.0, 5, 3)])
def test_random_layered(layers, width, p, max_in, seed):
    g = random_layered_dag(layers, width, p=p, max_in_degree=max_in, seed=seed)
    assert_sound(g)
    assert g.num_nodes == layers * width
    assert (layers - 1) * width <= g.num_edges <= (layers - 1) * width * min(width, max_in)
    assert g.sources.tolist() == list(range(width))  # every later node has an operand
    rows = np.repeat(np.arange(g.num_nodes), g.in_degree)
    assert (rows // width - g.indices // width == 1).all()  # edges join consecutive rows
    again = random_layered_dag(layers, width, p=p, max_in_degree=max_in, seed=seed)
    assert np.array_equal(again.indices, g.indices) and np.array_equal(again.indptr, g.indptr)


def test_random_layered_seed_and_density():
    a, b = random_layered_dag(8, 8, seed=0), random_layered_dag(8, 8, seed=1)
    assert not np.array_equal(a.indices, b.indices)
    dense = random_layered_dag(8, 8, p=1.0, max_in_degree=8)
    assert dense.num_edges == 7 * 64
    sparse = random_layered_dag(8, 8, p=1e-9, max_in_degree=8)
    assert sparse.num_edges == 7 * 8
    g = build("layered:layers=4,width=4,seed=0")
    assert g.num_nodes == 16 and g.meta["seed"] == 0


@pytest.mark.parametrize("h", [0, 1, 4])
def test_classic_families_are_sound(h):
    for g in (path_dag(h + 1), pyramid_dag(h), binary_tree_dag(h)):
        assert_sound(g)
    x = np.arange(h + 1.0)
    assert evaluate(pyramid_dag(h), x)[0] == pytest.approx(sum(x[i] * math.comb(h, i) for i in range(h + 1)))
    assert evaluate_nodes(path_dag(h + 1), [2.0]).tolist() == [2.0] * (h + 1)


@pytest.mark.parametrize("spec,message", [
    ("fft:k=-1", "argument 'k' must be an integer >= 0, got -1"),
    ("matvec:n=0", "argument 'n' must be an integer >= 1, got 0"),
    ("matvec:n=2,m=0", "argument 'm' must be an integer >= 1, got 0"),
    ("matmul:n=2,k=0,m=2", "argument 'k' must be an integer >= 1, got 0"),
    ("matmul:n=2,k=2,m=2,sums=ring", "argument 'sums' must be one of 'chain', 'tree', got 'ring'"),
    ("stencil:n=0,t=2", "argument 'n' must be an integer >= 1, got 0"),
    ("stencil:n=3,t=-2", "argument 't' must be an integer >= 0, got -2"),
    ("layered:layers=0,width=2", "argument 'layers' must be an integer >= 1, got 0"),
    ("layered:layers=2,width=2,p=1.5", "argument 'p' must be a probability in"),
    ("layered:layers=2,width=2,max_in_degree=0", "argument 'max_in_degree' must be an integer >= 1, got 0"),
    ("matmul:n=2,k=2,m=2,shape=3", "unknown parameter 'shape'; accepted: n, k, m, sums"),
    ("torus:n=2", "unknown DAG family 'torus'"),
])
def test_bad_parameters_name_the_argument(spec, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(")):
        build(spec)


def edges(g):
    return sorted((int(u), v) for v in range(g.num_nodes) for u in g.predecessors(v))


@pytest.mark.parametrize("n, kw", [
    (1, {}), (6, {"operands": [2], "sources": 2}), (12, {"p": 0.4, "max_in_degree": 2}),
    (9, {"operands": [0, 1, 3], "shuffle": True}), (10, {"p": 1.0, "sources": 3}),
])
def test_random_dag(n, kw):
    g = random_dag(n, seed=4, **kw)
    assert g.num_nodes == n and g.meta["family"] == "random"
    again = random_dag(n, seed=4, **kw)
    assert edges(g) == edges(again)
    assert g.max_in_degree <= max(kw.get("operands", [kw.get("max_in_degree") or n]))
    assert (g.in_degree > 0).sum() <= n - kw.get("sources", 0)
    if kw.get("p") == 1.0:  # every forward pair after the sources
        assert g.num_edges == sum(range(kw["sources"], n))
    if "operands" in kw and not kw.get("shuffle"):  # min(v, c) operands for each node after the sources
        c = kw["operands"][0] if len(kw["operands"]) == 1 else None
        if c is not None:
            assert g.num_edges == sum(min(v, c) for v in range(kw["sources"], n))


def test_random_dag_seed_shuffle_and_errors():
    assert edges(random_dag(12, seed=0)) != edges(random_dag(12, seed=1))
    shuffled = random_dag(12, p=0.6, shuffle=True, seed=2)
    assert any(u > v for u, v in edges(shuffled))  # ids are no longer topological
    for kw, message in [({"p": 1.5}, "argument 'p'"), ({"operands": []}, "argument 'operands'"),
                        ({"seed": 0.5}, "argument 'seed'"), ({"max_in_degree": -1}, "argument 'max_in_degree'")]:
        with pytest.raises(ValueError, match=message):
            random_dag(5, **kw)
