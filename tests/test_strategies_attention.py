"""Exact-attention and matmul schedules: verified, and their I/O equal to the closed forms."""

import itertools

import numpy as np
import pytest

from dags import pyramid_dag
from dags.attention import attention_dag
from dags.families import matmul_dag
from pebble import verify, write_schedule
from pebble.strategies import (
    STRATEGIES,
    MemoryTooSmall,
    StrategyError,
    flash_schedule,
    naive_schedule,
    tiled_matmul_schedule,
    tiling_schedule,
)
from pebble.strategies.attention import (
    flash_block_rows,
    flash_io,
    flash_memory,
    naive_io,
    naive_memory,
    tiling_io,
    tiling_memory,
    tiling_tile,
)
from pebble.strategies.matmul import tiled_matmul_io, tiled_matmul_memory, tiled_matmul_tile

SIZES = list(itertools.product([1, 2, 3, 5, 8], [1, 2, 3, 5]))


def check(dag, schedule, M, io, peak=None):
    """Valid in the base and one-shot games, with the stated I/O (and peak, when given)."""
    for variant in ("base", "one-shot"):
        report = verify(dag, schedule, M, variant=variant)
        assert report.valid, report
        assert report.io == io, (dag.name, M, report.io, io)
        assert report.peak_red <= M
    if peak is not None:
        assert report.peak_red == peak, (dag.name, M, report.peak_red, peak)


@pytest.mark.parametrize("n, d", SIZES)
def test_naive(n, d):
    g = attention_dag(n, d)
    smallest = naive_memory(n, d)
    for M in (smallest, smallest + 7):
        check(g, naive_schedule(g, M), M, naive_io(n, d), smallest if n >= 2 and d >= 2 else None)
    assert naive_io(n, d) == 2 * n * n * d + 2 * n * n + 2 * n * d


@pytest.mark.parametrize("n, d", SIZES)
def test_flash(n, d):
    g = attention_dag(n, d)
    for B in range(1, n + 1):  # every block size, dividing n or not, from the smallest M up
        M = flash_memory(n, d, B)
        assert flash_block_rows(n, d, M) == B
        io = 2 * n * d + 2 * n * d * -(-n // B)
        assert flash_io(n, d, M) == io
        check(g, flash_schedule(g, M), M, io, M if n >= 2 else None)
        check(g, flash_schedule(g, M + 5, block=B), M + 5, io)


@pytest.mark.parametrize("n, d", SIZES)
def test_tiling(n, d):
    g = attention_dag(n, d)
    for b in range(1, max(n, d) + 1):
        M = tiling_memory(n, d, b)
        b_used = tiling_tile(n, d, M)
        check(g, tiling_schedule(g, M), M, tiling_io(n, d, M), M if n >= 2 and d >= 2 else None)
        check(g, tiling_schedule(g, M, block=b), M, tiling_io(n, d, block=b))
        assert b_used >= b


def test_tiling_io_closed_form():
    # n = 8, d = 16, b = 3: 3*8*16*3 + 64*(1 + 6) + 8*6 + 8*16 + 8
    assert tiling_io(8, 16, block=3) == 1152 + 448 + 48 + 128 + 8


def test_flash_scaling_and_saha_ye_regimes():
    # Above d^2 FlashAttention moves less than tiling; well below d^2 tiling wins.
    n = 16
    g = attention_dag(n, 2)
    assert verify(g, flash_schedule(g, 64), 64).io < verify(g, tiling_schedule(g, 64), 64).io
    d = 16
    g = attention_dag(8, d)
    M = 100  # < d^2
    assert verify(g, tiling_schedule(g, M), M).io < verify(g, flash_schedule(g, M), M).io


@pytest.mark.parametrize("n, k, m", [(1, 1, 1), (2, 1, 3), (3, 4, 2), (5, 3, 7), (8, 8, 8), (7, 2, 9)])
def test_tiled_matmul(n, k, m):
    g = matmul_dag(n, k, m)
    for M in sorted({5, 7, 10, 17, 26, 40, n * m + n + m + 2}):
        rows, cols = tiled_matmul_tile(n, m, M)
        io = n * k * -(-m // cols) + k * m * -(-n // rows) + n * m
        assert tiled_matmul_io(n, k, m, M) == io
        check(g, tiled_matmul_schedule(g, M), M, io, tiled_matmul_memory(rows, cols) if k >= 2 else None)
    check(g, tiled_matmul_schedule(g, 12, block=2), 12, tiled_matmul_io(n, k, m, block=2))


def test_matmul_leading_term():
    # 2 nkm / sqrt(M) + nm with square tiles that divide n and m exactly: M = (b+1)^2 + 1.
    n = k = m = 24
    for b in (2, 3, 4, 6):
        M = (b + 1) ** 2 + 1
        assert tiled_matmul_tile(n, m, M) == (b, b)
        assert tiled_matmul_io(n, k, m, M) == 2 * n * k * m // b + n * m


@pytest.mark.parametrize("name, spec_dag, smallest", [
    ("naive", attention_dag(4, 3), 10),
    ("flash", attention_dag(4, 3), 16),
    ("tiling", attention_dag(4, 3), 6),
    ("matmul-tiled", matmul_dag(3, 3, 3), 5),
])
def test_smallest_memory_is_named_and_works(name, spec_dag, smallest):
    with pytest.raises(MemoryTooSmall, match=rf"needs M >= {smallest} .* got M = {smallest - 1}"):
        STRATEGIES[name](spec_dag, smallest - 1)
    assert verify(spec_dag, STRATEGIES[name](spec_dag, smallest), smallest).valid


@pytest.mark.parametrize("name", ["naive", "flash", "tiling"])
def test_wrong_dags(name):
    with pytest.raises(StrategyError, match="exact attention DAG"):
        STRATEGIES[name](pyramid_dag(3), 50)
    with pytest.raises(StrategyError, match="sums='chain'"):
        STRATEGIES[name](attention_dag(3, 2, sums="tree"), 50)
    with pytest.raises(StrategyError, match="softmax='plain'"):
        STRATEGIES[name](attention_dag(3, 2, softmax="safe"), 50)


def test_bad_blocks():
    g = attention_dag(6, 2)
    with pytest.raises(StrategyError, match="argument 'block'"):
        flash_schedule(g, flash_memory(6, 2, 2), block=3)
    with pytest.raises(StrategyError, match="argument 'block'"):
        tiling_schedule(g, 6, block=2)
    with pytest.raises(StrategyError, match="needs M >= 10"):
        tiled_matmul_schedule(matmul_dag(4, 4, 4), 9, block=2)
    with pytest.raises(StrategyError, match="matrix product DAG"):
        tiled_matmul_schedule(attention_dag(2, 2), 9)


def test_streams_equal_whole_schedules(tmp_path):
    g = attention_dag(7, 3)
    M = flash_memory(7, 3, 2)
    whole = flash_schedule(g, M)
    chunks = list(flash_schedule(g, M, stream=True))
    assert len(chunks) == 4  # one per block of two query rows
    assert np.array_equal(np.concatenate(chunks), whole.codes)
    assert verify(g, flash_schedule(g, M, stream=True), M).io == flash_io(7, 3, M)
    path = tmp_path / "flash.pbs"
    assert write_schedule(path, flash_schedule(g, M, stream=True), g) == len(whole)
    assert verify(g, str(path), M).io == flash_io(7, 3, M)
