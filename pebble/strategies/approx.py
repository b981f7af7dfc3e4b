"""Schedules for Alman-Song approximate attention: streaming, column-blocked, small-cache.

They run on the DAG of :func:`dags.attention.approx_attention_dag` (chain
sums, degree ``g >= 1``) and locate every node through its label blocks.
Notation: ``F = R - 1`` features of degree ``1..g``; ``featK[j,a]`` is
``K[j,a]`` for ``a < d`` and ``U2[j,a-d]`` after (``featQ`` likewise with
``Q`` and ``U1``); ``Wrun[j,a,c]`` is the running sum over keys of
``Wp[0..j,a,c]`` (``Zrun``, ``W0run`` likewise), ``Numrun[i,t,c]`` the
running sum of ``W0[c], Np[i,0,c], ..., Np[i,t-1,c]`` and ``Denrun[i,a]``
that of ``Dp[i,0..a]`` (then the node that adds the constant ``n``).

Three schedules, one family (:func:`approx_schedule` picks by ``M``):

- **streaming** keeps ``W``, ``Z`` and ``W0`` in fast memory: one pass over
  the keys builds them, one pass over the queries uses them. I/O ``4nd``,
  the trivial lower bound: optimal.
- **column-blocked** splits the ``d`` value columns into blocks of ``w``
  and runs both passes per block, recomputing the features (so it is valid
  in the base game only, unless there is one block).
- **small-cache** stores the features once, then computes ``W = featK^T V``
  and ``Num = featQ W`` as tiled rectangular products (tiles of side about
  ``sqrt(M)``), for ``M`` too small to hold even one column of ``W``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..moves import COMPUTE, DELETE, LOAD, STORE
from .attention import block_rows, running_sum
from .common import StrategyError, add_term, ceil_div, emit, require_memory, run_kernel, streamed

__all__ = ["approx_schedule", "streaming_schedule", "column_blocked_schedule", "small_cache_schedule",
           "approx_mode", "approx_io", "streaming_memory", "column_blocked_memory", "column_blocked_width",
           "small_cache_memory", "small_cache_tile", "streaming_io", "column_blocked_io", "small_cache_io", "MODES"]

MODES = ("streaming", "column-blocked", "small-cache")


def check_approx(dag, strategy):
    """``(n, d, F)`` of an approximate attention DAG with chain sums and ``g >= 1``, or a StrategyError."""
    meta = dag.meta
    if meta.get("family") != "approx":
        raise StrategyError(f"strategy '{strategy}' needs an approximate attention DAG (e.g. approx:n=64,d=2,g=2), "
                            f"got {dag.name or 'a DAG without that layout'}")
    if meta.get("sums") != "chain":
        raise StrategyError(f"strategy '{strategy}' needs sums='chain', got sums={meta.get('sums')!r} "
                            f"(the heuristic schedules any DAG)")
    if meta["g"] < 1:
        raise StrategyError(f"strategy '{strategy}' needs degree g >= 1 (g = 0 is a constant kernel; "
                            f"the heuristic schedules it)")
    return int(meta["n"]), int(meta["d"]), int(meta["R"]) - 1


def _ids(dag):
    """Ids of every array of the approximate DAG, with the running sums."""
    n, d, F = check_approx(dag, "approx")
    b = {blk.name: block_rows(dag, blk.name) for blk in dag.labels.blocks}
    featK = np.ascontiguousarray(np.concatenate([b["K"], b["U2"]], axis=1))
    featQ = np.ascontiguousarray(np.concatenate([b["Q"], b["U1"]], axis=1))
    num_terms = np.concatenate([np.broadcast_to(running_sum(b["V"], b.get("W0_acc"), b.get("W0"), 0)[-1], (n, 1, d)),
                                b["Np"]], axis=1)
    return dict(
        Q=b["Q"], K=b["K"], V=b["V"], featK=featK, featQ=featQ, Wp=b["Wp"], Np=b["Np"], Dp=b["Dp"], O=b["O"],
        Wrun=running_sum(b["Wp"], b.get("W_acc"), b.get("W"), 0),
        Zrun=running_sum(featK, b.get("Z_acc"), b.get("Z"), 0),
        W0run=running_sum(b["V"], b.get("W0_acc"), b.get("W0"), 0),
        Numrun=running_sum(num_terms, b.get("Num_acc"), b.get("Num"), 1),
        Denrun=running_sum(b["Dp"], b.get("Den_acc"), b.get("Den"), 1),
    )


# -- streaming and column-blocked ----------------------------------------------------

def column_blocked_memory(d, F, w):
    """Red pebbles at the peak with ``w`` value columns per block (``n >= 2``): ``F (w + 2) + 2w + 3``.

    ``F w`` entries of ``W``, ``F`` of ``Z``, ``w`` of ``W0``, then, per key,
    its ``F`` features and ``w`` values of ``V`` (per query: its ``F``
    features, ``w`` running numerators and a denominator) and 2 in flight.
    """
    return F * (w + 2) + 2 * w + 3


def streaming_memory(d, F):
    """Red pebbles at the peak of the streaming schedule: ``F (d + 2) + 2d + 3`` (``n >= 2``)."""
    return column_blocked_memory(d, F, d)


def column_blocked_width(d, F, M):
    """The most value columns per block that fit in ``M`` (at most ``d``; below 1 if none)."""
    return min(d, (M - 2 * F - 3) // (F + 2))


def column_blocked_io(n, d, w):
    """I/O of the column-blocked schedule with ``w`` columns per block: ``2nd + 2nd * ceil(d / w)``."""
    return 2 * n * d + 2 * n * d * ceil_div(d, w)


def streaming_io(n, d):
    """I/O of the streaming schedule: ``4nd`` (each input loaded once, each output stored once)."""
    return column_blocked_io(n, d, d)


@njit(cache=True, inline="always")
def _row_features(out, k, feat, d):
    """Load a row's ``d`` inputs and compute its product features (graded order: parents first)."""
    for a in range(d):
        k = emit(out, k, LOAD, feat[a])
    for a in range(d, feat.shape[0]):
        k = emit(out, k, COMPUTE, feat[a])
    return k


