"""Classic DAG families, in the style of networkx generators.

Every builder takes its size first and options keyword-only, names the
graph, labels its nodes in blocks, numbers them topologically, and states its
node and edge counts in closed form. Reductions (``sums="chain"`` or
``"tree"``) follow the conventions of :mod:`dags.attention`: a reduction
``X`` of ``m >= 2`` terms is ``m - 1`` binary ``add`` nodes, its partial sums
in block ``X_acc`` (chain) or ``X_r1, X_r2, ...`` (tree rounds); a reduction
of one term is the term itself. The new families put their parameters in
``dag.meta`` (``family`` and the arguments).
"""

from __future__ import annotations

import numpy as np

from ._build import SUMS, Builder, check_choice, check_size
from .core import DAG, OP_CODES
from .specs import family

__all__ = ["path_dag", "pyramid_dag", "binary_tree_dag", "fft_dag", "matvec_dag", "matmul_dag", "stencil_dag",
           "random_layered_dag", "random_dag"]


@family("path", example="path:n=5")
def path_dag(n: int) -> DAG:
    """A chain ``x[0] -> x[1] -> ... -> x[n-1]``.

    ``n`` nodes and ``n - 1`` edges; one source, one output.

    >>> g = path_dag(5); g.num_nodes, g.num_edges
    (5, 4)
    """
    n = check_size("n", n)
    b = Builder()
    x = b.upcoming((n,))
    b.block("x", np.where(x == 0, OP_CODES["input"], OP_CODES["add"]), np.where(x == 0, -1, x - 1))
    return b.build(outputs=None, name=f"path({n})", meta=None)


@family("pyramid", example="pyramid:h=4")
def pyramid_dag(h: int) -> DAG:
    """The pyramid of height ``h``: rows of ``h+1, h, ..., 1`` nodes.

    Node ``p{r}[i]`` of row ``r >= 1`` adds ``p{r-1}[i]`` and ``p{r-1}[i+1]``.
    ``(h+1)(h+2)/2`` nodes, ``h(h+1)`` edges, ``h+1`` sources, one output.

    >>> g = pyramid_dag(4); g.num_nodes, g.num_edges
    (15, 20)
    """
    h = check_size("h", h, 0)
    b = Builder()
    row = b.inputs("p0", (h + 1,))
    for r in range(1, h + 1):
        row = b.block(f"p{r}", "add", row[:-1], row[1:])
    return b.build(outputs=None, name=f"pyramid({h})", meta=None)


@family("tree", example="tree:h=3")
def binary_tree_dag(h: int) -> DAG:
    """The complete binary in-tree of height ``h`` (leaves are the sources).

    Level ``t{k}`` has ``2^(h-k)`` nodes; ``t{k}[i]`` adds ``t{k-1}[2i]`` and
    ``t{k-1}[2i+1]``. ``2^(h+1) - 1`` nodes, ``2^(h+1) - 2`` edges, ``2^h``
    sources, one output.

    >>> g = binary_tree_dag(3); g.num_nodes, g.num_edges
    (15, 14)
    """
    h = check_size("h", h, 0)
    b = Builder()
    level = b.inputs("t0", (2 ** h,))
    for k in range(1, h + 1):
        level = b.block(f"t{k}", "add", level[0::2], level[1::2])
    return b.build(outputs=None, name=f"tree({h})", meta=None)


@family("fft", example="fft:k=3")
def fft_dag(k: int) -> DAG:
    """The FFT butterfly on ``2^k`` points: ``k`` stages of ``2^(k-1)`` butterflies.

    Stage ``x{s}`` (``s = 1..k``) pairs position ``i`` with ``i XOR 2^(s-1)``:
    the lower position of a pair is ``add(x{s-1}[lo], x{s-1}[hi])``, the upper
    ``sub(x{s-1}[lo], x{s-1}[hi])``. Numerically that is the Walsh-Hadamard
    transform (the FFT's data flow with unit twiddle factors).
    ``(k+1) 2^k`` nodes, ``k 2^(k+1)`` edges, ``2^k`` sources and outputs.

    >>> g = fft_dag(3); g.num_nodes, g.num_edges, g.outputs.size
    (32, 48, 8)
    """
    k = check_size("k", k, 0)
    size = 2 ** k
    i = np.arange(size)
    b = Builder()
    x = b.inputs("x0", (size,))
    for s in range(1, k + 1):
        bit = 1 << (s - 1)
        lo, hi = i & ~bit, i | bit
        op = np.where(i & bit, OP_CODES["sub"], OP_CODES["add"])
        x = b.block(f"x{s}", op, x[lo], x[hi])
    return b.build(outputs=None, name=f"fft({k})", meta={"family": "fft", "k": k})


