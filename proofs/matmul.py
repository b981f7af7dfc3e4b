"""Hong-Kung-type lower bound for the standard matrix product, with explicit constants.

Covers the DAGs of :func:`dags.families.matmul_dag` (``C = A B``, ``A`` of
``n x k``, ``B`` of ``k x m``, products ``P[i,j,l] = A[i,l] B[l,j]`` summed by
a chain or a tree) and :func:`dags.families.matvec_dag` (the case ``m = 1``).
"""

from __future__ import annotations

import math

import numpy as np

from .bound import Assumptions, Bound, register_bound
from .partition import format_phase, loomis_whitney_work, phase_bound

__all__ = ["matmul_bound", "matmul_shape", "in_trees_intact"]


def in_trees_intact(dag, expected_outputs) -> bool:
    """Whether the DAG still has the shape the partition proofs need.

    Every computed node that is not an output feeds exactly one node, the
    outputs are sinks, and there are ``expected_outputs`` of them (a DAG
    rebuilt with other outputs, or edited, is not covered).
    """
    outs = dag.outputs
    if outs.size != expected_outputs or np.any(dag.out_degree[outs] != 0):
        return False
    inner = dag.in_degree > 0
    inner[outs] = False
    return bool(np.all(dag.out_degree[inner] == 1))


def matmul_shape(dag):
    """``(n, k, m)`` of a matmul or matvec DAG whose structure is intact, else ``None``."""
    meta = dag.meta
    if meta.get("family") == "matmul":
        shape = (meta["n"], meta["k"], meta["m"])
    elif meta.get("family") == "matvec":
        shape = (meta["n"], meta["m"], 1)
    else:
        return None
    n, k, m = shape
    if dag.sources.size != n * k + k * m or not in_trees_intact(dag, n * m):
        return None
    return shape


@register_bound("matmul-partition", covers=lambda dag, M: matmul_shape(dag) is not None, variant="base",
                sliding=True)
def matmul_bound(dag, M):
    """Hong-Kung partition bound for ``C = A B``: ``Q >= max_R R (ceil(nkm / ((2M+R)/3)^1.5) - 1)``.

    At ``R = 4M`` this gives ``Q >= sqrt(2) nkm / sqrt(M) - 4M``.

    Proof (base game, recomputation allowed; the lemma and the witness
    events are in :mod:`proofs.partition`). Every non-source node but the
    outputs feeds exactly one node, so for each output ``C[i,j]`` its
    products and partial sums form an in-tree and every product has one
    witness event; there are ``nkm`` of them. Fix a phase and let X be the
    triples ``(i,j,l)`` whose product's event lies in it. The operands
    ``A[i,l]`` and ``B[l,j]`` are sources red in the phase, so in D. Walking
    up the tree of ``C[i,j]`` from the product reaches a node of Surv that
    belongs to the tree of ``C[i,j]`` alone; trees are disjoint, so X has at
    most ``|Surv|`` distinct pairs ``(i,j)``. By Loomis-Whitney
    ``|X| <= sqrt(|A-pairs| |B-pairs| |C-pairs|) <= ((|D| + |Surv|)/3)^1.5
    <= ((2M+R)/3)^1.5``. The lemma concludes.

    Literature: Hong & Kung (STOC 1981) prove the order ``nkm/sqrt(M)``;
    Irony, Toledo & Tiskin (JPDC 2004) count with Loomis-Whitney; Smith,
    Lowery, Langou & van de Geijn (2019) reach the leading term
    ``2 nkm/sqrt(M)`` in a model of fused multiply-adds without
    recomputation. That statement is about a different model and its full
    form is only recalled here, so it is not registered; the constant
    ``sqrt(2)`` above is the one proven for this DAG and this game.

    >>> from dags import matmul_dag
    >>> matmul_bound(matmul_dag(16, 16, 16), 4).value
    3010
    """
    n, k, m = matmul_shape(dag)
    count = n * k * m
    value, R, W = phase_bound(count, M, loomis_whitney_work)
    closed = math.sqrt(2) * count / math.sqrt(M) - 4 * M
    return Bound("matmul-partition", "lower", value, "partition (Hong-Kung, Loomis-Whitney)",
                 format_phase(f"n*k*m = {count} product", value, R, W, M)
                 + f" (closed form at R = 4M: sqrt(2)*{count}/sqrt({M}) - 4*{M} = {closed:.1f})",
                 Assumptions("base", sliding=True, regime="any M; useful when M is well below the matrices",
                             family="matmul/matvec, chain or tree sums"),
                 "Hong & Kung, STOC 1981; Irony, Toledo & Tiskin, JPDC 2004; constants derived in "
                 "proofs.matmul.matmul_bound",
                 {"R": R, "work_per_phase": W, "products": count})
