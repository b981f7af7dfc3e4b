import json
import math

import numpy as np
import pytest

from dags import SpecError, build, read_dag, write_dag
from dags.attention import (
    approx_attention_dag,
    attention_dag,
    attention_nodes,
    exp_coefficients,
    feature_count,
    output_error_bound,
    polynomial_attention,
    relative_error,
    softmax_attention,
)
from dags.evaluate import block_values, evaluate


def exact_counts(n, d, softmax="plain"):
    nodes = 3 * n * d + 2 * n * n * d + n * n * (d - 1) + n * n + n * (n - 1) + n * d * (n - 1) + n * d
    edges = (2 * n * n * d + 2 * n * n * (d - 1) + n * n + 2 * n * (n - 1) + 2 * n * n * d
             + 2 * n * d * (n - 1) + 2 * n * d)
    if softmax == "safe":
        nodes += n * (n - 1) + n * n + (n == 1)
        edges += 2 * n * (n - 1) + 2 * n * n + (n == 1)
    return nodes, edges


def approx_counts(n, d, g):
    if g == 0:
        return 3 * n * d + (n - 1) * d + n * d, 2 * (n - 1) * d + n * d
    F = math.comb(d + g, g) - 1
    inner = (4 * n - 1) * F * d + (5 * n - 1) * F - n - d
    edges = 2 * inner - (2 * n * d if g >= 2 else 0)
    if F == 1:
        inner, edges = inner + n, edges + n
    return 3 * n * d + inner, edges


def random_qkv(n, d, seed, bound=1.0):
    return np.random.default_rng(seed).uniform(-bound, bound, (3, n, d))


def outputs_of(dag, Q, K, V):
    return block_values(dag, evaluate(dag, {"Q": Q, "K": K, "V": V}), "O")


def rel_error(x, ref):
    return np.abs(x - ref).max() / np.abs(ref).max()


def assert_topological(dag):
    rows = np.repeat(np.arange(dag.num_nodes), dag.in_degree)
    assert (dag.indices < rows).all()


# -- structure ----------------------------------------------------------------

def test_attention_md_example():
    g = attention_dag(4, 2)
    assert (g.num_nodes, g.num_edges) == (164, 264)
    assert g.max_in_degree == 2 and g.min_memory() == 3


@pytest.mark.parametrize("sums", ["chain", "tree"])
@pytest.mark.parametrize("softmax", ["plain", "safe"])
@pytest.mark.parametrize("n,d", [(1, 1), (1, 3), (2, 1), (3, 2), (4, 5), (7, 3), (12, 8)])
def test_exact_counts_and_validity(n, d, sums, softmax):
    g = attention_dag(n, d, sums=sums, softmax=softmax)
    g.validate()
    assert_topological(g)
    assert (g.num_nodes, g.num_edges) == exact_counts(n, d, softmax)
    ids = attention_nodes(g)
    assert g.sources.tolist() == np.concatenate([ids[x].ravel() for x in "QKV"]).tolist()
    assert g.outputs.tolist() == ids["O"].ravel().tolist() == g.sinks.tolist()
    assert g.meta == {"family": "attention", "n": n, "d": d, "scale": 1 / math.sqrt(d), "sums": sums,
                      "softmax": softmax}


def test_exact_layout_operands():
    n, d = 3, 4
    g = attention_dag(n, d, scale=0.25)
    ids = attention_nodes(g)
    for i, j, l in [(0, 0, 0), (2, 1, 3), (1, 2, 2)]:
        v = ids["P"][i, j, l]
        assert g.label(v) == f"P[{i},{j},{l}]"
        assert [g.label(u) for u in g.predecessors(v)] == [f"Q[{i},{l}]", f"K[{j},{l}]"]
    # chain: S_acc[i,j,t] = S_acc[i,j,t-1] + P[i,j,t+1]; S[i,j] = S_acc[i,j,d-3] + P[i,j,d-1]
    assert [g.label(u) for u in g.predecessors(g.node("S_acc[1,2,0]"))] == ["P[1,2,0]", "P[1,2,1]"]
    assert [g.label(u) for u in g.predecessors(g.node("S_acc[1,2,1]"))] == ["S_acc[1,2,0]", "P[1,2,2]"]
    assert [g.label(u) for u in g.predecessors(g.node("S[1,2]"))] == ["S_acc[1,2,1]", "P[1,2,3]"]
    e = g.node("E[2,0]")
    assert [g.label(u) for u in g.predecessors(e)] == ["S[2,0]"] and g.coef[e] == 0.25
    assert [g.label(u) for u in g.predecessors(g.node("L_acc[0,0]"))] == ["E[0,0]", "E[0,1]"]
    assert [g.label(u) for u in g.predecessors(g.node("F[0,1,3]"))] == ["E[0,1]", "V[1,3]"]
    assert [g.label(u) for u in g.predecessors(g.node("N_acc[2,0,1]"))] == ["F[2,0,1]", "F[2,1,1]"]
    assert [g.label(u) for u in g.predecessors(g.node("N[2,1]"))] == ["N_acc[2,0,1]", "F[2,2,1]"]
    assert [g.label(u) for u in g.predecessors(g.node("O[2,3]"))] == ["N[2,3]", "L[2]"]
    blocks = [b.name for b in g.labels.blocks]
    assert blocks == ["Q", "K", "V", "P", "S_acc", "S", "E", "L_acc", "L", "F", "N_acc", "N", "O"]