@family("matvec", example="matvec:n=3")
def matvec_dag(n: int, m: int | None = None, *, sums: str = "chain") -> DAG:
    """The product ``y = A x`` of an ``n x m`` matrix and an ``m``-vector (``m = n`` by default).

    Blocks ``A`` (n, m) and ``x`` (m,) are the sources; ``P[i,j] = A[i,j] * x[j]``;
    ``y[i]`` sums ``P[i,:]`` (a chain or a balanced tree). ``nm + m + nm + n(m-1)``
    nodes, ``2nm + 2n(m-1)`` edges.

    >>> g = matvec_dag(3); g.num_nodes, g.num_edges, g.sources.size
    (27, 30, 12)
    """
    n = check_size("n", n)
    m = n if m is None else check_size("m", m)
    check_choice("sums", sums, SUMS)
    b = Builder()
    A = b.inputs("A", (n, m))
    x = b.inputs("x", (m,))
    P = b.block("P", "mul", A, x[None, :])
    b.reduce("y", P, 1, sums=sums)
    return b.build(outputs=None, name=f"matvec({n}x{m})", meta={"family": "matvec", "n": n, "m": m, "sums": sums})


@family("matmul", example="matmul:n=2,k=2,m=2")
def matmul_dag(n: int, k: int, m: int, *, sums: str = "chain") -> DAG:
    """The standard product ``C = A B`` of an ``n x k`` and a ``k x m`` matrix.

    Blocks ``A`` (n, k), ``B`` (k, m); ``P[i,j,l] = A[i,l] * B[l,j]`` of shape
    (n, m, k); ``C[i,j]`` sums ``P[i,j,:]`` (a chain or a balanced tree).
    ``nk + km + nmk + nm(k-1)`` nodes, ``2nmk + 2nm(k-1)`` edges.

    >>> g = matmul_dag(2, 2, 2); g.num_nodes, g.num_edges, g.outputs.size
    (20, 24, 4)
    """
    n, k, m = check_size("n", n), check_size("k", k), check_size("m", m)
    check_choice("sums", sums, SUMS)
    b = Builder()
    A = b.inputs("A", (n, k))
    B = b.inputs("B", (k, m))
    P = b.block("P", "mul", A[:, None, :], B.T[None, :, :])
    b.reduce("C", P, 2, sums=sums)
    meta = {"family": "matmul", "n": n, "k": k, "m": m, "sums": sums}
    return b.build(outputs=None, name=f"matmul({n}x{k}x{m})", meta=meta)


@family("stencil", example="stencil:n=8,t=4")
def stencil_dag(n: int, t: int) -> DAG:
    """A 1-D three-point stencil on ``n`` points over ``t`` time steps.

    One block ``u`` of shape ``(t+1, n)``: ``u[0,:]`` are the sources and
    ``u[s,i]`` averages ``u[s-1,i-1]``, ``u[s-1,i]``, ``u[s-1,i+1]`` (those that
    exist, in that order: an ``add`` with coef ``1/count``). ``(t+1) n`` nodes,
    ``t (3n - 2)`` edges, ``n`` sources, outputs ``u[t,:]``.

    >>> g = stencil_dag(8, 4); g.num_nodes, g.num_edges, g.outputs.size
    (40, 88, 8)
    """
    n, t = check_size("n", n), check_size("t", t, 0)
    b = Builder()
    u = b.upcoming((t + 1, n))
    prev = np.vstack([np.full((1, n), -1), u[:-1]])
    left = np.where(np.arange(n) > 0, np.roll(prev, 1, axis=1), -1)
    right = np.where(np.arange(n) < n - 1, np.roll(prev, -1, axis=1), -1)
    count = (left >= 0).astype(int) + (prev >= 0) + (right >= 0)
    op = np.where(count == 0, OP_CODES["input"], OP_CODES["add"])
    b.block("u", op, left, prev, right, coef=1.0 / np.maximum(count, 1))
    return b.build(outputs=None, name=f"stencil({n},{t})", meta={"family": "stencil", "n": n, "t": t})


