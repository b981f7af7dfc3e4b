"""Tiled matrix multiplication on the DAG of :func:`dags.families.matmul_dag`."""

from __future__ import annotations

import math

from numba import njit

from ..moves import DELETE, STORE
from .attention import block_rows, running_sum
from .common import StrategyError, ceil_div, emit, outer_step, require_memory, run_kernel, streamed

__all__ = ["tiled_matmul_schedule", "tiled_matmul_io", "tiled_matmul_tile", "tiled_matmul_memory"]


def tiled_matmul_memory(rows, cols):
    """Red pebbles at the peak with a ``rows x cols`` tile of ``C`` (``k >= 2``): ``rows cols + rows + cols + 2``."""
    return rows * cols + rows + cols + 2


def tiled_matmul_tile(n, m, M):
    """The tile ``(rows, cols)``: ``rows = min(n, floor(sqrt(M - 1)) - 1)``, then as many columns as fit.

    At most ``m`` columns; ``(0, 0)`` if not even a 1 x 1 tile fits.
    """
    rows = min(n, math.isqrt(max(M - 1, 0)) - 1)
    if rows < 1:
        return 0, 0
    return rows, min(m, (M - 2 - rows) // (rows + 1))


def tiled_matmul_io(n, k, m, M=None, *, block=None):
    """I/O of :func:`tiled_matmul_schedule`: ``nk ceil(m / cols) + km ceil(n / rows) + nm``.

    The tile is ``block x block`` if given (clipped to ``n x m``), else
    :func:`tiled_matmul_tile`; for square tiles of side about ``sqrt(M)`` that
    is about ``2 nkm / sqrt(M) + nm``, the leading term of the lower bound of
    Smith et al. (2019).
    """
    rows, cols = (min(block, n), min(block, m)) if block is not None else tiled_matmul_tile(n, m, M)
    return n * k * ceil_div(m, cols) + k * m * ceil_div(n, rows) + n * m


@njit(cache=True)
def _tile(A, B, P, Crun, i0, i1, j0, j1, out):
    k = A.shape[1]
    t = 0
    for l in range(k):
        t = outer_step(out, t, A[i0:i1, l], B[l, j0:j1], P[i0:i1, j0:j1, l], Crun[i0:i1, j0:j1, l],
                       Crun[i0:i1, j0:j1, l - 1], l == 0)
    for i in range(i0, i1):
        for j in range(j0, j1):
            t = emit(out, t, STORE, Crun[i, j, k - 1])
            t = emit(out, t, DELETE, Crun[i, j, k - 1])
    return t


@streamed
def tiled_matmul_schedule(dag, M, *, block=None):
    """Tiled matrix multiplication: a tile of C in fast memory, the inner index streamed.

    For each ``rows x cols`` tile of ``C`` (row-major over tiles): for each
    ``l < k``, load ``A[tile rows, l]`` and ``B[l, tile columns]``, compute
    the products and add them into the tile's running sums; then store the
    tile. The I/O is

        ``nk ceil(m / cols) + km ceil(n / rows) + nm``

    with ``rows = min(n, floor(sqrt(M - 1)) - 1)`` and as many columns as
    fit (``rows cols + rows + cols + 2 <= M``): about ``2 nkm / sqrt(M) + nm``.
    Needs ``M >= 5``. Valid in the base and one-shot games.

    Parameters
    ----------
    dag : DAG
        ``matmul_dag(n, k, m)`` with chain sums.
    M : int
        Red pebbles.
    block : int, optional
        Side of a square tile (clipped to ``n x m``); default as above.
    stream : bool
        Return an iterator of code chunks (one per tile) instead of a Schedule.

    Examples
    --------
    >>> from dags.families import matmul_dag
    >>> from pebble import verify
    >>> g = matmul_dag(8, 8, 8)
    >>> verify(g, tiled_matmul_schedule(g, 26), 26).io == tiled_matmul_io(8, 8, 8, 26) == 320
    True
    """
    meta = dag.meta
    if meta.get("family") != "matmul" or meta.get("sums") != "chain":
        raise StrategyError(f"strategy 'matmul-tiled' needs a matrix product DAG with chain sums "
                            f"(e.g. matmul:n=8,k=8,m=8), got {dag.name or 'another DAG'}")
    n, k, m = int(meta["n"]), int(meta["k"]), int(meta["m"])
    require_memory(dag, M, tiled_matmul_memory(1, 1), "matmul-tiled")
    if block is None:
        rows, cols = tiled_matmul_tile(n, m, M)
    else:
        rows, cols = min(int(block), n), min(int(block), m)
        if rows < 1 or tiled_matmul_memory(rows, cols) > M:
            raise StrategyError(f"argument 'block': a {rows} x {cols} tile needs M >= "
                                f"{tiled_matmul_memory(rows, cols)}, got M = {M}")
    A, B, P = block_rows(dag, "A"), block_rows(dag, "B"), block_rows(dag, "P")
    Crun = running_sum(P, block_rows(dag, "C_acc"), block_rows(dag, "C"), 2)

    def chunks():
        for i0 in range(0, n, rows):
            for j0 in range(0, m, cols):
                i1, j1 = min(n, i0 + rows), min(m, j0 + cols)
                yield run_kernel(_tile, A, B, P, Crun, i0, i1, j0, j1,
                                 estimate=k * (i1 - i0 + j1 - j0) * 2 + 4 * k * (i1 - i0) * (j1 - j0) + 8)

    return chunks()