def test_tree_sums_are_balanced():
    n, d = 5, 8
    chain, tree = attention_dag(n, d), attention_dag(n, d, sums="tree")
    names = [b.name for b in tree.labels.blocks]
    assert names[:7] == ["Q", "K", "V", "P", "S_r1", "S_r2", "S"]
    assert tree.labels.block("S_r1").shape == (n, n, 4) and tree.labels.block("S_r2").shape == (n, n, 2)
    assert tree.labels.block("L_r1").shape == (n, 2) and tree.labels.block("L_r2").shape == (n, 1)
    # L over 5 terms: ((E0+E1) + (E2+E3)) + E4
    assert [tree.label(u) for u in tree.predecessors(tree.node("L[3]"))] == ["L_r2[3,0]", "E[3,4]"]
    assert tree.levels[tree.node("S[0,0]")] == 1 + 3 and chain.levels[chain.node("S[0,0]")] == 1 + 7


def test_safe_softmax_layout():
    g = attention_dag(3, 2, softmax="safe")
    assert [g.label(u) for u in g.predecessors(g.node("Smax[1]"))] == ["Smax_acc[1,0]", "S[1,2]"]
    assert g.ops[g.node("Smax[1]")] == 6  # max
    assert [g.label(u) for u in g.predecessors(g.node("Sdiff[1,2]"))] == ["S[1,2]", "Smax[1]"]
    assert [g.label(u) for u in g.predecessors(g.node("E[1,2]"))] == ["Sdiff[1,2]"]
    one = attention_dag(1, 2, softmax="safe")
    assert [one.label(u) for u in one.predecessors(one.node("Smax[0]"))] == ["S[0,0]"]


def test_single_term_sums_have_no_block():
    g = attention_dag(1, 1)
    assert [b.name for b in g.labels.blocks] == ["Q", "K", "V", "P", "E", "F", "O"]
    ids = attention_nodes(g)
    assert ids["S"].tolist() == [[g.node("P[0,0,0]")]] and ids["L"].tolist() == [g.node("E[0,0]")]
    assert [g.label(u) for u in g.predecessors(g.node("O[0,0]"))] == ["F[0,0,0]", "E[0,0]"]


@pytest.mark.parametrize("n,d,g", [(1, 1, 0), (3, 2, 0), (1, 1, 1), (2, 1, 1), (4, 1, 1), (3, 2, 1), (1, 2, 2),
                                   (2, 1, 3), (5, 2, 2), (4, 3, 3), (6, 4, 2), (3, 3, 4)])
@pytest.mark.parametrize("sums", ["chain", "tree"])
def test_approx_counts_and_validity(n, d, g, sums):
    dag = approx_attention_dag(n, d, g, sums=sums)
    dag.validate()
    assert_topological(dag)
    assert (dag.num_nodes, dag.num_edges) == approx_counts(n, d, g)
    assert dag.sources.size == 3 * n * d
    ids = attention_nodes(dag)
    assert dag.sources.tolist() == np.concatenate([ids[x].ravel() for x in "QKV"]).tolist()
    assert dag.outputs.tolist() == ids["O"].ravel().tolist()
    assert dag.meta["R"] == feature_count(d, g) == len(dag.meta["features"]) + 1
    json.dumps(dag.meta)  # plain JSON values only


