"""Lower bounds for Alman-Song approximate attention (the DAG of :func:`dags.attention.approx_attention_dag`).

Two statements:

- The trivial bound: all ``3nd`` entries of Q, K and V are needed and the
  ``nd`` outputs are computed, so ``Q >= 4nd`` (the generic bound
  ``trivial`` of :mod:`proofs.generic` gives exactly this number on these
  DAGs). The streaming schedule meets it when ``W``, ``Z`` and ``W0`` fit in
  fast memory (``M >= F (d+2) + 2d + 3`` for the schedules of
  :mod:`pebble.strategies.approx`): there the optimum is ``4nd``.
- :func:`approx_bound`, a partition bound for the regime where they do not
  fit, proven below.

BOUNDS.md conjectures about ``n R d^2 / M`` below the streaming threshold
(the order of the column-blocked schedule). What is proven here is weaker,
about ``sqrt(2) n d^1.5 sqrt(F) / sqrt(M)`` when ``F < n``: it exceeds
``4nd`` only for ``M`` below about ``F d / 8``. Closing the gap needs an
argument that a row of queries must meet all ``F d`` entries of ``W``
through its ``d`` running numerators; the numbers in the tightness table
of docs/bounds.md show how far apart the two are.
"""

from __future__ import annotations

import math

import numpy as np

from .bound import Assumptions, Bound, register_bound
from .partition import format_phase, loomis_whitney_work, phase_bound

__all__ = ["approx_bound", "approx_shape", "feature_factors"]


def approx_shape(dag):
    """``(n, d, g, F)`` of an approximate-attention DAG with ``g >= 1`` and intact structure, else ``None``.

    The proof needs: the ``nd`` outputs, sinks; every ``Np[i,a,c]``, every
    node of the sum ``Num``, every ``Wp`` and every partial sum of ``W``
    feeding exactly one node.
    """
    meta = dag.meta
    if meta.get("family") != "approx" or meta.get("g", 0) < 1:
        return None
    n, d, g = meta["n"], meta["d"], meta["g"]
    F = meta["R"] - 1
    outs = dag.outputs
    if dag.sources.size != 3 * n * d or outs.size != n * d or np.any(dag.out_degree[outs] != 0):
        return None
    single = [blk for blk in dag.labels.blocks
              if blk.name in ("Np", "Num", "Wp") or blk.name.startswith(("Num_acc", "Num_r", "W_acc", "W_r"))]
    ids = np.concatenate([blk.start + np.arange(blk.size) for blk in single]) if single else np.zeros(0, int)
    if np.any(dag.out_degree[ids] != 1):
        return None
    return n, d, g, F


def feature_factors(n, d, g, F):
    """``(rho, sigma)``: feature pairs per D-node of a query row, and W pairs per D-node.

    ``rho = max(F/d, C(d+g-2, g-2))`` (the second term only for ``g >= 2``),
    ``sigma = max(1, F/n)``; see :func:`approx_bound`.
    """
    rho = F / d
    if g >= 2:
        rho = max(rho, math.comb(d + g - 2, g - 2))
    return rho, max(1.0, F / n)


@register_bound("approx-partition", covers=lambda dag, M: approx_shape(dag) is not None, variant="base",
                sliding=True)
def approx_bound(dag, M):
    """Approximate attention: ``Q >= max_R R (ceil(n F d / (sqrt(rho sigma) ((2M+R)/3)^1.5)) - 1)``.

    ``F = R - 1`` features, ``rho = max(F/d, C(d+g-2, g-2))``,
    ``sigma = max(1, F/n)``. At phase length ``4M``:
    ``Q >= sqrt(2) n F d / (sqrt(rho sigma M)) - 4M``.

    Proof (base game, recomputation allowed; lemma and witness events in
    :mod:`proofs.partition`). Work events: the products
    ``Np[i,a,c] = w_a featQ[i,a] W[a,c]``, ``n F d`` of them; each ``Np`` and
    each node of the sum ``Num[i,c]`` feeds one node, so the tree of output
    ``O[i,c]`` through ``Num[i,c]`` gives each one event. In a phase with the
    triples X, bound the three projections by the D and Surv nodes.

    * ``(i,c)``: walking up the tree of ``O[i,c]`` reaches a Surv node private
      to ``(i,c)``: at most ``s`` pairs.
    * ``(a,c)``: ``W[a,c]`` is red at the event. Either a node private to the
      pair (``W[a,c]``, its partial sums, the ``Wp[j,a,c]``) is in D, or all
      ``n`` products ``Wp[j,a,c]`` are computed in the phase, which needs the
      whole column ``V[:,c]`` in D. With ``w`` private nodes and ``v`` entries
      of V in D: at most ``w + F floor(v/n) <= sigma (w + v)`` pairs.
    * ``(i,a)``: ``featQ[i,a]`` is red at the event. A feature is its parent
      (the monomial without its last variable) times ``Q[i, last]``, so one
      computed in the phase descends along that chain from a node of row
      ``i`` in D, every ``Q[i,l]`` multiplied in being in D too. With ``q_i``
      entries of ``Q[i,:]`` in D, the features whose variables all lie among
      them number ``C(q_i+g, g) - 1 <= (q_i/d) F`` (a convex function of
      ``q_i``, 0 at 0 and ``F`` at ``d``); a product feature (degree ``t >= 2``)
      in D extends to at most ``C(q_i+g-t, g-t) <= C(d+g-2, g-2)`` features.
      Hence at most ``rho (q + u)`` pairs, ``q`` and ``u`` the Q entries and
      product features of D.

    Loomis-Whitney and ``q + u + w + v + s <= |D| + |Surv| <= 2M + R`` give
    ``|X| <= sqrt(rho sigma) ((2M+R)/3)^1.5``; the lemma concludes.

    >>> from dags import build
    >>> approx_bound(build("approx:n=256,d=4,g=3"), 8).value  # trivial: 4nd = 4096
    5984
    """
    n, d, g, F = approx_shape(dag)
    rho, sigma = feature_factors(n, d, g, F)
    count = n * F * d
    factor = math.sqrt(rho * sigma)
    value, R, W = phase_bound(count, M, lambda K: loomis_whitney_work(K, factor))
    closed = math.sqrt(2) * count / math.sqrt(rho * sigma * M) - 4 * M
    return Bound("approx-partition", "lower", value, "partition (Loomis-Whitney)",
                 format_phase(f"n*F*d = {count} Np-product", value, R, W, M)
                 + f"; rho = {rho:.4g}, sigma = {sigma:.4g} (closed form at R = 4M: {closed:.1f})",
                 Assumptions("base", sliding=True,
                             regime=f"any M; above the trivial 4nd only for M below about F d / 8 = {F * d / 8:.3g}",
                             family="Alman-Song approximate attention, g >= 1, chain or tree sums"),
                 "derived in proofs.approx.approx_bound (Hong-Kung phases, Loomis-Whitney)",
                 {"R": R, "work_per_phase": W, "products": count, "rho": rho, "sigma": sigma})
