"""Family bounds: matmul, exact attention, approximate attention; formulas, coverage, schedules above them."""

import math

import numpy as np
import pytest

from dags import build
from proofs import best_lower, bounds_for
from proofs.approx import approx_bound, approx_shape, feature_factors
from proofs.attention import attention_bound, attention_shape, attention_work
from proofs.generic import trivial_bound
from proofs.matmul import matmul_bound, matmul_shape
from proofs.partition import loomis_whitney_work, phase_bound


def brute_phase_bound(count, M, work, max_phase):
    """Phases of R I/Os, each holding a whole number of events: at most floor(work(2M + R))."""
    def events(R):
        return max(1, math.floor(min(work(2 * M + R), count) + 1e-9))

    return max(R * (math.ceil(count / events(R) - 1e-9) - 1) for R in range(1, max_phase + 1))


@pytest.mark.parametrize("count,M", [(1, 3), (100, 3), (4096, 4), (16384, 16), (10 ** 6, 100)])
def test_phase_bound_is_the_maximum_over_phase_lengths(count, M):
    for work in (loomis_whitney_work, lambda K: K * K / 32):
        value, R, W = phase_bound(count, M, work, max_phase=20 * M)
        assert value == max(0, brute_phase_bound(count, M, work, 20 * M))
        assert value == max(0, R * (math.ceil(count / W - 1e-9) - 1))


def test_loomis_whitney_work_is_the_maximum_of_the_product():
    # sqrt(x y z) over integers x + y + z <= K never exceeds (K/3)^1.5, and reaches it at K/3 each
    for K in (3, 7, 12, 30):
        best = max(math.sqrt(x * y * (K - x - y)) for x in range(K + 1) for y in range(K + 1 - x))
        assert best <= loomis_whitney_work(K) + 1e-9
    assert loomis_whitney_work(12) == pytest.approx(8.0)


def test_attention_work_has_both_regimes():
    d = 4
    K = np.array([12.0, 4 * 64.0])  # a small phase: square tiling; a large one: FlashAttention
    W = attention_work(K, d)
    assert W[0] == pytest.approx((12 / 3) ** 1.5) and W[1] == pytest.approx(256 ** 2 / 64)
    # the brute-force maximum of sqrt((e + q k / d^2) v s) over e + q + k + v + s <= K
    for K in (10, 20):
        best = 0.0
        for e in range(K + 1):
            for q in range(K + 1 - e):
                for k in range(K + 1 - e - q):
                    for v in range(K + 1 - e - q - k):
                        s = K - e - q - k - v
                        best = max(best, math.sqrt((e + q * k / d ** 2) * v * s))
        assert best <= attention_work(K, d) + 1e-9


@pytest.mark.parametrize("spec", ["matmul:n=2,k=3,m=4", "matmul:n=3,k=3,m=3,sums=tree", "matvec:n=4,m=3"])
def test_matmul_covers_intact_products(spec):
    g = build(spec)
    n, k, m = matmul_shape(g)
    products = [v for v in range(g.num_nodes) if g.in_degree[v] > 0 and np.all(g.in_degree[g.predecessors(v)] == 0)]
    assert len(products) == n * k * m
    # another output set, or another family, is not covered
    assert matmul_shape(g.with_outputs(g.outputs[:-1])) is None
    assert matmul_shape(build("pyramid:h=3")) is None and attention_shape(g) is None and approx_shape(g) is None


@pytest.mark.parametrize("spec", ["attention:n=3,d=2", "attention:n=1,d=1", "attention:n=2,d=3,sums=tree",
                                  "attention:n=3,d=2,softmax=safe"])
def test_attention_covers_every_layout(spec):
    g = build(spec)
    assert attention_shape(g) == (g.meta["n"], g.meta["d"])
    # another output set (one output fewer, or a node that is not an output) is not covered
    other = g.outputs[1:] if g.outputs.size > 1 else [g.num_nodes - 2]
    assert attention_shape(g.with_outputs(other)) is None


@pytest.mark.parametrize("spec", ["approx:n=4,d=2,g=2", "approx:n=1,d=1,g=1", "approx:n=3,d=2,g=3,sums=tree"])
def test_approx_covers_and_its_trivial_bound_is_4nd(spec):
    g = build(spec)
    n, d, gdeg, F = approx_shape(g)
    assert F == g.meta["R"] - 1 and trivial_bound(g, 4).value == 4 * n * d
    assert approx_shape(build("approx:n=4,d=2,g=0")) is None  # the constant kernel has no products


