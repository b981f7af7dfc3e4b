"""Alman-Song schedules: verified, and their I/O equal to the closed forms."""

import itertools

import pytest

from dags.attention import approx_attention_dag, attention_dag
from pebble import verify
from pebble.strategies import MemoryTooSmall, StrategyError, approx_schedule
from pebble.strategies.approx import (
    column_blocked_io,
    column_blocked_memory,
    column_blocked_schedule,
    small_cache_io,
    small_cache_memory,
    small_cache_schedule,
    small_cache_tile,
    streaming_io,
    streaming_memory,
    streaming_schedule,
)
from proofs import trivial_lower_bound

CASES = list(itertools.product([1, 2, 3, 5], [1, 2, 3, 4], [1, 2, 3]))


def features(g):
    return g.meta["R"] - 1


def check(dag, schedule, M, io, variants=("base", "one-shot")):
    for variant in variants:
        report = verify(dag, schedule, M, variant=variant)
        assert report.valid, (dag.name, M, variant, report)
        assert report.io == io, (dag.name, M, report.io, io)
    return report


@pytest.mark.parametrize("n, d, g", CASES)
def test_streaming_meets_the_trivial_bound(n, d, g):
    dag = approx_attention_dag(n, d, g)
    M = streaming_memory(d, features(dag))
    report = check(dag, streaming_schedule(dag, M), M, streaming_io(n, d))
    assert report.io == 4 * n * d == trivial_lower_bound(dag)
    if n >= 2 and features(dag) >= 2:
        assert report.peak_red == M


@pytest.mark.parametrize("n, d, g", [c for c in CASES if c[0] >= 2])
def test_column_blocked(n, d, g):
    dag = approx_attention_dag(n, d, g)
    F = features(dag)
    for w in range(1, d + 1):
        M = column_blocked_memory(d, F, w)
        io = 2 * n * d + 2 * n * d * -(-d // w)
        assert column_blocked_io(n, d, w) == io
        # Several blocks recompute the features: base game only.
        report = check(dag, column_blocked_schedule(dag, M), M, io, ("base",) if w < d else ("base", "one-shot"))
        if F >= 2:
            assert report.peak_red == M
        if w < d:
            assert not verify(dag, column_blocked_schedule(dag, M), M, variant="one-shot").valid


@pytest.mark.parametrize("n, d, g", CASES)
def test_small_cache(n, d, g):
    dag = approx_attention_dag(n, d, g)
    F = features(dag)
    for b in range(1, 6):
        M = small_cache_memory(n, d, F, b, g)
        used = small_cache_tile(n, d, F, g, M)
        assert used >= min(b, max(n, F + 1, d + 1))
        report = check(dag, small_cache_schedule(dag, M), M, small_cache_io(n, d, F, used))
        if n >= 2:
            assert report.peak_red == M
        check(dag, small_cache_schedule(dag, M, block=b), M, small_cache_io(n, d, F, b))


def test_small_cache_closed_form():
    # n = 16, d = 4, g = 2 (F = 14), b = 3, term by term.
    n, d, F, b = 16, 4, 14, 3
    features_io = 2 * n * d + 2 * n * (F - d)
    w_tiles = n * (F * 2 + d * 5) + F * d + F + d
    outputs = n * F * (1 + 2) + 6 * (F + F * d + d) + n * d
    assert small_cache_io(n, d, F, b) == features_io + w_tiles + outputs


def test_mode_follows_memory():
    dag = approx_attention_dag(8, 4, 2)  # F = 14
    F = 14
    top = streaming_memory(4, F)
    assert top == 14 * 6 + 11
    cases = [(top, streaming_io(8, 4)), (column_blocked_memory(4, F, 2), column_blocked_io(8, 4, 2)),
             (column_blocked_memory(4, F, 1), column_blocked_io(8, 4, 1))]
    for M, io in cases:
        assert verify(dag, approx_schedule(dag, M), M).io == io
    M = column_blocked_memory(4, F, 1) - 1
    assert verify(dag, approx_schedule(dag, M), M).io == small_cache_io(8, 4, F, small_cache_tile(8, 4, F, 2, M))
    # Forced modes, and their errors.
    assert verify(dag, approx_schedule(dag, top, mode="small-cache"), top).valid
    with pytest.raises(MemoryTooSmall, match=rf"needs M >= {top}"):
        approx_schedule(dag, top - 1, mode="streaming")
    with pytest.raises(StrategyError, match="argument 'mode'"):
        approx_schedule(dag, top, mode="fast")
    with pytest.raises(StrategyError, match="argument 'block'"):
        approx_schedule(dag, top, mode="streaming", block=2)


def test_smallest_memory_is_named_and_works():
    dag = approx_attention_dag(6, 3, 2)
    smallest = small_cache_memory(6, 3, 9, 1, 2)
    with pytest.raises(MemoryTooSmall, match=rf"needs M >= {smallest} .* got M = {smallest - 1}"):
        approx_schedule(dag, smallest - 1)
    assert verify(dag, approx_schedule(dag, smallest), smallest).valid


def test_wrong_dags():
    with pytest.raises(StrategyError, match="approximate attention DAG"):
        approx_schedule(attention_dag(2, 2), 100)
    with pytest.raises(StrategyError, match="g >= 1"):
        approx_schedule(approx_attention_dag(4, 2, 0), 100)
    with pytest.raises(StrategyError, match="sums='chain'"):
        approx_schedule(approx_attention_dag(4, 2, 2, sums="tree"), 100)
    with pytest.raises(StrategyError, match="n >= 2"):
        column_blocked_schedule(approx_attention_dag(1, 2, 2), column_blocked_memory(2, 5, 1))