def test_approx_layout_operands():
    n, d, g = 3, 2, 3
    dag = approx_attention_dag(n, d, g, coefficients="taylor")
    assert dag.meta["features"] == [[0], [1], [0, 0], [0, 1], [1, 1], [0, 0, 0], [0, 0, 1], [0, 1, 1], [1, 1, 1]]
    blocks = [b.name for b in dag.labels.blocks]
    assert blocks == ["Q", "K", "V", "U2", "Wp", "W_acc", "W", "W0_acc", "W0", "Z_acc", "Z", "U1", "Np", "Num_acc",
                      "Num", "Dp", "Den_acc", "Den", "O"]

    def preds(label):
        return [dag.label(u) for u in dag.predecessors(dag.node(label))]

    # features: 0 -> K[.,0], 1 -> K[.,1], 2 -> U2[.,0] = K0^2, 3 -> U2[.,1] = K0 K1, 4 -> U2[.,2] = K1^2, ...
    assert preds("U2[1,0]") == ["K[1,0]"] and dag.ops[dag.node("U2[1,0]")] == 8  # square
    assert preds("U2[1,1]") == ["K[1,0]", "K[1,1]"]
    assert preds("U2[1,4]") == ["U2[1,0]", "K[1,1]"]  # K0 K0 K1 = K0^2 * K1
    assert preds("U2[1,5]") == ["U2[1,1]", "K[1,1]"]  # K0 K1 K1 = (K0 K1) * K1
    assert preds("U1[2,6]") == ["U1[2,2]", "Q[2,1]"]  # Q1^3 = Q1^2 * Q1
    assert preds("Wp[2,3,1]") == ["U2[2,1]", "V[2,1]"] and preds("Wp[0,1,0]") == ["K[0,1]", "V[0,0]"]
    assert preds("W_acc[0,3,1]") == ["Wp[0,3,1]", "Wp[1,3,1]"] and preds("W[3,1]") == ["W_acc[0,3,1]", "Wp[2,3,1]"]
    assert preds("W0[1]") == ["W0_acc[0,1]", "V[2,1]"]
    assert preds("Z_acc[0,0]") == ["K[0,0]", "K[1,0]"]
    assert preds("Np[1,4,0]") == ["U1[1,2]", "W[4,0]"]
    assert preds("Num_acc[1,0,0]") == ["W0[0]", "Np[1,0,0]"] and preds("Num[1,0]") == ["Num_acc[1,7,0]", "Np[1,8,0]"]
    assert preds("Dp[0,5]") == ["U1[0,3]", "Z[5]"]
    assert preds("Den[2]") == ["Den_acc[2,6]", "Dp[2,8]"] and dag.const[dag.node("Den[2]")] == n
    assert dag.const[dag.node("Den_acc[2,6]")] == 0
    assert preds("O[2,1]") == ["Num[2,1]", "Den[2]"]
    # weights: c_t * multinomial * scale^t / c_0 (Taylor: c_t = 1/t!)
    s = 1 / math.sqrt(d)
    assert dag.coef[dag.node("Np[0,3,1]")] == pytest.approx(2 * s ** 2 / 2)  # x0 x1: multinomial 2, c_2 = 1/2
    assert dag.coef[dag.node("Dp[0,7]")] == pytest.approx(3 * s ** 3 / 6)  # x0 x1^2: multinomial 3, c_3 = 1/6
    ids = attention_nodes(dag)
    assert ids["featK"].shape == (n, 9) and ids["featK"][1, 3] == dag.node("U2[1,1]")


def test_feature_counts():
    assert [feature_count(d, g) for d, g in [(2, 2), (4, 2), (4, 3), (8, 2), (1, 0), (3, 1)]] == [6, 15, 35, 45, 1, 4]
    for d, g in [(4, 2), (5, 3), (3, 4)]:
        assert approx_attention_dag(2, d, g).meta["R"] == math.comb(d + g, g)


# -- the polynomial -----------------------------------------------------------

@pytest.mark.parametrize("method", ["taylor", "chebyshev"])
@pytest.mark.parametrize("g", [0, 1, 2, 3, 5, 8])
@pytest.mark.parametrize("radius", [0.5, 2.0, 4.0])
def test_relative_error_is_the_maximum(method, g, radius):
    c = exp_coefficients(g, radius, method)
    x = np.linspace(-radius, radius, 200_001)
    grid = np.abs(np.polynomial.polynomial.polyval(x, c) * np.exp(-x) - 1).max()
    eps = relative_error(c, radius)
    assert grid <= eps * (1 + 1e-12) and eps <= grid * (1 + 1e-6)