@njit(cache=True)
def _keys_pass(featK, V, Wp, Wrun, Zrun, W0run, c0, c1, sum_Z, lo, hi, out):
    """Keys ``lo..hi-1`` of the pass that builds ``W[:, c0:c1]``, ``W0[c0:c1]`` (and ``Z`` if ``sum_Z``)."""
    d = V.shape[1]
    F = featK.shape[1]
    k = 0
    for j in range(lo, hi):
        k = _row_features(out, k, featK[j], d)
        for c in range(c0, c1):
            k = emit(out, k, LOAD, V[j, c])
        for a in range(F):
            for c in range(c0, c1):
                k = add_term(out, k, Wp[j, a, c], Wrun[j, a, c], Wrun[j - 1, a, c], j == 0)
            if sum_Z and j > 0:
                k = emit(out, k, COMPUTE, Zrun[j, a])
                k = emit(out, k, DELETE, Zrun[j - 1, a])
        if j > 0:
            for c in range(c0, c1):
                k = emit(out, k, COMPUTE, W0run[j, c])
                k = emit(out, k, DELETE, W0run[j - 1, c])
        # Key 0's features and values are the first terms of Z and W0: they stay.
        if j > 0 or not sum_Z:
            for a in range(F):
                k = emit(out, k, DELETE, featK[j, a])
        if j > 0:
            for c in range(c0, c1):
                k = emit(out, k, DELETE, V[j, c])
    return k


@njit(cache=True)
def _queries_pass(featQ, Np, Numrun, Dp, Denrun, O, c0, c1, lo, hi, out):
    """Queries ``lo..hi-1`` of the pass that computes ``O[:, c0:c1]`` from ``W``, ``Z``, ``W0`` in fast memory."""
    d = O.shape[1]
    F = featQ.shape[1]
    k = 0
    for i in range(lo, hi):
        k = _row_features(out, k, featQ[i], d)
        for a in range(F):
            for c in range(c0, c1):
                k = emit(out, k, COMPUTE, Np[i, a, c])
                k = emit(out, k, COMPUTE, Numrun[i, a + 1, c])
                if a > 0:
                    k = emit(out, k, DELETE, Numrun[i, a, c])
                k = emit(out, k, DELETE, Np[i, a, c])
            k = add_term(out, k, Dp[i, a], Denrun[i, a], Denrun[i, a - 1], a == 0)
        if Denrun.shape[1] > F:  # one feature: the denominator adds n in a unary node
            k = emit(out, k, COMPUTE, Denrun[i, F])
            k = emit(out, k, DELETE, Denrun[i, F - 1])
        for a in range(F):
            k = emit(out, k, DELETE, featQ[i, a])
        for c in range(c0, c1):
            k = emit(out, k, COMPUTE, O[i, c])
            k = emit(out, k, STORE, O[i, c])
            k = emit(out, k, DELETE, O[i, c])
            k = emit(out, k, DELETE, Numrun[i, Numrun.shape[1] - 1, c])
        k = emit(out, k, DELETE, Denrun[i, Denrun.shape[1] - 1])
    return k


