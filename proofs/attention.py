"""Lower bound for exact attention in both regimes of Saha & Ye, with explicit constants.

Covers the DAGs of :func:`dags.attention.attention_dag` (plain or safe
softmax, chain or tree sums). Saha & Ye (ICML 2024, Thm 3.1) prove
``Theta(min(n^2 d^2 / M, n^2 d / sqrt(M)))`` with no constants; the bound
here has them, in one formula whose two terms are the two regimes.
"""

from __future__ import annotations

import math

import numpy as np

from dags.attention import attention_nodes

from .bound import Assumptions, Bound, register_bound
from .partition import format_phase, loomis_whitney_work, phase_bound

__all__ = ["attention_bound", "attention_shape", "attention_work"]


def attention_shape(dag):
    """``(n, d)`` of an exact-attention DAG whose structure is intact, else ``None``.

    The proof needs: the ``nd`` outputs ``O``, sinks; every ``F[i,j,c]`` and
    every node of the sums ``N`` feeding exactly one node.
    """
    meta = dag.meta
    if meta.get("family") != "attention":
        return None

    n, d = meta["n"], meta["d"]
    ids = attention_nodes(dag)
    outs = dag.outputs
    if dag.sources.size != 3 * n * d or outs.size != n * d or np.any(dag.out_degree[outs] != 0):
        return None
    chain = [ids["F"].ravel()] + [v.ravel() for name, v in ids.items()
                                   if name == "N" or name.startswith(("N_acc", "N_r"))]
    if np.any(dag.out_degree[np.concatenate(chain)] != 1):
        return None
    return n, d


def attention_work(K, d):
    """The most ``F`` events of one phase with ``|D| + |Surv| <= K``: ``max((K/3)^1.5, K^2 / (16 d))``."""
    K = np.asarray(K, dtype=np.float64)
    return np.maximum(loomis_whitney_work(K), K * K / (16.0 * d))


@register_bound("saha-ye", covers=lambda dag, M: attention_shape(dag) is not None, variant="base", sliding=True)
def attention_bound(dag, M):
    """Exact attention: ``Q >= max_R R (ceil(n^2 d / W(2M+R)) - 1)``, ``W(K) = max((K/3)^1.5, K^2/(16d))``.

    Closed forms: at ``R = 2M``, when ``M >= 64 d^2 / 27`` (about ``2.37 d^2``,
    the FlashAttention regime), ``Q >= 2 n^2 d^2 / M - 2M``; at ``R = 4M``,
    when ``M <= 128 d^2 / 81`` (about ``1.58 d^2``, the square-tiling regime),
    ``Q >= sqrt(2) n^2 d / sqrt(M) - 4M``. (Each condition makes its term the
    larger one of ``W`` at that R.) FlashAttention's schedule moves about
    ``4 n^2 d^2 / M``.

    Proof (base game, recomputation allowed; lemma and witness events in
    :mod:`proofs.partition`). The work events are the second-level products
    ``F[i,j,c] = E[i,j] V[j,c]``, ``n^2 d`` of them: each ``F[i,j,c]`` and each
    node of the sum ``N[i,c]`` feeds exactly one node, so the tree of output
    ``O[i,c]`` through ``N[i,c]`` gives every ``F[i,j,c]`` one event. In a
    phase, let X be the triples ``(i,j,c)`` with their event in it; count its
    projections. ``(j,c)``: ``V[j,c]`` is a source, in D: at most ``v``
    (the V entries of D). ``(i,c)``: walking up the tree of ``O[i,c]`` reaches
    a node of Surv private to ``(i,c)``: at most ``s = |Surv|``. ``(i,j)``:
    ``E[i,j]`` is red at the event; either a node private to the pair
    (``E``, ``S``, ``Sdiff``, the partial sums of ``S``, the ``P[i,j,l]``) is in
    D (at most ``e`` pairs, ``e`` such nodes of D), or ``E[i,j]`` is computed
    inside the phase from sources only, which needs all of ``Q[i,:]`` and
    ``K[j,:]`` in D: with ``q`` and ``k`` entries of Q and K in D, at most
    ``(q/d)(k/d)`` pairs. By Loomis-Whitney
    ``|X| <= sqrt((e + qk/d^2) v s)`` with ``e + q + k + v + s <= K``. For a
    budget ``b`` on ``e + q + k``, ``e + qk/d^2 <= max(b, b^2/(4d^2))``
    (a convex function is largest at an end); then ``v = s = (K-b)/2`` and
    the best ``b`` (``K/3``, resp. ``K/2``) give ``(K/3)^1.5``, resp.
    ``K^2/(16d)``. The lemma concludes.

    Saha & Ye's order is recovered in both regimes; their proof (Lemma 3.3)
    is not reproduced: the argument above is derived here for this DAG.
    ATTENTION.md's candidate ``n^2 d^2 / (4 (d^2 + M)) - M`` is not used.

    >>> from dags import build
    >>> attention_bound(build("attention:n=64,d=4"), 16).value  # trivial: 4nd = 1024
    5808
    """
    n, d = attention_shape(dag)
    count = n * n * d
    value, R, W = phase_bound(count, M, lambda K: attention_work(K, d))
    K = 2 * M + R
    flash = K * K / (16 * d) >= (K / 3) ** 1.5
    side = "the K^2/(16d) term" if flash else "the (K/3)^1.5 term"
    regime = (f"{'FlashAttention' if flash else 'square-tiling'} regime: {side} bounds a phase "
              f"(M = {M}, d^2 = {d * d})")
    if 27 * M >= 64 * d * d:
        closed = f"; closed form 2*{n}^2*{d}^2/{M} - 2*{M} = {2 * n * n * d * d / M - 2 * M:.1f}"
    elif 81 * M <= 128 * d * d:
        tiling = math.sqrt(2) * count / math.sqrt(M) - 4 * M
        closed = f"; closed form sqrt(2)*{n}^2*{d}/sqrt({M}) - 4*{M} = {tiling:.1f}"
    else:
        closed = ""
    return Bound("saha-ye", "lower", value, "partition (Saha-Ye regimes, Loomis-Whitney)",
                 format_phase(f"n^2 d = {count} F-product", value, R, W, M) + closed,
                 Assumptions("base", sliding=True, regime=regime,
                             family="exact attention, plain or safe softmax, chain or tree sums"),
                 "regimes of Saha & Ye, ICML 2024, Thm 3.1; constants derived in proofs.attention.attention_bound",
                 {"R": R, "work_per_phase": W, "products": count, "flash_regime": bool(flash)})