def test_coefficients():
    assert exp_coefficients(3, 1.0).tolist() == [1.0, 1.0, 0.5, 1 / 6]
    c = exp_coefficients(4, 2.0, "chebyshev")
    nodes = 2.0 * np.cos((2 * np.arange(5) + 1) * np.pi / 10)  # Chebyshev points of the first kind
    assert np.allclose(np.polynomial.polynomial.polyval(nodes, c), np.exp(nodes), rtol=1e-13)
    for g in range(1, 8):  # Chebyshev interpolation beats the Taylor expansion on a wide interval
        assert relative_error(exp_coefficients(g, 2.0, "chebyshev"), 2.0) < relative_error(exp_coefficients(g, 2.0), 2.0)


def test_interval_from_bound():
    dag = approx_attention_dag(4, 2, 3, bound_B=1.5, scale=0.5, coefficients="chebyshev")
    assert dag.meta["interval"] == [-2.25, 2.25] and dag.meta["bound_B"] == 1.5
    assert dag.meta["eps"] == relative_error(dag.meta["coefficients"], 2.25)
    dag = approx_attention_dag(4, 2, 3, interval=3.0)
    assert dag.meta["interval"] == [-3.0, 3.0] and dag.meta["bound_B"] is None
    assert approx_attention_dag(4, 2, 3).meta["interval"] == pytest.approx([-math.sqrt(2), math.sqrt(2)])  # B = 1


# -- numbers ------------------------------------------------------------------

@pytest.mark.parametrize("n,d", [(1, 1), (2, 3), (5, 2), (8, 8), (17, 4), (32, 16)])
@pytest.mark.parametrize("sums", ["chain", "tree"])
@pytest.mark.parametrize("softmax", ["plain", "safe"])
def test_exact_attention_matches_numpy(n, d, sums, softmax):
    Q, K, V = random_qkv(n, d, seed=n * 100 + d, bound=2.0)
    g = attention_dag(n, d, sums=sums, softmax=softmax)
    assert rel_error(outputs_of(g, Q, K, V), softmax_attention(Q, K, V)) < 1e-12


def test_exact_attention_scale():
    Q, K, V = random_qkv(6, 3, seed=5)
    for scale in [1.0, 1 / 3, -0.7, 0.0]:
        g = attention_dag(6, 3, scale=scale)
        assert rel_error(outputs_of(g, Q, K, V), softmax_attention(Q, K, V, scale)) < 1e-12


def test_safe_softmax_survives_large_scores():
    Q, K, V = random_qkv(4, 2, seed=3)
    scale = 2000.0  # scores of several hundred: exp overflows without the shift
    ref = softmax_attention(Q, K, V, scale)
    safe = outputs_of(attention_dag(4, 2, scale=scale, softmax="safe"), Q, K, V)
    assert rel_error(safe, ref) < 1e-12
    plain = outputs_of(attention_dag(4, 2, scale=scale), Q, K, V)
    assert not np.isfinite(plain).all()


@pytest.mark.parametrize("n,d,g", [(1, 1, 1), (3, 1, 0), (4, 1, 3), (6, 2, 2), (16, 3, 3), (9, 4, 2), (40, 2, 5)])
@pytest.mark.parametrize("sums", ["chain", "tree"])
@pytest.mark.parametrize("method", ["taylor", "chebyshev"])
def test_approx_matches_polynomial_attention(n, d, g, sums, method):
    Q, K, V = random_qkv(n, d, seed=7 * n + d)
    dag = approx_attention_dag(n, d, g, sums=sums, coefficients=method, scale=0.8)
    ref = polynomial_attention(Q, K, V, dag.meta["coefficients"], 0.8)
    assert rel_error(outputs_of(dag, Q, K, V), ref) < 1e-10


