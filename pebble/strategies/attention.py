"""Schedules for exact attention: naive, FlashAttention, square tiling.

They run on the DAG of :func:`dags.attention.attention_dag` with chain sums
and plain softmax (the default), and locate every node through its label
blocks. Notation: ``Srun[i,j,l]`` is the running sum of ``P[i,j,0..l]``
(``P[i,j,0]`` itself for ``l = 0``, then ``S_acc``, and ``S`` at ``l = d-1``);
``Lrun[i,j]`` and ``Nrun[i,j,c]`` likewise run over ``j`` (``E[i,0]`` and
``F[i,0,c]`` first, ``L[i]`` and ``N[i,c]`` last). A running sum lives in
fast memory from one step to the next and its old value is deleted as soon as
the new one is computed.

None of these schedules recomputes a node, so each is valid in the base and
one-shot games (the tests check both). Moves are emitted by compiled loops,
one chunk per block of query rows, so a schedule can stream to a file or the
verifier without ever being held whole (``stream=True``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..moves import COMPUTE, DELETE, LOAD, STORE
from .common import StrategyError, add_term, ceil_div, emit, outer_step, require_memory, run_kernel, streamed

__all__ = ["block_rows", "running_sum", "naive_schedule", "flash_schedule", "tiling_schedule", "naive_io",
           "flash_io", "tiling_io", "naive_memory", "flash_memory", "tiling_memory", "flash_block_rows", "tiling_tile"]


# -- node ids ------------------------------------------------------------------

def block_rows(dag, name, lo=0, hi=None):
    """Ids of rows ``lo..hi-1`` (first axis) of label block ``name``, shaped; ``None`` if there is no such block."""
    try:
        blk = dag.labels.block(name)
    except KeyError:
        return None
    hi = blk.shape[0] if hi is None else hi
    inner = int(np.prod(blk.shape[1:], dtype=np.int64))
    return blk.start + np.arange(lo * inner, hi * inner, dtype=np.int64).reshape((hi - lo,) + blk.shape[1:])


def running_sum(terms, acc, final, axis):
    """The running values of a chain reduction of ``terms`` along ``axis``.

    Entry 0 is the first term, entry ``t`` the node that has added terms
    ``0..t`` (``acc``: the ``{name}_acc`` block, if any), the last entry
    ``final``. With no ``final`` node (a reduction of one term) the term is
    its own result; a ``final`` after one term is a unary node (it adds a
    constant).
    """
    if final is None:
        return terms
    parts = [np.take(terms, [0], axis=axis)] + ([] if acc is None else [acc]) + [np.expand_dims(final, axis)]
    return np.ascontiguousarray(np.concatenate(parts, axis=axis))


def _exact_rows(dag, lo, hi):
    """Ids of every array of query rows ``lo..hi-1``."""
    ids = {name: block_rows(dag, name, lo, hi) for name in ("Q", "P", "E", "F", "O")}
    for name, terms, axis in (("S", "P", 2), ("L", "E", 1), ("N", "F", 1)):
        ids[f"{name}run"] = running_sum(ids[terms], block_rows(dag, f"{name}_acc", lo, hi),
                                           block_rows(dag, name, lo, hi), axis)
    return ids


def _exact_args(ids, K, V):
    """The id arrays in the order the kernels take them."""
    return (ids["Q"], K, V, ids["P"], ids["Srun"], ids["E"], ids["Lrun"], ids["F"], ids["Nrun"], ids["O"])


def check_attention(dag, strategy):
    """``(n, d)`` of an exact attention DAG with chain sums and plain softmax, or a StrategyError."""
    meta = dag.meta
    if meta.get("family") != "attention":
        raise StrategyError(f"strategy '{strategy}' needs an exact attention DAG (e.g. attention:n=8,d=2), "
                            f"got {dag.name or 'a DAG without attention layout'}")
    if meta.get("sums") != "chain" or meta.get("softmax") != "plain":
        raise StrategyError(f"strategy '{strategy}' needs sums='chain' and softmax='plain', got "
                            f"sums={meta.get('sums')!r}, softmax={meta.get('softmax')!r} "
                            f"(the heuristic schedules any DAG)")
    return int(meta["n"]), int(meta["d"])


# -- compiled pieces shared by the schedules -------------------------------------

@njit(cache=True, inline="always")
def _dot(out, k, P, Srun):
    """Compute ``S = sum_l P[l]`` along its chain with both operand rows red; leaves ``S`` red."""
    for l in range(P.shape[0]):
        k = add_term(out, k, P[l], Srun[l], Srun[l - 1], l == 0)
    return k


@njit(cache=True, inline="always")
def _accumulate(out, k, j, e, Lrun, F, Nrun):
    """Add the red ``E[i,j]`` (``e``) into ``L[i]`` and ``E[i,j] V[j,:]`` into ``N[i,:]``; V row j is red."""
    if j > 0:
        k = emit(out, k, COMPUTE, Lrun[j])
        k = emit(out, k, DELETE, Lrun[j - 1])
    for c in range(F.shape[0]):
        k = add_term(out, k, F[c], Nrun[j, c], Nrun[j - 1, c], j == 0)
    if j > 0:
        k = emit(out, k, DELETE, e)
    return k


@njit(cache=True, inline="always")
def _normalise(out, k, N, L, O):
    """``O[c] = N[c] / L`` for the red row ``N`` and red ``L``: store each output, free the row."""
    for c in range(O.shape[0]):
        k = emit(out, k, COMPUTE, O[c])
        k = emit(out, k, STORE, O[c])
        k = emit(out, k, DELETE, O[c])
        k = emit(out, k, DELETE, N[c])
    return emit(out, k, DELETE, L)


def _moves_estimate(rows, n, d, loads):
    """About the moves of a chunk (every node computed once, stored and deleted at most once); see run_kernel."""
    computes = rows * (n * (3 * d + 2) + d)
    return 2 * loads + 3 * computes + 16


# -- naive ---------------------------------------------------------------------

def naive_memory(n, d):
    """Red pebbles the naive schedule holds at its peak (``n >= 2``): ``2d + 4``."""
    return 2 * d + 4


def naive_io(n, d):
    """I/O of :func:`naive_schedule`: ``2 n^2 d + 2 n^2 + 2 n d``."""
    return 2 * n * n * d + 2 * n * n + 2 * n * d


@njit(cache=True)
def _naive_row(Q, K, V, P, Srun, E, Lrun, F, Nrun, O, out):
    n, d = K.shape
    k = 0
    for l in range(d):
        k = emit(out, k, LOAD, Q[l])
    for j in range(n):
        for l in range(d):
            k = emit(out, k, LOAD, K[j, l])
        k = _dot(out, k, P[j], Srun[j])
        k = emit(out, k, COMPUTE, E[j])
        k = emit(out, k, DELETE, Srun[j, d - 1])
        k = emit(out, k, STORE, E[j])
        k = emit(out, k, DELETE, E[j])
        for l in range(d):
            k = emit(out, k, DELETE, K[j, l])
    for l in range(d):
        k = emit(out, k, DELETE, Q[l])
    for j in range(n):
        k = emit(out, k, LOAD, E[j])
        for c in range(d):
            k = emit(out, k, LOAD, V[j, c])
        k = _accumulate(out, k, j, E[j], Lrun, F[j], Nrun)
        for c in range(d):
            k = emit(out, k, DELETE, V[j, c])
    return _normalise(out, k, Nrun[n - 1], Lrun[n - 1], O)


@streamed
def naive_schedule(dag, M):
    """Naive attention: materialise E = exp(QK^T s) in slow memory, then read it back.

    For each query row ``i``: load ``Q[i,:]``; for each key ``j`` load
    ``K[j,:]``, compute ``S[i,j]`` and ``E[i,j]`` and store ``E[i,j]``. Then
    for each ``j``: load ``E[i,j]`` and ``V[j,:]``, add into ``L[i]`` and
    ``N[i,:]``; finally compute and store ``O[i,:]``. No value is reused
    across rows: the I/O is

        ``2 n^2 d + 2 n^2 + 2 n d``

    (``n^2 d`` loads of K and of V, ``n^2`` stores and loads of E, ``nd``
    loads of Q and stores of O) with ``M >= 2d + 4``. Valid in the base and
    one-shot games.

    Parameters
    ----------
    dag : DAG
        ``attention_dag(n, d)`` (chain sums, plain softmax).
    M : int
        Red pebbles, at least ``2d + 4``.
    stream : bool
        Return an iterator of code chunks (one per row) instead of a Schedule.

    Examples
    --------
    >>> from dags.attention import attention_dag
    >>> from pebble import verify
    >>> g = attention_dag(4, 2)
    >>> verify(g, naive_schedule(g, 8), 8).io == naive_io(4, 2) == 112
    True
    """
    n, d = check_attention(dag, "naive")
    require_memory(dag, M, naive_memory(n, d), "naive")
    K, V = block_rows(dag, "K"), block_rows(dag, "V")

    def chunks():
        for i in range(n):
            ids = {name: a[0] for name, a in _exact_rows(dag, i, i + 1).items()}
            yield run_kernel(_naive_row, *_exact_args(ids, K, V), estimate=_moves_estimate(1, n, d, d + 2 * n * d + n))

    return chunks()


# -- FlashAttention -------------------------------------------------------------

def flash_memory(n, d, block_rows):
    """Red pebbles FlashAttention holds at its peak with ``block_rows`` query rows (``n >= 2``).

    ``B d`` for the query rows, ``B (d + 1)`` for the running sums ``N`` and
    ``L``, ``2d`` for one key and value row, 3 for the values in flight:
    ``B (2d + 1) + 2d + 3``.
    """
    return block_rows * (2 * d + 1) + 2 * d + 3


def flash_block_rows(n, d, M):
    """The largest number of query rows per block that fits in ``M`` (at most ``n``; 0 if none)."""
    return int(min(n, max(0, (M - 2 * d - 3) // (2 * d + 1))))


def flash_io(n, d, M=None, *, block=None):
    """I/O of :func:`flash_schedule`: ``2nd + 2nd * ceil(n / B)``.

    ``B`` is ``block`` or else the largest block that fits in ``M``
    (:func:`flash_block_rows`, about ``M / (2d + 1)``), so for
    ``B < n`` the I/O is about ``2 n^2 d (2d + 1) / M``.
    """
    B = block if block is not None else flash_block_rows(n, d, M)
    return 2 * n * d + 2 * n * d * ceil_div(n, B)


@njit(cache=True)
def _flash_block(Q, K, V, P, Srun, E, Lrun, F, Nrun, O, out):
    B, d = Q.shape
    n = K.shape[0]
    k = 0
    for r in range(B):
        for l in range(d):
            k = emit(out, k, LOAD, Q[r, l])
    for j in range(n):
        for l in range(d):
            k = emit(out, k, LOAD, K[j, l])
        for c in range(d):
            k = emit(out, k, LOAD, V[j, c])
        for r in range(B):
            k = _dot(out, k, P[r, j], Srun[r, j])
            k = emit(out, k, COMPUTE, E[r, j])
            k = emit(out, k, DELETE, Srun[r, j, d - 1])
            k = _accumulate(out, k, j, E[r, j], Lrun[r], F[r, j], Nrun[r])
        for l in range(d):
            k = emit(out, k, DELETE, K[j, l])
        for c in range(d):
            k = emit(out, k, DELETE, V[j, c])
    for r in range(B):
        for l in range(d):
            k = emit(out, k, DELETE, Q[r, l])
        k = _normalise(out, k, Nrun[r, n - 1], Lrun[r, n - 1], O[r])
    return k


@streamed
def flash_schedule(dag, M, *, block=None):
    """FlashAttention (FlashAttention-2 loop order): query blocks outside, keys streamed inside.

    For each block of ``B`` query rows: load its rows of ``Q``; for each key
    ``j``, load ``K[j,:]`` and ``V[j,:]`` and, for every row of the block,
    compute ``S[i,j]`` and ``E[i,j]`` and add them into the running sums
    ``L[i]`` and ``N[i,:]`` held in fast memory; at the end of the block
    compute and store ``O`` for its rows. Keys come one at a time: in this
    game a larger key block costs memory and saves no I/O. The I/O is

        ``2nd + 2nd * ceil(n / B)``

    (``Q`` loaded and ``O`` stored once, ``K`` and ``V`` once per block), with
    ``B = floor((M - 2d - 3) / (2d + 1))`` capped at ``n``: about
    ``4 n^2 d^2 / M`` for ``B < n``, the ``Theta(n^2 d^2 / M)`` of Dao et al.
    (2022, Thm 2). Needs ``M >= 4d + 4``. Valid in the base and one-shot games.

    Parameters
    ----------
    dag : DAG
        ``attention_dag(n, d)`` (chain sums, plain softmax).
    M : int
        Red pebbles, at least ``4d + 4``.
    block : int, optional
        Query rows per block; default the largest that fits.
    stream : bool
        Return an iterator of code chunks (one per block) instead of a Schedule.

    Examples
    --------
    >>> from dags.attention import attention_dag
    >>> from pebble import verify
    >>> g = attention_dag(8, 2)
    >>> verify(g, flash_schedule(g, 17), 17).io == flash_io(8, 2, 17) == 2*8*2 + 2*8*2*4
    True
    """
    n, d = check_attention(dag, "flash")
    require_memory(dag, M, flash_memory(n, d, 1), "flash")
    B = flash_block_rows(n, d, M) if block is None else int(block)
    if not 1 <= B <= n or flash_memory(n, d, B) > M:
        raise StrategyError(f"argument 'block': flash takes 1 to {flash_block_rows(n, d, M)} query rows per "
                            f"block with M = {M} on {dag.name}, got {block}")
    K, V = block_rows(dag, "K"), block_rows(dag, "V")

    def chunks():
        for lo in range(0, n, B):
            hi = min(n, lo + B)
            yield run_kernel(_flash_block, *_exact_args(_exact_rows(dag, lo, hi), K, V),
                             estimate=_moves_estimate(hi - lo, n, d, (hi - lo) * d + 2 * n * d))

    return chunks()


# -- square tiling -------------------------------------------------------------

def tiling_memory(n, d, tile):
    """Red pebbles the tiling schedule holds at its peak with tile side ``b`` (``n >= 2``, ``d >= 2``).

    With ``bi = bj = min(b, n)`` and ``bc = min(b, d)``: first pass
    ``bi bj`` partial scores, a column of ``Q`` and of ``K`` (``bi + bj``)
    and 2 values in flight, plus ``bi`` running row sums ``L`` from the second
    key tile on (``bj = min(b, n - b)`` there); second pass ``bi bc`` running sums ``N``, ``bi + bc`` entries of
    ``E`` and ``V`` and 2 in flight. The peak is the larger of the two.
    """
    bi = min(tile, n)
    bc = min(tile, d)
    first = bi * bi + 2 * bi + 2
    if n > tile:  # the later key tiles (the second is the largest) meet the row sums of the earlier ones
        bj = min(tile, n - tile)
        first = max(first, bi * bj + 2 * bi + bj + 2)
    second = bi * bc + bi + bc + 2
    return max(first, second)


def tiling_tile(n, d, M):
    """The largest tile side whose peak fits in ``M`` (0 if none)."""
    b = 0
    while b < max(n, d) and tiling_memory(n, d, b + 1) <= M:
        b += 1
    return b


def tiling_io(n, d, M=None, *, block=None):
    """I/O of :func:`tiling_schedule` with tile side ``b``:

    ``3nd * ceil(n/b) + n^2 (1 + ceil(d/b)) + n ceil(d/b) + nd + n [n >= 2]``.

    ``b`` is ``block`` or the largest tile that fits in ``M``
    (:func:`tiling_tile`, about ``sqrt(M)``): about ``4 n^2 d / sqrt(M)`` for
    ``M < d^2``, the ``Theta(n^2 d / sqrt(M))`` of Saha & Ye (2024).
    """
    b = block if block is not None else tiling_tile(n, d, M)
    return (3 * n * d * ceil_div(n, b) + n * n * (1 + ceil_div(d, b)) + n * ceil_div(d, b) + n * d
            + (n if n >= 2 else 0))


@njit(cache=True)
def _tiling_rows(Q, K, V, P, Srun, E, Lrun, F, Nrun, O, L_is_E, b, out):
    bi, d = Q.shape
    n = K.shape[0]
    k = 0
    # First pass: S, E and L for these rows, one b x b tile of keys at a time.
    for j0 in range(0, n, b):
        j1 = min(n, j0 + b)
        for l in range(d):
            k = outer_step(out, k, Q[:, l], K[j0:j1, l], P[:, j0:j1, l], Srun[:, j0:j1, l], Srun[:, j0:j1, l - 1],
                           l == 0)
        for r in range(bi):
            for j in range(j0, j1):
                k = emit(out, k, COMPUTE, E[r, j])
                k = emit(out, k, DELETE, Srun[r, j, d - 1])
                k = emit(out, k, STORE, E[r, j])
                if j > 0:
                    k = emit(out, k, COMPUTE, Lrun[r, j])
                    k = emit(out, k, DELETE, Lrun[r, j - 1])
                    k = emit(out, k, DELETE, E[r, j])
    for r in range(bi):
        if not L_is_E:
            k = emit(out, k, STORE, Lrun[r, n - 1])
        k = emit(out, k, DELETE, Lrun[r, n - 1])
    # Second pass: N = E V and O = N / L, one b x b tile of value columns at a time.
    for c0 in range(0, d, b):
        c1 = min(d, c0 + b)
        for j in range(n):
            k = outer_step(out, k, E[:, j], V[j, c0:c1], F[:, j, c0:c1], Nrun[:, j, c0:c1], Nrun[:, j - 1, c0:c1],
                           j == 0)
        for r in range(bi):
            k = emit(out, k, LOAD, Lrun[r, n - 1])
            k = _normalise(out, k, Nrun[r, n - 1, c0:c1], Lrun[r, n - 1], O[r, c0:c1])
    return k


@streamed
def tiling_schedule(dag, M, *, block=None):
    """Square tiling (after Saha & Ye 2024, Algorithm 1): both products by b x b tiles.

    For each tile of ``b`` query rows: first pass, for each tile of ``b``
    keys, accumulate the ``b x b`` scores ``S`` one feature ``l`` at a time
    (load ``b`` entries of column ``l`` of ``Q`` and of ``K``), then compute
    ``E``, store it, and add it into the row sums ``L`` (stored at the end of
    the pass); second pass, for each tile of ``b`` value columns, accumulate
    ``N = E V`` over the keys one at a time (load ``b`` entries of ``E`` and
    of ``V``), then load ``L`` and compute and store ``O``. Streaming the
    inner index one at a time lets the tile take almost all of fast memory.
    The I/O is

        ``3nd * ceil(n/b) + n^2 (1 + ceil(d/b)) + n ceil(d/b) + nd + n [n >= 2]``

    about ``4 n^2 d / sqrt(M)`` when ``M < d^2`` (Saha & Ye: optimal there, up
    to the constant). ``b`` is the largest tile that fits (about ``sqrt(M)``,
    see :func:`tiling_memory`). Needs ``M >= 6`` (``n, d >= 2``). Valid in
    the base and one-shot games.

    Parameters
    ----------
    dag : DAG
        ``attention_dag(n, d)`` (chain sums, plain softmax).
    M : int
        Red pebbles.
    block : int, optional
        Tile side; default the largest that fits.
    stream : bool
        Return an iterator of code chunks (one per row tile) instead of a Schedule.

    Examples
    --------
    >>> from dags.attention import attention_dag
    >>> from pebble import verify
    >>> g = attention_dag(8, 16)
    >>> verify(g, tiling_schedule(g, 30), 30).io == tiling_io(8, 16, 30)
    True
    """
    n, d = check_attention(dag, "tiling")
    require_memory(dag, M, tiling_memory(n, d, 1), "tiling")
    b = tiling_tile(n, d, M) if block is None else int(block)
    if b < 1 or tiling_memory(n, d, b) > M:
        raise StrategyError(f"argument 'block': tiling takes tiles of side 1 to {tiling_tile(n, d, M)} with "
                            f"M = {M} on {dag.name}, got {block}")
    K, V = block_rows(dag, "K"), block_rows(dag, "V")

    def chunks():
        for lo in range(0, n, b):
            hi = min(n, lo + b)
            loads = 2 * n * d + (hi - lo) * (n * (ceil_div(d, b) + d) + 2 * d)
            yield run_kernel(_tiling_rows, *_exact_args(_exact_rows(dag, lo, hi), K, V), n == 1, b,
                             estimate=_moves_estimate(hi - lo, n, d, loads))

    return chunks()