@family("layered", example="layered:layers=4,width=4,seed=0")
def random_layered_dag(layers: int, width: int, *, p: float = 0.5, max_in_degree: int = 2, seed: int = 0) -> DAG:
    """A random layered DAG: ``layers`` rows of ``width`` nodes, edges between consecutive rows.

    Row ``x0`` holds the sources. Each node of row ``x{r}``, ``r >= 1``, takes
    every node of row ``r-1`` with probability ``p``, keeping at most
    ``max_in_degree`` of them (those with the smallest random keys) and at
    least one (the smallest key); operands in increasing order; operation
    ``add``. The same ``seed`` gives the same DAG. ``layers * width`` nodes;
    between ``(layers-1) width`` and ``(layers-1) width min(width, max_in_degree)``
    edges. Outputs: every sink.

    >>> g = random_layered_dag(4, 4, seed=0); g.num_nodes, g.max_in_degree <= 2
    (16, True)
    """
    layers, width = check_size("layers", layers), check_size("width", width)
    max_in_degree = check_size("max_in_degree", max_in_degree)
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 < p <= 1:
        raise ValueError(f"argument 'p' must be a probability in (0, 1], got {p!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"argument 'seed' must be an integer, got {seed!r}")
    rng = np.random.default_rng(seed)
    keys = rng.random((layers - 1, width, width))
    order = np.argsort(keys, axis=-1)[..., :max_in_degree]
    chosen = np.take_along_axis(keys, order, axis=-1) < p
    chosen[..., 0] = True
    picks = np.sort(np.where(chosen, order, width), axis=-1)  # absent operands sort last
    b = Builder()
    row = b.inputs("x0", (width,))
    for r in range(1, layers):
        operands = np.where(picks[r - 1] < width, row[np.minimum(picks[r - 1], width - 1)], -1)
        row = b.block(f"x{r}", "add", *np.moveaxis(operands, -1, 0))
    meta = {"family": "layered", "layers": layers, "width": width, "p": float(p), "max_in_degree": max_in_degree,
            "seed": int(seed)}
    return b.build(outputs=None, name=f"layered({layers}x{width},seed={seed})", meta=meta)


def random_dag(n: int, *, p: float = 0.5, max_in_degree: int | None = None, operands=None, sources: int = 0,
               shuffle: bool = False, seed: int = 0) -> DAG:
    """A random DAG on ``n`` nodes, for property tests.

    Nodes ``0 .. n-1`` are drawn in order; the first ``sources`` take no
    operands. Each later node ``v`` takes its operands among the nodes before
    it: ``k = min(v, c)`` of them uniformly at random, ``c`` drawn uniformly
    from the sequence ``operands`` if it is given; otherwise each earlier node
    with probability ``p``, then at most ``max_in_degree`` of those (a uniform
    random subset). Operands in increasing order; with ``shuffle`` the node
    ids are a random permutation (no longer topological). Outputs: every
    sink. The same arguments give the same DAG. ``n`` nodes; with
    ``operands``, ``sum_v min(v, c_v)`` edges over the nodes after the
    sources.

    >>> g = random_dag(6, operands=[2], sources=2, seed=1); g.num_nodes, g.num_edges, g.max_in_degree
    (6, 8, 2)
    """
    import random

    n = check_size("n", n)
    sources = check_size("sources", sources, 0)
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"argument 'p' must be a probability in [0, 1], got {p!r}")
    if max_in_degree is not None:
        max_in_degree = check_size("max_in_degree", max_in_degree, 0)
    if operands is not None:
        operands = [check_size("operands", c, 0) for c in operands]
        if not operands:
            raise ValueError("argument 'operands' must hold at least one count, got an empty sequence")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"argument 'seed' must be an integer, got {seed!r}")
    rng = random.Random(int(seed))
    edges = []
    for v in range(min(sources, n), n):
        if operands is not None:
            chosen = rng.sample(range(v), min(v, rng.choice(operands)))
        else:
            chosen = [u for u in range(v) if rng.random() < p]
            if max_in_degree is not None and len(chosen) > max_in_degree:
                chosen = rng.sample(chosen, max_in_degree)
        edges += [(u, v) for u in sorted(chosen)]
    ids = list(range(n))
    if shuffle:
        rng.shuffle(ids)
        edges = [(ids[u], ids[v]) for u, v in edges]
    meta = {"family": "random", "n": n, "p": float(p), "max_in_degree": max_in_degree,
            "operands": None if operands is None else list(operands), "sources": sources, "shuffle": bool(shuffle),
            "seed": int(seed)}
    return DAG.from_edges(n, edges, name=f"random({n},seed={seed})", meta=meta)