def _row_chunks(n, per_row, kernel, *args):
    """Run ``kernel(*args, lo, hi, out)`` over row ranges of about 2^20 moves each."""
    rows = max(1, (1 << 20) // per_row)
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        yield run_kernel(kernel, *args, lo, hi, estimate=per_row * (hi - lo))


def _column_blocks(ids, n, d, F, w):
    for c0 in range(0, d, w):
        c1 = min(d, c0 + w)
        per_key = 3 * d + 2 * c1 + 4 * F * (c1 - c0 + 1) + 8
        yield from _row_chunks(n, per_key, _keys_pass, ids["featK"], ids["V"], ids["Wp"], ids["Wrun"],
                               ids["Zrun"], ids["W0run"], c0, c1, c0 == 0)
        per_query = 2 * d + 4 * F * (c1 - c0 + 2) + 4 * (c1 - c0) + 8
        yield from _row_chunks(n, per_query, _queries_pass, ids["featQ"], ids["Np"], ids["Numrun"], ids["Dp"],
                               ids["Denrun"], ids["O"], c0, c1)
        if c1 < d:  # W[:, c0:c1] and W0[c0:c1] have served; Z stays for the next block
            yield np.concatenate([ids["Wrun"][-1, :, c0:c1].ravel(), ids["W0run"][-1, c0:c1]]) << 2 | DELETE


@streamed
def column_blocked_schedule(dag, M, *, block=None):
    """Alman-Song attention with the value columns in blocks of ``w``: both passes once per block.

    For each block of ``w`` columns of ``V``: a pass over the keys (load
    ``K[j,:]`` and ``V[j, block]``, compute the key's features, add into
    ``W[:, block]``, into ``W0[block]`` and, in the first block, into ``Z``,
    which then stays in fast memory), then a pass over the queries (load
    ``Q[i,:]``, compute its features, the numerators of the block and the
    denominator, store ``O[i, block]``). The I/O is

        ``2nd + 2nd * ceil(d / w)``

    (about ``2 n R d^2 / M + 2nd``) with ``w`` the largest width such that
    ``F (w + 2) + 2w + 3 <= M`` (``F = R - 1``): needs ``M >= 3F + 5``. With
    ``w = d`` it is the streaming schedule. Features are recomputed in every
    block, so with more than one block it is valid in the base game only.

    Parameters
    ----------
    dag : DAG
        ``approx_attention_dag(n, d, g)`` with ``g >= 1`` and chain sums.
    M : int
        Red pebbles.
    block : int, optional
        Columns per block; default the widest that fits.
    stream : bool
        Return an iterator of code chunks instead of a Schedule.

    Examples
    --------
    >>> from dags.attention import approx_attention_dag
    >>> from pebble import verify
    >>> g = approx_attention_dag(16, 4, 2)  # F = 14
    >>> verify(g, column_blocked_schedule(g, 63), 63).io == column_blocked_io(16, 4, 2) == 384
    True
    """
    n, d, F = check_approx(dag, "column-blocked")
    require_memory(dag, M, column_blocked_memory(d, F, 1), "approx (column-blocked)")
    widest = column_blocked_width(d, F, M)
    w = widest if block is None else int(block)
    if not 1 <= w <= widest:
        raise StrategyError(f"argument 'block': column-blocked takes 1 to {widest} value columns per block "
                            f"with M = {M} on {dag.name}, got {block}")
    if n == 1 and w < d:
        raise StrategyError("column-blocked needs n >= 2 to split the columns (with n = 1, Z is the key's own "
                            "features, held from the first block on); use the streaming or small-cache schedule")
    return _column_blocks(_ids(dag), n, d, F, w)


@streamed
def streaming_schedule(dag, M):
    """Alman-Song attention streamed: W, Z and W0 stay in fast memory; I/O ``4nd`` (optimal).

    A pass over the keys (load ``K[j,:]`` and ``V[j,:]``, compute the key's
    ``F = R - 1`` features, add into ``W``, ``Z`` and ``W0``), then a pass
    over the queries (load ``Q[i,:]``, compute its features, numerators and
    denominator, store ``O[i,:]``). The I/O is

        ``4nd``

    (every input loaded once, every output stored once: the trivial lower
    bound). Needs ``M >= F (d + 2) + 2d + 3``. Valid in the base and one-shot
    games.

    Examples
    --------
    >>> from dags.attention import approx_attention_dag
    >>> from pebble import verify
    >>> g = approx_attention_dag(16, 2, 2)  # F = 5
    >>> verify(g, streaming_schedule(g, 27), 27, variant="one-shot").io == streaming_io(16, 2) == 128
    True
    """
    n, d, F = check_approx(dag, "streaming")
    require_memory(dag, M, streaming_memory(d, F), "approx (streaming)")
    return _column_blocks(_ids(dag), n, d, F, d)


# -- small cache -------------------------------------------------------------------

def small_cache_memory(n, d, F, tile, g):
    """Red pebbles at the peak of the small-cache schedule with tile side ``b`` (``n >= 2``).

    The largest of: the features of one row (``d`` inputs and a path of at
    most ``g - 1`` products); a tile of the extended matrix ``[W Z; W0 .]``
    with one key's ``min(b, F)`` features and ``min(b, d)`` values and 2 in
    flight, ``p q + min(b, F) + min(b, d) + 2`` for ``p = min(b, F + 1)`` and
    ``q = min(b, d + 1)`` (less 1 when the tile holds the empty corner); a
    tile of numerators with the denominators of its rows, a column of
    features, a row of ``W`` and of ``W0`` and 2 in flight,
    ``bi bc + 2 bi + 2 bc + 1`` for ``bi = min(b, n)`` and ``bc = min(b, d)``.
    """
    p, q = min(tile, F + 1), min(tile, d + 1)
    corner = 1 if p == F + 1 and q == d + 1 else 0  # (W0 row, Z column) is no node
    bi, bc = min(tile, n), min(tile, d)
    return max(d + g - 1, p * q - corner + min(tile, F) + min(tile, d) + 2, bi * bc + 2 * bi + 2 * bc + 1)


def small_cache_tile(n, d, F, g, M):
    """The largest tile side whose peak fits in ``M`` (0 if none)."""
    b = 0
    while b < max(n, F + 1, d + 1) and small_cache_memory(n, d, F, b + 1, g) <= M:
        b += 1
    return b


def small_cache_io(n, d, F, b):
    """I/O of the small-cache schedule with tile side ``b``:

    ``2nd + 2n(F - d)`` (features: inputs loaded, products stored)
    ``+ n (F ceil((d+1)/b) + d ceil((F+1)/b)) + Fd + (F + d)[n >= 2]``
    (``W``, ``Z``, ``W0`` by tiles, results stored)
    ``+ nF (1 + ceil(d/b)) + ceil(n/b) (F + Fd + d) + nd`` (denominators,
    then numerators by tiles, outputs stored): about ``3 n R d / sqrt(M)``.
    """
    return (2 * n * d + 2 * n * (F - d)
            + n * (F * ceil_div(d + 1, b) + d * ceil_div(F + 1, b)) + F * d + ((F + d) if n >= 2 else 0)
            + n * F * (1 + ceil_div(d, b)) + ceil_div(n, b) * (F + F * d + d) + n * d)


def _feature_tree(dag):
    """Features of degree >= 2 in depth-first pre-order of the parent tree, with the depth-first exit points.

    Returns ``(order, pops)``: ``order`` the features to compute (each right
    after its parent's subtree begins), ``pops[k]`` how many of the computed
    features on the current path are finished after ``order[k]``.
    """
    feats = [tuple(f) for f in dag.meta["features"]]
    index = {f: a for a, f in enumerate(feats)}
    children = {a: [] for a in range(len(feats))}
    for a, f in enumerate(feats):
        if len(f) >= 2:
            children[index[f[:-1]]].append(a)
    order, pops = [], []

    def walk(a):
        for c in children[a]:
            order.append(c)
            pops.append(0)
            walk(c)
        if order and len(feats[a]) >= 2:
            pops[-1] += 1

    d = dag.meta["d"]
    for a in range(d):
        walk(a)
    return np.asarray(order, np.int64), np.asarray(pops, np.int64)


@njit(cache=True)
def _store_features(X, feat, order, pops, lo, hi, out):
    """For rows ``lo..hi-1``: load the inputs, compute every product feature depth-first, store it."""
    d = X.shape[1]
    k = 0
    path = np.empty(order.shape[0] + 1, np.int64)
    for i in range(lo, hi):
        for l in range(d):
            k = emit(out, k, LOAD, X[i, l])
        top = 0
        for t in range(order.shape[0]):
            v = feat[i, order[t]]
            k = emit(out, k, COMPUTE, v)
            k = emit(out, k, STORE, v)
            path[top] = v
            top += 1
            for _ in range(pops[t]):
                top -= 1
                k = emit(out, k, DELETE, path[top])
        for l in range(d):
            k = emit(out, k, DELETE, X[i, l])
    return k


@njit(cache=True)
def _w_tile(featK, V, Wp, Wrun, Zrun, W0run, a0, a1, c0, c1, out):
    """One tile of the extended ``(F+1) x (d+1)`` matrix ``[W Z; W0 .]``: rows ``a0..a1-1``, columns ``c0..c1-1``.

    Row ``F`` is ``W0`` (the constant feature), column ``d`` is ``Z`` (the
    all-ones column); their sums take the features and values themselves as
    terms. Finished sums are stored unless they are inputs (``n = 1``).
    """
    n, d = V.shape
    F = featK.shape[1]
    k = 0
    fa1 = min(a1, F)
    vc1 = min(c1, d)
    has_Z = c1 > d
    has_W0 = a1 > F
    for j in range(n):
        for a in range(a0, fa1):
            k = emit(out, k, LOAD, featK[j, a])
        for c in range(c0, vc1):
            k = emit(out, k, LOAD, V[j, c])
        for a in range(a0, fa1):
            for c in range(c0, vc1):
                k = add_term(out, k, Wp[j, a, c], Wrun[j, a, c], Wrun[j - 1, a, c], j == 0)
            if has_Z and j > 0:
                k = emit(out, k, COMPUTE, Zrun[j, a])
                k = emit(out, k, DELETE, Zrun[j - 1, a])
        if has_W0 and j > 0:
            for c in range(c0, vc1):
                k = emit(out, k, COMPUTE, W0run[j, c])
                k = emit(out, k, DELETE, W0run[j - 1, c])
        if j > 0 or not has_Z:
            for a in range(a0, fa1):
                k = emit(out, k, DELETE, featK[j, a])
        if j > 0 or not has_W0:
            for c in range(c0, vc1):
                k = emit(out, k, DELETE, V[j, c])
    for a in range(a0, fa1):
        for c in range(c0, vc1):
            k = emit(out, k, STORE, Wrun[n - 1, a, c])
            k = emit(out, k, DELETE, Wrun[n - 1, a, c])
        if has_Z:
            if n > 1:
                k = emit(out, k, STORE, Zrun[n - 1, a])
            k = emit(out, k, DELETE, Zrun[n - 1, a])
    if has_W0:
        for c in range(c0, vc1):
            if n > 1:
                k = emit(out, k, STORE, W0run[n - 1, c])
            k = emit(out, k, DELETE, W0run[n - 1, c])
    return k


@njit(cache=True)
def _num_tiles(featQ, Np, Numrun, Dp, Denrun, O, W, Z, W0, i0, i1, b, out):
    """Query rows ``i0..i1-1``: their denominators, then their numerators and outputs by tiles of ``b`` columns."""
    d = O.shape[1]
    F = featQ.shape[1]
    k = 0
    for a in range(F):
        for i in range(i0, i1):
            k = emit(out, k, LOAD, featQ[i, a])
        k = emit(out, k, LOAD, Z[a])
        for i in range(i0, i1):
            k = add_term(out, k, Dp[i, a], Denrun[i, a], Denrun[i, a - 1], a == 0)
        for i in range(i0, i1):
            k = emit(out, k, DELETE, featQ[i, a])
        k = emit(out, k, DELETE, Z[a])
    if Denrun.shape[1] > F:
        for i in range(i0, i1):
            k = emit(out, k, COMPUTE, Denrun[i, F])
            k = emit(out, k, DELETE, Denrun[i, F - 1])
    for c0 in range(0, d, b):
        c1 = min(d, c0 + b)
        for c in range(c0, c1):
            k = emit(out, k, LOAD, W0[c])
        for a in range(F):
            for i in range(i0, i1):
                k = emit(out, k, LOAD, featQ[i, a])
            for c in range(c0, c1):
                k = emit(out, k, LOAD, W[a, c])
            for i in range(i0, i1):
                for c in range(c0, c1):
                    k = emit(out, k, COMPUTE, Np[i, a, c])
                    k = emit(out, k, COMPUTE, Numrun[i, a + 1, c])
                    if a > 0:
                        k = emit(out, k, DELETE, Numrun[i, a, c])
                    k = emit(out, k, DELETE, Np[i, a, c])
            if a == 0:
                for c in range(c0, c1):
                    k = emit(out, k, DELETE, W0[c])
            for i in range(i0, i1):
                k = emit(out, k, DELETE, featQ[i, a])
            for c in range(c0, c1):
                k = emit(out, k, DELETE, W[a, c])
        for i in range(i0, i1):
            for c in range(c0, c1):
                k = emit(out, k, COMPUTE, O[i, c])
                k = emit(out, k, STORE, O[i, c])
                k = emit(out, k, DELETE, O[i, c])
                k = emit(out, k, DELETE, Numrun[i, Numrun.shape[1] - 1, c])
    for i in range(i0, i1):
        k = emit(out, k, DELETE, Denrun[i, Denrun.shape[1] - 1])
    return k


@streamed
def small_cache_schedule(dag, M, *, block=None):
    """Alman-Song attention for small M: features stored once, then two tiled rectangular products.

    1. For each key (then each query): load its row, compute its product
       features depth-first along the parent tree and store each.
    2. ``[W Z; W0]``, an ``(F+1) x (d+1)`` matrix, by ``b x b`` tiles: for
       each tile, stream the keys (load ``b`` features and ``b`` values),
       then store the tile.
    3. For each block of ``b`` queries: the denominators (stream the features,
       load ``Z``; they stay in fast memory), then for each tile of ``b``
       value columns the numerators (stream the features, load ``W`` and
       ``W0``) and the outputs, stored.

    The I/O is (``F = R - 1``, see :func:`small_cache_io`)

        ``2nd + 2n(F - d) + n (F ceil((d+1)/b) + d ceil((F+1)/b)) + Fd + (F + d)[n >= 2]
        + nF (1 + ceil(d/b)) + ceil(n/b) (F + Fd + d) + nd``

    about ``3 n R d / b`` with ``b`` about ``sqrt(M)``, the tiled-product
    order ``n R d / sqrt(M)``. Valid in the base and one-shot games.

    Parameters
    ----------
    dag : DAG
        ``approx_attention_dag(n, d, g)`` with ``g >= 1`` and chain sums.
    M : int
        Red pebbles; at least :func:`small_cache_memory` with ``b = 1``.
    block : int, optional
        Tile side; default the largest that fits.
    stream : bool
        Return an iterator of code chunks instead of a Schedule.

    Examples
    --------
    >>> from dags.attention import approx_attention_dag
    >>> from pebble import verify
    >>> g = approx_attention_dag(16, 4, 2)  # F = 14
    >>> verify(g, small_cache_schedule(g, 20), 20).io == small_cache_io(16, 4, 14, 2)  # tiles of side 2
    True
    """
    n, d, F = check_approx(dag, "small-cache")
    gdeg = int(dag.meta["g"])
    require_memory(dag, M, small_cache_memory(n, d, F, 1, gdeg), "approx (small-cache)")
    b = small_cache_tile(n, d, F, gdeg, M) if block is None else int(block)
    if b < 1 or small_cache_memory(n, d, F, b, gdeg) > M:
        raise StrategyError(f"argument 'block': small-cache takes tiles of side 1 to "
                            f"{small_cache_tile(n, d, F, gdeg, M)} with M = {M} on {dag.name}, got {block}")
    ids = _ids(dag)
    order, pops = _feature_tree(dag)

    def chunks():
        per_row = 2 * d + 3 * order.size + 1
        yield from _row_chunks(n, per_row, _store_features, ids["K"], ids["featK"], order, pops)
        yield from _row_chunks(n, per_row, _store_features, ids["Q"], ids["featQ"], order, pops)
        for a0 in range(0, F + 1, b):
            for c0 in range(0, d + 1, b):
                a1, c1 = min(F + 1, a0 + b), min(d + 1, c0 + b)
                if a0 == F and c0 == d:
                    continue  # the empty corner
                yield run_kernel(_w_tile, ids["featK"], ids["V"], ids["Wp"], ids["Wrun"], ids["Zrun"],
                                 ids["W0run"], a0, a1, c0, c1, estimate=n * (2 * b + 4 * b * b + 8) + 4 * b * b)
        W, Z, W0 = ids["Wrun"][-1], ids["Zrun"][-1], ids["W0run"][-1]
        for i0 in range(0, n, b):
            i1 = min(n, i0 + b)
            rows = i1 - i0
            estimate = F * (6 * rows + 2) + ceil_div(d, b) * F * (2 * rows + 2 * b + 4 * rows * b) + 8 * rows * d
            yield run_kernel(_num_tiles, ids["featQ"], ids["Np"], ids["Numrun"], ids["Dp"], ids["Denrun"], ids["O"],
                             W, Z, W0, i0, i1, b, estimate=estimate)

    return chunks()


# -- the family --------------------------------------------------------------------

def _mode(d, F, M):
    if M >= streaming_memory(d, F):
        return "streaming"
    if M >= column_blocked_memory(d, F, 1):
        return "column-blocked"
    return "small-cache"


def approx_mode(dag, M):
    """The schedule :func:`approx_schedule` picks: streaming if it fits, else column-blocked, else small-cache."""
    n, d, F = check_approx(dag, "approx")
    return _mode(d, F, M)


def approx_io(n, d, g, M, *, mode=None):
    """``(mode, I/O)`` of :func:`approx_schedule` with the default block size (``F = C(d+g, g) - 1``)."""
    F = math.comb(d + g, g) - 1
    mode = mode or _mode(d, F, M)
    if mode == "streaming":
        return mode, streaming_io(n, d)
    if mode == "column-blocked":
        return mode, column_blocked_io(n, d, column_blocked_width(d, F, M))
    return mode, small_cache_io(n, d, F, small_cache_tile(n, d, F, g, M))


@streamed
def approx_schedule(dag, M, *, mode=None, block=None):
    """Alman-Song approximate attention: streaming, column-blocked or small-cache, picked from M.

    Streaming when ``M >= F (d + 2) + 2d + 3`` (I/O ``4nd``, optimal),
    column-blocked when ``M >= 3F + 5`` (I/O ``2nd + 2nd ceil(d/w)``),
    small-cache below (I/O about ``3 n R d / sqrt(M)``); ``F = R - 1``. See
    :func:`streaming_schedule`, :func:`column_blocked_schedule` and
    :func:`small_cache_schedule` for the exact counts and the game variants.

    Parameters
    ----------
    dag : DAG
        ``approx_attention_dag(n, d, g)`` with ``g >= 1`` and chain sums.
    M : int
        Red pebbles.
    mode : {"streaming", "column-blocked", "small-cache"}, optional
        Force a schedule; default :func:`approx_mode`.
    block : int, optional
        Columns per block (column-blocked) or tile side (small-cache).
    stream : bool
        Return an iterator of code chunks instead of a Schedule.

    Examples
    --------
    >>> from dags.attention import approx_attention_dag
    >>> g = approx_attention_dag(8, 2, 2)
    >>> approx_mode(g, 27), approx_mode(g, 20), approx_mode(g, 12)
    ('streaming', 'column-blocked', 'small-cache')
    """
    mode = approx_mode(dag, M) if mode is None else mode
    if mode not in MODES:
        raise StrategyError(f"argument 'mode' must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "streaming":
        if block is not None:
            raise StrategyError("argument 'block': the streaming schedule has no block size "
                                "(use mode='column-blocked')")
        return streaming_schedule(dag, M, stream=True)
    if mode == "column-blocked":
        return column_blocked_schedule(dag, M, block=block, stream=True)
    return small_cache_schedule(dag, M, block=block, stream=True)
