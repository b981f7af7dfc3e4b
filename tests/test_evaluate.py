import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dags import DAG, Labels, build
from dags.attention import attention_dag, softmax_attention
from dags.evaluate import EvaluationError, block_values, evaluate, evaluate_nodes, reference_evaluate_nodes


def every_op_dag():
    # 0..2 inputs; 3 add(0,1,2); 4 mul(0,1,2); 5 sub(3,4); 6 div(5,1); 7 exp(6); 8 max(0,7,2); 9 square(8)
    edges = [(0, 3), (1, 3), (2, 3), (0, 4), (1, 4), (2, 4), (3, 5), (4, 5), (5, 6), (1, 6), (6, 7),
             (0, 8), (7, 8), (2, 8), (8, 9)]
    ops = ["input"] * 3 + ["add", "mul", "sub", "div", "exp", "max", "square"]
    coef = [1, 1, 1, 2.0, -1.0, 0.5, 3.0, 0.25, 1, 1.5]
    const = [0, 0, 0, 1.0, 0.5, -2.0, 0.0, 0.1, 0, -1.0]
    return DAG.from_edges(10, edges, ops=ops, coef=coef, const=const, outputs=[9, 5],
                          labels=Labels([("x", 0, (3,)), ("y", 3, (7,))]))


def test_every_operation_by_hand():
    x0, x1, x2 = 0.3, -1.2, 2.0
    a = 2.0 * (x0 + x1 + x2) + 1.0
    m = -1.0 * (x0 * x1 * x2) + 0.5
    s = 0.5 * (a - m) - 2.0
    q = 3.0 * (s / x1)
    e = np.exp(0.25 * q + 0.1)
    mx = max(x0, e, x2)
    sq = 1.5 * mx ** 2 - 1.0
    g = every_op_dag()
    expected = [x0, x1, x2, a, m, s, q, e, mx, sq]
    assert np.allclose(evaluate_nodes(g, [x0, x1, x2]), expected, rtol=1e-15)
    assert np.allclose(reference_evaluate_nodes(g, [x0, x1, x2]), expected, rtol=1e-15)
    assert evaluate(g, {"x": [x0, x1, x2]}).tolist() == pytest.approx([s, sq])  # outputs in id order: 5, 9


def random_dag(seed):
    """A random DAG with every operation, mixed in-degrees and moderate values."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 60))
    sources = int(rng.integers(1, min(n, 8) + 1))
    edges, ops = [], ["input"] * sources
    for v in range(sources, n):
        op = rng.choice(["add", "mul", "sub", "div", "exp", "max", "square"])
        arity = {"sub": 2, "div": 2, "exp": 1, "square": 1}.get(op, int(rng.integers(1, 5)))
        arity = min(arity, v)
        if op in ("sub", "div") and arity < 2:
            op = "add"
        ops.append(op)
        for u in rng.choice(v, size=arity, replace=False):
            edges.append((int(u), v))
    coef = rng.uniform(0.2, 0.6, n)
    const = rng.uniform(-0.5, 0.5, n)
    return DAG.from_edges(n, edges, ops=ops, coef=coef, const=const), rng.uniform(0.5, 1.5, sources)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2 ** 32 - 1))
@example(3933)  # an exp that overflows: both evaluations must give inf, neither may raise
def test_vectorised_matches_reference(seed):
    g, x = random_dag(seed)
    fast = evaluate_nodes(g, x)
    slow = np.array(reference_evaluate_nodes(g, x))
    finite = np.isfinite(slow)
    assert np.array_equal(finite, np.isfinite(fast))
    assert np.allclose(fast[finite], slow[finite], rtol=1e-12, atol=0)


@pytest.mark.parametrize("spec", ["layered:layers=6,width=9,p=0.7,max_in_degree=4,seed=3", "stencil:n=6,t=5",
                                  "fft:k=4", "matmul:n=3,k=5,m=2,sums=tree", "attention:n=3,d=2,softmax=safe",
                                  "approx:n=5,d=2,g=3,sums=tree"])
def test_families_match_reference(spec):
    g = build(spec)
    x = np.random.default_rng(0).uniform(-1, 1, g.sources.size)
    assert np.allclose(evaluate_nodes(g, x), reference_evaluate_nodes(g, x), rtol=1e-12, atol=1e-14)


def test_input_forms_agree():
    g = attention_dag(3, 2)
    Q, K, V = np.random.default_rng(1).standard_normal((3, 3, 2))
    by_block = evaluate(g, {"Q": Q, "K": K, "V": V})
    by_source = evaluate(g, np.concatenate([Q.ravel(), K.ravel(), V.ravel()]))
    assert np.array_equal(by_block, by_source)
    assert np.allclose(block_values(g, by_block, "O"), softmax_attention(Q, K, V))
    everything = evaluate_nodes(g, {"Q": Q, "K": K, "V": V})
    assert np.array_equal(block_values(g, everything, "O"), block_values(g, by_block, "O"))
    assert np.allclose(block_values(g, everything, "S"), Q @ K.T)


@pytest.mark.parametrize("inputs,message", [
    ({"Q": np.zeros((2, 2)), "K": np.zeros((2, 2))}, r"no value for source V\[0,0\] \(4 source"),
    ({"Q": np.zeros((2, 2)), "K": np.zeros((2, 2)), "V": np.zeros((2, 3))}, r"block 'V' has shape \(2, 2\)"),
    ({"Q": np.zeros((2, 2)), "K": np.zeros((2, 2)), "V": np.zeros((2, 2)), "X": 1}, "no block 'X'; input blocks: Q, K, V"),
    ({"P": np.zeros((2, 2, 2))}, "block 'P' holds computed nodes"),
    (np.zeros(5), r"expected 12 values \(one per source\), got shape \(5,\)"),
])
def test_bad_inputs(inputs, message):
    with pytest.raises(EvaluationError, match=message):
        evaluate(attention_dag(2, 2), inputs)


def test_opaque_dag_has_no_numbers():
    g = DAG.from_edges(3, [(0, 2), (1, 2)])
    with pytest.raises(EvaluationError, match="node 2 has operation 'opaque'"):
        evaluate(g, [1.0, 2.0])


def test_block_values_errors():
    g = attention_dag(2, 2)
    values = evaluate(g, np.ones(12))
    with pytest.raises(EvaluationError, match="block 'S' is not made of outputs"):
        block_values(g, values, "S")
    with pytest.raises(EvaluationError, match=r"expected 46 \(every node\) or 4 \(the outputs\) values, got shape \(3,\)"):
        block_values(g, values[:3], "O")


def test_division_by_zero_follows_ieee():
    g = DAG.from_edges(3, [(0, 2), (1, 2)], ops=["input", "input", "div"])
    assert evaluate(g, [1.0, 0.0]).tolist() == [np.inf]


@pytest.mark.slow
def test_medium_attention_evaluates_exactly():
    n, d = 256, 8
    g = attention_dag(n, d)
    Q, K, V = np.random.default_rng(2).uniform(-1, 1, (3, n, d))
    O = block_values(g, evaluate(g, {"Q": Q, "K": K, "V": V}), "O")
    ref = softmax_attention(Q, K, V)
    assert np.abs(O - ref).max() / np.abs(ref).max() < 1e-12