def test_feature_factors():
    assert feature_factors(256, 4, 3, 34) == (8.5, 1.0)  # F/d = 8.5 > C(5, 1) = 5
    assert feature_factors(8, 2, 4, 14) == (7.0, 14 / 8)  # F/d = 7 > C(4, 2) = 6; F > n
    assert feature_factors(64, 8, 2, 44) == (5.5, 1.0)
    assert feature_factors(9, 1, 5, 5)[0] == 5  # d = 1: F/d = 5 > C(4, 3) = 4


@pytest.mark.parametrize("n,k,m,M", [(16, 16, 16, 4), (24, 24, 24, 16), (32, 8, 16, 9)])
def test_matmul_closed_form(n, k, m, M):
    b = matmul_bound(build(f"matmul:n={n},k={k},m={m}"), M)
    assert b.value >= math.sqrt(2) * n * k * m / math.sqrt(M) - 4 * M
    assert b.holds_in("base", sliding=True) and b.parameters["products"] == n * k * m


@pytest.mark.parametrize("n,d,M", [(64, 4, 8), (64, 4, 16), (64, 4, 25), (64, 4, 64), (32, 2, 64), (128, 8, 160)])
def test_attention_closed_forms_in_both_regimes(n, d, M):
    b = attention_bound(build(f"attention:n={n},d={d}"), M)
    if 81 * M <= 128 * d * d:
        assert b.value >= math.sqrt(2) * n * n * d / math.sqrt(M) - 4 * M
        assert "closed form sqrt(2)" in b.formula
    if 27 * M >= 64 * d * d:
        assert b.value >= 2 * n * n * d * d / M - 2 * M
        assert f"closed form 2*{n}^2" in b.formula
    assert ("FlashAttention regime" in b.assumptions.regime) == b.parameters["flash_regime"]


def test_attention_regime_follows_M():
    g = build("attention:n=64,d=4")
    assert not attention_bound(g, 8).parameters["flash_regime"]
    assert attention_bound(g, 64).parameters["flash_regime"]


@pytest.mark.parametrize("spec,M", [("approx:n=256,d=4,g=3", 8), ("approx:n=1024,d=8,g=2", 16)])
def test_approx_closed_form_and_regime(spec, M):
    g = build(spec)
    b = approx_bound(g, M)
    rho, sigma = b.parameters["rho"], b.parameters["sigma"]
    assert b.value >= math.sqrt(2) * b.parameters["products"] / math.sqrt(rho * sigma * M) - 4 * M
    assert b.value > trivial_bound(g, M).value  # below F d / 8 the partition bound beats 4nd


@pytest.mark.parametrize("spec,Ms", [
    ("matmul:n=8,k=8,m=8", (3, 8, 32)),
    ("matmul:n=6,k=5,m=4,sums=tree", (3, 9)),
    ("attention:n=16,d=2", (4, 8, 16, 64)),
    ("attention:n=12,d=4", (8, 24, 80)),
    ("approx:n=64,d=2,g=2", (8, 16, 32)),
    ("approx:n=64,d=4,g=3", (8, 16, 64, 256)),
])
def test_every_lower_bound_is_below_every_verified_schedule(spec, Ms):
    g = build(spec)
    # the one-shot game adds the generic bounds (spectral, min-cut), on the smaller DAGs
    variants = ("base", "one-shot") if g.num_nodes < 1500 else ("base",)
    for M in Ms:
        for variant in variants:
            found = bounds_for(g, M, variant=variant)
            uppers = [b for b in found if b.kind == "upper"]
            assert uppers, f"no strategy schedules {spec} at M={M}"
            top = best_lower(found)
            for up in uppers:
                assert top.value <= up.value, f"{spec} M={M} {variant}: {top} above {up}"


def test_lower_bounds_never_increase_with_M():
    for spec in ("matmul:n=8,k=8,m=8", "attention:n=16,d=2", "approx:n=128,d=4,g=3"):
        g = build(spec)
        values = [best_lower(bounds_for(g, M, kind="lower")).value for M in (8, 16, 32, 64, 128)]
        assert values == sorted(values, reverse=True), (spec, values)
