"""Lower bounds computable on any DAG: trivial, spectral, and convex min-cut.

Notation: Q the optimal I/O (loads + stores) with M red pebbles; the *needed*
nodes are those with a path to an output (the outputs included); T the
trivial bound of :mod:`proofs.trivial`.

The spectral and min-cut bounds are proven for the one-shot game (every node
computed at most once): both rest on a value, once computed and later
evicted, coming back only by a load. They are therefore registered for
``one-shot`` (and every more restricted game) and not for the base game.
All three hold with sliding too: the proofs only look at the red pebbles at
moments that cannot fall between a sliding compute and its delete.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .bound import Assumptions, Bound, register_bound
from .trivial import trivial_lower_bound

__all__ = ["trivial_bound", "spectral_bound", "mincut_bound", "laplacian_bottom", "wavefront_mincut"]

#: Needed-node count up to which the Laplacian spectrum is computed densely (LAPACK, all eigenvalues).
DENSE_LIMIT = 800
#: Eigenvalues computed by the sparse solver (beyond them the bound extrapolates safely, see below).
SPARSE_EIGENVALUES = 12
#: Needed non-source nodes up to which the min-cut bound tries every node; above, an even sample.
MINCUT_ALL_LIMIT = 300
MINCUT_SAMPLE = 48


def _stored_outputs(dag) -> int:
    return int(np.count_nonzero(dag.in_degree[dag.outputs] > 0))


@register_bound("trivial", variant="base", sliding=True)
def trivial_bound(dag, M):
    """Every needed input is loaded once and every computed output stored once.

    Proof: a needed source starts with only a blue pebble and is an operand
    of some compute, so it is loaded at least once; an output that is not a
    source starts without pebbles and must end blue, which only a store does.
    Loads and stores are distinct moves. Holds in every game, for every M.
    (Implemented by :func:`proofs.trivial.trivial_lower_bound`.)

    >>> from dags import pyramid_dag
    >>> trivial_bound(pyramid_dag(3), 3).value
    5
    """
    total = trivial_lower_bound(dag)
    stores = _stored_outputs(dag)
    return Bound("trivial", "lower", total, "counting",
                 f"{total - stores} needed inputs loaded once + {stores} computed outputs stored once",
                 Assumptions("base", sliding=True), "elementary (BOUNDS.md, 'Any DAG'); proof in "
                 "proofs.generic.trivial_bound")


# -- the needed subgraph --------------------------------------------------

def _needed_edges(dag):
    """``(tails, heads)`` of the edges into needed nodes (their tails are needed too)."""
    heads = np.repeat(np.arange(dag.num_nodes, dtype=np.int64), dag.in_degree)
    keep = dag.needed[heads]
    return dag.indices[keep], heads[keep]


def weighted_laplacian(dag):
    """The Laplacian of the needed subgraph, undirected, edge ``u -> v`` weighted ``1/outdeg(u)``.

    Out-degrees count needed successors only. Returns ``(L, n)`` with ``L`` a
    ``scipy.sparse`` CSR matrix over the needed nodes, renumbered in id order.
    """
    import scipy.sparse as sp  # scipy.sparse costs ~0.35 s to import: loaded only by the bounds that use it

    needed = np.flatnonzero(dag.needed)
    n = needed.size
    index = np.full(dag.num_nodes, -1, np.int64)
    index[needed] = np.arange(n)
    tails, heads = _needed_edges(dag)
    outdeg = np.bincount(tails, minlength=dag.num_nodes)
    w = 1.0 / outdeg[tails]
    u, v = index[tails], index[heads]
    A = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))),
                      shape=(n, n)).tocsr()
    degree = np.asarray(A.sum(axis=1)).ravel()
    return (sp.diags(degree) - A).tocsr(), n


def laplacian_bottom(L, k):
    """The ``k`` smallest eigenvalues of a graph Laplacian, each lowered by its error bound.

    Up to :data:`DENSE_LIMIT` nodes all eigenvalues come from LAPACK
    (``numpy.linalg.eigvalsh``), lowered by ``1e-9 * ||L||``. Larger graphs use
    LOBPCG, a block method (so repeated eigenvalues are found together),
    preconditioned by an incomplete LU factorisation; each Ritz value is
    lowered by its residual norm, which bounds its distance to an eigenvalue.
    A block method that converged to the wrong invariant subspace would still
    overstate an eigenvalue: the sparse path is numerical, not certified.

    Returns ``(values, method)``, ``values`` ascending and clipped at 0.
    """
    n = L.shape[0]
    if n <= DENSE_LIMIT:
        vals = np.linalg.eigvalsh(L.toarray())
        scale = float(np.abs(vals).max()) if n else 0.0
        return np.clip(vals[:k] - 1e-9 * max(scale, 1.0), 0.0, None), "dense LAPACK eigenvalues"
    import scipy.sparse as sp  # scipy.sparse costs ~0.35 s to import: loaded only by the bounds that use it
    import scipy.sparse.linalg as sla

    block = min(n - 1, k + 4)
    ilu = sla.spilu((L + 1e-3 * sp.identity(n, format="csc")).tocsc(), drop_tol=1e-3, fill_factor=10,
                    permc_spec="MMD_AT_PLUS_A")
    precond = sla.LinearOperator((n, n), matvec=ilu.solve, matmat=ilu.solve, dtype=float)
    start = np.random.default_rng(0).standard_normal((n, block))
    start[:, 0] = 1.0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LOBPCG warns when it stops at maxiter; residuals are used below
        vals, vecs = sla.lobpcg(L, start, M=precond, largest=False, tol=1e-7, maxiter=150)
    order = np.argsort(vals)
    vals, vecs = vals[order], vecs[:, order]
    residual = np.linalg.norm(L @ vecs - vecs * vals, axis=0)
    return np.clip(vals[:k] - residual[:k], 0.0, None), "sparse LOBPCG eigenvalues (ILU preconditioned)"


@register_bound("spectral", covers=lambda dag, M: int(np.count_nonzero(dag.needed)) >= 2, variant="one-shot",
                sliding=True)
def spectral_bound(dag, M, *, eigenvalues=None):
    """Spectral bound (after Jain & Zaharia, SPAA 2020), one-shot game.

    ``Q >= T + max(0, max_k  floor(n/k)/2 * (lambda_1 + ... + lambda_k) - (k-1) M)``

    where ``n`` is the number of needed nodes, ``lambda_1 <= lambda_2 <= ...``
    the eigenvalues of the Laplacian of the needed subgraph taken undirected
    with edge ``u -> v`` weighted ``1/outdeg(u)``, and ``T`` the trivial bound
    (a first load of each needed input, a store of each computed output).

    Proof. Order the needed nodes by first appearance (compute, or first
    load of a source) and cut the order into ``k`` consecutive segments
    ``P_1..P_k`` of sizes ``floor(n/k)`` or ``ceil(n/k)``. The vectors
    ``1_{P_b}/sqrt|P_b|`` are orthonormal, so by Ky Fan's trace inequality
    ``sum_b cut(P_b)/|P_b| >= lambda_1 + ... + lambda_k``; each crossing
    edge is cut twice, so the weighted crossing count C satisfies
    ``C >= floor(n/k)/2 * sum_{i<=k} lambda_i``. Let ``U_b`` be the nodes
    outside ``P_b`` with an edge into ``P_b``; they lie in earlier segments
    and ``|U_b| >= `` the weight of the edges into ``P_b`` (a node ``u``
    carries at most ``outdeg(u)`` edges of weight ``1/outdeg(u)``), so
    ``sum_b |U_b| >= C``. During the moves from the first to the last
    appearance in ``P_b``, every ``u`` in ``U_b`` is red at a compute; at
    most M were red just before; the others are loaded inside the window,
    because in the one-shot game a node that already appeared is never
    computed again. Windows are disjoint and ``U_1`` is empty, so these loads
    number at least ``C - (k-1) M``. Each of them loads a node that appeared
    in an earlier segment, after that appearance, so none is the first load
    of an input (an input first appears by its first load): the trivial
    bound's first loads, and its stores of outputs, come on top.

    The statement of the paper could not be consulted here (only its
    abstract); the form above, segments of an evaluation order, Ky Fan's
    inequality and a credit of M per segment, follows its method, and the
    constants are re-derived: the weighted Laplacian dominates ``L/d_max``,
    the Laplacian divided by the largest out-degree, in the Loewner order,
    so this is at least the bound with that normalisation. For ``k`` beyond
    the eigenvalues computed, ``lambda_i >= lambda_k0`` gives the safe
    extension ``sum_{i<=k} >= sum_{i<=k0} + (k-k0) lambda_k0``.

    ``eigenvalues`` (optional) are precomputed smallest eigenvalues, ascending.
    """
    if eigenvalues is None:
        L, n = weighted_laplacian(dag)
        k0 = n if n <= DENSE_LIMIT else SPARSE_EIGENVALUES
        lam, how = laplacian_bottom(L, k0)
    else:
        n = int(np.count_nonzero(dag.needed))
        lam, how = np.clip(np.sort(np.asarray(eigenvalues, float)), 0.0, None), "given eigenvalues"
    k0 = lam.size
    ks = np.arange(1, n + 1, dtype=np.float64)
    prefix = np.cumsum(lam)
    extra = np.clip(ks - k0, 0, None)
    sums = np.where(ks <= k0, prefix[np.minimum(ks, k0).astype(np.int64) - 1], prefix[-1] + extra * lam[-1])
    raw = np.floor(n / ks) / 2 * sums - (ks - 1) * M
    best = int(np.argmax(raw))
    k = best + 1
    T = trivial_lower_bound(dag)
    value = T + max(0, math.ceil(raw[best] - 1e-9))
    return Bound("spectral", "lower", value, "spectral",
                 f"trivial {T} + max(0, floor({n}/{k})/2 * (sum of the {k} smallest Laplacian eigenvalues = "
                 f"{sums[best]:.6g}) - ({k}-1)*{M})",
                 Assumptions("one-shot", sliding=True),
                 "after S. Jain and M. Zaharia, Spectral lower bounds on the I/O complexity of computation "
                 "graphs, SPAA 2020 (arXiv 1909.09791); constants re-derived in proofs.generic.spectral_bound",
                 {"k": k, "eigenvalue_sum": float(sums[best]), "eigenvalues_computed": int(k0), "solver": how})


# -- convex min-cut -------------------------------------------------------

def _flow_network(dag):
    """The base network of :func:`wavefront_mincut` (without the terminals' edges)."""
    needed = dag.needed
    inner = np.flatnonzero(needed & (dag.in_degree > 0))
    index = np.full(dag.num_nodes, -1, np.int64)
    index[inner] = 2 + np.arange(inner.size)
    tails, heads = _needed_edges(dag)
    between = dag.in_degree[tails] > 0  # edges among needed non-sources
    t_in, h_in = tails[between], heads[between]
    is_out = np.zeros(dag.num_nodes, bool)
    is_out[dag.outputs] = True
    has_succ = np.bincount(t_in, minlength=dag.num_nodes) > 0
    with_aux = inner[has_succ[inner]]
    aux = np.full(dag.num_nodes, -1, np.int64)
    aux[with_aux] = 2 + inner.size + np.arange(with_aux.size)
    weight = np.where(is_out[with_aux], 1, 2)
    big = int(weight.sum()) + 1
    rows = [index[h_in], index[with_aux], aux[t_in]]
    cols = [index[t_in], aux[with_aux], index[h_in]]
    caps = [np.full(h_in.size, big), weight, np.full(t_in.size, big)]
    size = 2 + inner.size + with_aux.size
    succ = {}
    for u, v in zip(t_in.tolist(), h_in.tolist()):
        succ.setdefault(u, []).append(v)
    return inner, index, succ, (np.concatenate(rows), np.concatenate(cols), np.concatenate(caps)), size, big


def wavefront_mincut(dag, nodes=None):
    """For each node x, the least weighted wavefront of a computed set containing x.

    For a set P of needed non-sources closed under predecessors, containing
    x and none of its descendants, the wavefront is the set of nodes of P
    with a needed successor outside P, weighted 2 (1 for an output). Returns
    ``{x: least weight}`` over ``nodes`` (default: every needed non-source),
    each by one maximum flow (scipy's Dinic).
    """
    import scipy.sparse as sp  # scipy.sparse costs ~0.35 s to import: loaded only by the bounds that use it
    from scipy.sparse.csgraph import maximum_flow

    inner, index, succ, (rows, cols, caps), size, big = _flow_network(dag)
    nodes = inner if nodes is None else np.asarray(nodes, dtype=np.int64)
    result = {}
    for x in nodes.tolist():
        after = succ.get(x, [])
        r = np.concatenate([rows, [0], index[after]])
        c = np.concatenate([cols, [index[x]], np.ones(len(after), np.int64)])
        w = np.concatenate([caps, [big], np.full(len(after), big)])
        graph = sp.csr_matrix((w.astype(np.int32), (r, c)), shape=(size, size))
        result[x] = int(maximum_flow(graph, 0, 1).flow_value)
    return result


@register_bound("mincut", covers=lambda dag, M: bool(np.any(dag.needed & (dag.in_degree > 0))), variant="one-shot",
                sliding=True)
def mincut_bound(dag, M):
    """Convex min-cut (wavefront) bound, one-shot game: ``Q >= T + max_x (W(x) - 2M)``.

    ``W(x)`` is the least weight, over sets P of needed non-sources closed
    under predecessors that contain x but no descendant of x, of the nodes
    of P with a needed successor outside P (weight 2, or 1 for an output).

    Proof. Consider the moment right after x is computed (after the delete
    that follows, if the compute slid); in the one-shot game the computed
    needed non-sources form such a set P. A node v of the wavefront of P
    will be an operand again and cannot be recomputed: if it is not red now
    it is blue now (a store before this moment) and must be loaded again
    (a load after it). For an output the store is already counted in T, so
    only the load is new; for any other node both moves are new and belong
    to no other node. At most M of these nodes are red, each sparing at
    most 2, so the wavefront costs at least ``W(P) - 2M`` beyond T.
    Minimising over P is a minimum cut (closure edges of infinite capacity,
    one auxiliary node per wavefront candidate), one flow per x; any set of
    x gives a valid bound (above :data:`MINCUT_ALL_LIMIT` candidates an even
    sample in topological order is used). The idea is that of the convex
    min-cut bounds of Elango, Rastello, Pouchet, Ramanujam and Sadayappan
    (SPAA 2014), whose form is recalled as ``2 (w_max - S)``; the weights and
    the trivial term are derived here.

    >>> from dags import binary_tree_dag
    >>> mincut_bound(binary_tree_dag(2), 3).value  # 4 loads + 1 store; wavefront 2 * 2 < 2 * 3
    5
    """
    inner = np.flatnonzero(dag.needed & (dag.in_degree > 0))
    if inner.size > MINCUT_ALL_LIMIT:
        pos = np.zeros(dag.num_nodes, np.int64)
        pos[dag.topological_order] = np.arange(dag.num_nodes)
        ordered = inner[np.argsort(pos[inner])]
        nodes = ordered[np.linspace(0, inner.size - 1, MINCUT_SAMPLE).round().astype(np.int64)]
        tried = f"{MINCUT_SAMPLE} of {inner.size} nodes"
    else:
        nodes = inner
        tried = f"all {inner.size} nodes"
    cuts = wavefront_mincut(dag, nodes)
    x, w = max(cuts.items(), key=lambda item: (item[1], -item[0]))
    T = trivial_lower_bound(dag)
    value = T + max(0, w - 2 * M)
    return Bound("mincut", "lower", value, "convex min-cut",
                 f"trivial {T} + max(0, wavefront weight {w} at {dag.label(x)} - 2*{M}) over {tried}",
                 Assumptions("one-shot", sliding=True),
                 "after Elango et al., SPAA 2014 (convex min-cut); proof in proofs.generic.mincut_bound",
                 {"node": dag.label(x), "wavefront_weight": w})