def test_approx_error_against_exact_attention_falls_with_g():
    """Entries in [-B, B], Chebyshev coefficients on [-r, r], r = scale d B^2.

    Measured on this seed (n = 64, d = 4, B = 1, scale = 1/2, r = 2):

    ==  ====  ========  ========  =========================
    g   R     eps       error     bound 2 eps/(1-eps) max|V|
    ==  ====  ========  ========  =========================
    2   15    1.89      0.035     none (eps >= 1)
    3   35    0.501     0.012     2.0
    4   70    0.104     0.0022    0.23
    5   126   0.0177    4.8e-4    0.036
    6   210   0.00258   5.6e-5    0.0051
    7   330   3.28e-4   9.1e-6    6.5e-4
    ==  ====  ========  ========  =========================
    """
    n, d, B = 64, 4, 1.0
    Q, K, V = random_qkv(n, d, seed=11, bound=B)
    exact = softmax_attention(Q, K, V, 0.5)
    table = []
    for g in range(2, 8):
        dag = approx_attention_dag(n, d, g, bound_B=B, scale=0.5, coefficients="chebyshev")
        eps = dag.meta["eps"]
        err = np.abs(outputs_of(dag, Q, K, V) - exact).max()
        table.append((g, dag.meta["R"], eps, err))
        if eps < 1:
            assert err <= output_error_bound(eps, np.abs(V).max())
    eps_values = [row[2] for row in table]
    errors = [row[3] for row in table]
    assert eps_values == sorted(eps_values, reverse=True)
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-4
    assert table[0][2] > 1 and table[-1][2] < 1e-3


def test_json_roundtrip_keeps_the_numbers(tmp_path):
    dag = approx_attention_dag(5, 2, 2, coefficients="chebyshev")
    write_dag(dag, tmp_path / "a.json")
    back = read_dag(tmp_path / "a.json")
    Q, K, V = random_qkv(5, 2, seed=2)
    assert back.meta == dag.meta
    assert np.array_equal(outputs_of(back, Q, K, V), outputs_of(dag, Q, K, V))


# -- errors -------------------------------------------------------------------

@pytest.mark.parametrize("call,message", [
    (lambda: attention_dag(0, 2), "argument 'n' must be an integer >= 1, got 0"),
    (lambda: attention_dag(2, 0), "argument 'd' must be an integer >= 1, got 0"),
    (lambda: attention_dag(2, 2, sums="foo"), "argument 'sums' must be one of 'chain', 'tree', got 'foo'"),
    (lambda: attention_dag(2, 2, softmax="x"), "argument 'softmax' must be one of 'plain', 'safe'"),
    (lambda: attention_dag(2, 2, scale=float("inf")), "argument 'scale' must be a finite number"),
    (lambda: attention_dag(2.0, 2), "argument 'n' must be an integer"),
    (lambda: approx_attention_dag(2, 2, -1), "argument 'g' must be an integer >= 0, got -1"),
    (lambda: approx_attention_dag(2, 2, 1, coefficients="pade"), "argument 'coefficients' must be one of"),
    (lambda: approx_attention_dag(2, 2, 1, bound_B=0), "argument 'bound_B' must be a positive finite number"),
    (lambda: approx_attention_dag(2, 2, 1, interval=-1), "argument 'interval' must be a positive finite number"),
    (lambda: approx_attention_dag(2, 2, 1, bound_B=1, interval=1), "not both"),
    (lambda: approx_attention_dag(2, 2, 1, scale=0), "argument 'scale' must be nonzero"),
])
def test_bad_parameters(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call()


def test_bad_specs_name_the_argument():
    with pytest.raises(SpecError, match="argument 'n' must be an integer >= 1, got 0"):
        build("attention:n=0,d=2")
    with pytest.raises(SpecError, match="unknown parameter 'q'; accepted: n, d, g, bound_B, interval"):
        build("approx:n=2,d=2,g=1,q=3")
    with pytest.raises(SpecError, match="argument 'sums' must be one of 'chain', 'tree'"):
        build("approx:n=2,d=2,g=1,sums=foo")


def test_attention_nodes_rejects_other_dags():
    with pytest.raises(ValueError, match="not an attention DAG"):
        attention_nodes(build("pyramid:h=2"))


@pytest.mark.slow
def test_large_instances_have_the_closed_form_sizes():
    g = attention_dag(256, 8, sums="tree")
    assert (g.num_nodes, g.num_edges) == exact_counts(256, 8)
    assert_topological(g)
    a = approx_attention_dag(8192, 4, 3)
    assert (a.num_nodes, a.num_edges) == approx_counts(8192, 4, 3)
    assert_topological(a)
    assert np.array_equal(np.diff(a.indptr), a.in_degree) and a.in_degree.max() == 2
