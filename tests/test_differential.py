"""The compiled verifier against the reference over random DAGs and move sequences.

Sequences come in two kinds: uniform random moves (almost always invalid
early) and guided random play (mostly legal moves, with an occasional random
one), so that deep states, every variant and every option are exercised.
Reports must be identical: counts, peak, the violation and its words.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dags import DAG, random_dag
from pebble import Verifier, reference_verify, verify
from pebble import rules as R
from pebble.moves import KINDS

VARIANTS = ["base", "one-shot", "nodel", "compcost", "one-shot+nodel"]


def small_dag(rng, n_max=9):
    n = int(rng.integers(1, n_max + 1))
    # Each forward pair an edge with probability 0.35; node ids need not be topological.
    dag = random_dag(n, p=0.35, shuffle=True, seed=int(rng.integers(2 ** 32)))
    if rng.random() < 0.3:
        dag = dag.with_outputs(rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False))
    return dag


def guided_moves(rng, dag, rules, length, p_random):
    """Random play that mostly picks legal moves (by the reference rules)."""
    state = R.State.initial(dag)
    codes = []
    n = dag.num_nodes
    for _ in range(length):
        if rng.random() < p_random:
            code = int(rng.integers(0, 4 * n + 4))  # may name a node out of range
            codes.append(code)
            kind, v = code & 3, code >> 2
            if R.check(dag, rules, state, kind, v) is not None:
                break
            R.apply(dag, rules, state, kind, v)
            continue
        legal = [(k, v) for v in range(n) for k in range(4) if R.check(dag, rules, state, k, v) is None]
        if not legal:
            break
        k, v = legal[int(rng.integers(len(legal)))]
        codes.append((v << 2) | k)
        R.apply(dag, rules, state, k, v)
    return np.asarray(codes, dtype=np.int64)


def random_game(rng):
    dag = small_dag(rng)
    variant = VARIANTS[int(rng.integers(len(VARIANTS)))]
    M = int(rng.integers(1, 6))
    kw = dict(variant=variant, sliding=bool(rng.random() < 0.3), strict=bool(rng.random() < 0.8))
    return dag, M, kw


def assert_same(dag, codes, M, kw):
    fast = verify(dag, codes, M, **kw)
    ref = reference_verify(dag, codes, M, **kw)
    assert fast == ref, (dag, codes.tolist(), M, kw)
    return fast


def test_thousands_of_random_games():
    rng = np.random.default_rng(2024)
    outcomes = {}
    for _ in range(3000):
        dag, M, kw = random_game(rng)
        rules = R.Rules.make(M, **kw)
        if rng.random() < 0.3:
            codes = rng.integers(0, 4 * dag.num_nodes + 2, size=int(rng.integers(0, 30))).astype(np.int64)
        else:
            codes = guided_moves(rng, dag, rules, int(rng.integers(1, 60)), p_random=0.03)
        r = assert_same(dag, codes, M, kw)
        key = "valid" if r.valid else r.violation.rule
        outcomes[key] = outcomes.get(key, 0) + 1
    # the sample must reach every verdict, or it tests less than it claims
    for rule in ["valid", "R1 load", "R2 store", "R3 compute", "capacity", "redundant", "one-shot", "nodel",
                 "sliding", "goal", "node"]:
        assert outcomes.get(rule, 0) > 0, (rule, outcomes)


def test_chunked_feeding_matches_whole():
    rng = np.random.default_rng(7)
    for _ in range(300):
        dag, M, kw = random_game(rng)
        codes = guided_moves(rng, dag, R.Rules.make(M, **kw), 40, p_random=0.02)
        whole = verify(dag, codes, M, **kw)
        cuts = np.sort(rng.integers(0, codes.size + 1, size=3))
        chunks = np.split(codes, cuts)
        assert verify(dag, iter(chunks), M, **kw) == whole
        v = Verifier(dag, M, **kw)
        for c in chunks:
            v.feed(c)
        assert v.finish() == whole


@st.composite
def games(draw):
    n = draw(st.integers(1, 7))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=14))
    edges = sorted({(min(u, v), max(u, v)) for u, v in edges if u != v})
    dag = DAG.from_edges(n, edges)
    moves = draw(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, n - 1)), max_size=25))
    M = draw(st.integers(1, 5))
    variant = draw(st.sampled_from(VARIANTS))
    sliding = draw(st.booleans())
    strict = draw(st.booleans())
    return dag, moves, M, dict(variant=variant, sliding=sliding, strict=strict)


@settings(max_examples=400, deadline=None)
@given(games())
def test_hypothesis_random_moves(game):
    dag, moves, M, kw = game
    codes = np.asarray([(v << 2) | KINDS.index(k) for k, v in moves], dtype=np.int64)
    assert_same(dag, codes, M, kw)


@pytest.mark.parametrize("seed", range(3))
def test_longer_games_on_larger_dags(seed):
    rng = np.random.default_rng(100 + seed)
    for _ in range(20):
        n = 40
        edges = [(u, v) for v in range(n) for u in range(max(0, v - 6), v) if rng.random() < 0.4]
        dag = DAG.from_edges(n, edges)
        for variant in ["base", "one-shot", "nodel"]:
            M = int(rng.integers(2, 8))
            kw = dict(variant=variant, sliding=bool(rng.random() < 0.5))
            codes = guided_moves(rng, dag, R.Rules.make(M, **kw), 400, p_random=0.005)
            assert_same(dag, codes, M, kw)
