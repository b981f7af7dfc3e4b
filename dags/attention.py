"""Attention as computation DAGs: exact softmax attention and Alman-Song approximate attention.

Both builders number their nodes topologically and give every array of nodes its own label
block, contiguous and in C order (``dag.labels.block(name)``, :func:`attention_nodes`);
constants are attributes of operations, never nodes. The layout of every block, operand by
operand, and the chain and tree forms of the sums: docs/builders.md, "The node layout".
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ._build import SUMS, Builder, check_choice, check_size
from .core import DAG, OP_CODES
from .evaluate import block_values, evaluate
from .specs import family

__all__ = [
    "attention_dag", "approx_attention_dag", "attention_nodes", "feature_count", "exp_coefficients",
    "relative_error", "softmax_attention", "polynomial_attention", "output_error_bound", "check_against_numpy",
]

SOFTMAX = ("plain", "safe")
COEFFICIENTS = ("taylor", "chebyshev")


def _check_real(name, value, *, positive=False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or (positive and value <= 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise ValueError(f"argument '{name}' must be {kind}, got {value!r}")
    return float(value)


def _scale(scale, d):
    return 1.0 / math.sqrt(d) if scale is None else _check_real("scale", scale)


@family("attention", example="attention:n=4,d=2")
def attention_dag(n: int, d: int, *, scale: float | None = None, sums: str = "chain",
                  softmax: str = "plain") -> DAG:
    """Exact attention ``softmax(Q K^T * scale) V`` as a DAG (Saha & Ye's structure).

    Parameters
    ----------
    n, d : int
        Sequence length and head dimension (both >= 1).
    scale : float, optional
        Multiplies ``Q K^T`` before the exponential; default ``1/sqrt(d)``.
        It is the ``coef`` of the ``exp`` nodes.
    sums : {"chain", "tree"}
        Shape of every reduction: a chain or a balanced tree of binary nodes.
    softmax : {"plain", "safe"}
        ``"safe"`` subtracts the row maximum before the exponential.

    Returns
    -------
    DAG
        Layout in the module docstring; outputs ``O`` (``nd`` nodes);
        ``meta`` holds ``family="attention"``, ``n``, ``d``, ``scale``,
        ``sums``, ``softmax``. With plain softmax (chain or tree alike) it has
        ``3nd + 2n^2 d + n^2 (d-1) + n^2 + n(n-1) + nd(n-1) + nd`` nodes and
        ``2n^2 d + 2n^2 (d-1) + n^2 + 2n(n-1) + 2n^2 d + 2nd(n-1) + 2nd``
        edges; ``"safe"`` adds ``n(n-1) + n^2`` nodes and twice as many edges
        (for ``n = 1``, one more node and edge: a unary ``Smax``).

    Examples
    --------
    >>> g = attention_dag(4, 2); g.num_nodes, g.num_edges, g.outputs.size
    (164, 264, 8)
    >>> g.label(g.labels.block("S").start), g.label(g.outputs[-1])
    ('S[0,0]', 'O[3,1]')
    """
    n, d = check_size("n", n), check_size("d", d)
    check_choice("sums", sums, SUMS)
    check_choice("softmax", softmax, SOFTMAX)
    scale = _scale(scale, d)
    b = Builder()
    Q, K, V = (b.inputs(name, (n, d)) for name in "QKV")
    P = b.block("P", "mul", Q[:, None, :], K[None, :, :])
    S = b.reduce("S", P, 2, sums=sums)
    if softmax == "safe":
        # With one key the maximum is a unary node, so that Sdiff has two distinct operands.
        Smax = b.reduce("Smax", S, 1, op="max", sums=sums) if n > 1 else b.block("Smax", "max", S[:, 0])
        S = b.block("Sdiff", "sub", S, Smax[:, None])
    E = b.block("E", "exp", S, coef=scale)
    L = b.reduce("L", E, 1, sums=sums)
    F = b.block("F", "mul", E[:, :, None], V[None, :, :])
    N = b.reduce("N", F, 1, sums=sums)
    O = b.block("O", "div", N, L[:, None])
    meta = {"family": "attention", "n": n, "d": d, "scale": scale, "sums": sums, "softmax": softmax}
    return b.build(outputs=O.ravel(), name=f"attention(n={n},d={d})", meta=meta)


# -- the polynomial ----------------------------------------------------------

def feature_count(d: int, g: int) -> int:
    """``R = C(d+g, g)``: monomials of degree ``<= g`` in ``d`` variables, the constant included.

    >>> [feature_count(d, g) for d, g in [(2, 2), (4, 2), (4, 3), (8, 2)]]
    [6, 15, 35, 45]
    """
    return math.comb(check_size("d", d) + check_size("g", g, 0), g)


def exp_coefficients(g: int, radius: float, method: str = "taylor") -> np.ndarray:
    """Power-basis coefficients ``c_0 .. c_g`` of a degree-``g`` approximation of ``exp`` on ``[-radius, radius]``.

    ``"taylor"``: ``c_t = 1/t!`` (the expansion at 0). ``"chebyshev"``: the
    interpolant of ``exp`` at the ``g+1`` Chebyshev points of the interval,
    within a factor ``O(log g)`` of the best uniform approximation (Trefethen,
    *Approximation Theory and Approximation Practice*, ch. 16).

    >>> exp_coefficients(2, 1.0).tolist()
    [1.0, 1.0, 0.5]
    """
    g = check_size("g", g, 0)
    radius = _check_real("radius", radius, positive=True)
    check_choice("coefficients", method, COEFFICIENTS)
    if method == "taylor":
        return np.array([1.0 / math.factorial(t) for t in range(g + 1)])
    cheb = np.polynomial.Chebyshev.interpolate(np.exp, g, domain=[-radius, radius])
    coef = cheb.convert(kind=np.polynomial.Polynomial).coef
    return np.pad(coef, (0, g + 1 - coef.size))


def relative_error(coefficients, radius: float) -> float:
    """``max |P(x) - e^x| / e^x`` over ``|x| <= radius`` for ``P`` with power-basis ``coefficients``.

    Exact up to rounding: ``P(x) e^(-x)`` is extremal at the interval's ends
    or where its derivative ``(P'(x) - P(x)) e^(-x)`` vanishes, that is at
    the real roots of the polynomial ``P' - P``.

    >>> round(relative_error([1.0, 1.0], 0.5), 6)  # 1 + x against e^x: worst at x = -0.5
    0.175639
    """
    radius = _check_real("radius", radius, positive=True)
    p = np.polynomial.Polynomial(np.asarray(coefficients, dtype=float))
    roots = (p.deriv() - p).roots() if p.degree() > 0 else np.zeros(0)
    real = roots.real[(np.abs(roots.imag) <= 1e-9 * (1 + np.abs(roots.real))) & (np.abs(roots.real) <= radius)]
    x = np.concatenate([[-radius, radius], real])
    return float(np.max(np.abs(p(x) * np.exp(-x) - 1.0)))


def output_error_bound(eps: float, v_max: float) -> float:
    """Bound on ``max |O_approx - O_exact|`` when the kernel has relative error ``eps < 1``.

    With weights ``w_j = e_j (1 + delta_j)``, ``|delta_j| <= eps``, and
    ``dbar`` their ``e``-weighted mean, ``w_j/sum(w) - e_j/sum(e) =
    (e_j/sum(e)) (delta_j - dbar)/(1 + dbar)``, whose absolute values sum to at
    most ``2 eps / (1 - eps)``; so each output moves by at most
    ``2 eps / (1 - eps) * max |V|``. (Alman & Song state ``4 eps max|V|``.)

    >>> output_error_bound(0.01, 1.0)
    0.020202020202020204
    """
    if not 0 <= eps < 1:
        raise ValueError(f"argument 'eps' must be in [0, 1), got {eps!r}")
    return 2 * eps / (1 - eps) * v_max


def _monomials(d, g):
    """Features of degree 1..g: variable lists, degree, parent feature, last variable, multinomial."""
    feats = [m for t in range(1, g + 1) for m in itertools.combinations_with_replacement(range(d), t)]
    index = {m: a for a, m in enumerate(feats)}
    degree = np.array([len(m) for m in feats], np.int64)
    parent = np.array([index.get(m[:-1], -1) for m in feats], np.int64)
    last = np.array([m[-1] for m in feats], np.int64)
    multinomial = np.array([math.factorial(len(m)) // math.prod(math.factorial(m.count(v)) for v in set(m))
                            for m in feats], dtype=float)
    return feats, degree, parent, last, multinomial


def _features(b, name, X, parent, last):
    """Node ids ``(n, F)`` of the feature map of rows ``X``; builds block ``name`` for degrees >= 2.

    A monomial of degree >= 2 is its parent times its last variable, except
    the pure square ``x_l^2``, whose parent is ``x_l`` itself: one ``square``
    node (an edge cannot be doubled).
    """
    d = X.shape[1]
    higher = b.upcoming((X.shape[0], parent.size - d))
    feat = np.concatenate([X, higher], axis=1)
    square = parent[d:] == last[d:]
    b.block(name, np.where(square, OP_CODES["square"], OP_CODES["mul"]), feat[:, parent[d:]],
            np.where(square, -1, X[:, last[d:]]))
    return feat


@family("approx", example="approx:n=64,d=2,g=2")
def approx_attention_dag(n: int, d: int, g: int, *, bound_B: float | None = None, interval: float | None = None,
                         coefficients: str = "chebyshev", scale: float | None = None, sums: str = "chain") -> DAG:
    """Alman-Song approximate attention: a degree-``g`` polynomial kernel through low-rank features.

    ``exp(scale <q_i, k_j>)`` is replaced by ``P(scale <q_i, k_j>)``, ``P`` of
    degree ``g`` approximating ``exp`` on ``[-r, r]``, and ``P`` is factorised
    into ``R = C(d+g, g)`` monomial features, so that
    ``O = (U1 W) / (U1 Z)`` with ``W = U2^T V`` and ``Z = U2^T 1``: the
    ``n x n`` matrix never exists (Alman & Song, NeurIPS 2023). The DAG
    evaluates to the polynomial-kernel attention exactly (up to rounding).

    Parameters
    ----------
    n, d : int
        Sequence length and head dimension (>= 1).
    g : int
        Degree of the polynomial (>= 0).
    bound_B : float, optional
        Entries of Q and K lie in ``[-B, B]``, so ``r = |scale| d B^2``.
        Default 1 when ``interval`` is not given.
    interval : float, optional
        The half-width ``r`` itself (give this or ``bound_B``, not both).
    coefficients : {"chebyshev", "taylor"}
        How ``P`` is chosen (see :func:`exp_coefficients`). Chebyshev (the
        default) is close to the best uniform approximation on the interval;
        Taylor around 0 has a much larger relative error at the same degree
        (at g = 2, B = 1, d = 2: eps 0.38 against 1.41).
    scale : float, optional
        Default ``1/sqrt(d)``.
    sums : {"chain", "tree"}
        Shape of every reduction.

    Returns
    -------
    DAG
        Layout in the module docstring; outputs ``O``; sources exactly the
        ``3nd`` entries of Q, K, V. ``meta``: ``family="approx"``, ``n``,
        ``d``, ``g``, ``R``, ``eps`` (the relative error of ``P`` on the
        interval, see :func:`relative_error`), ``interval`` ``[-r, r]``,
        ``coefficients`` (``c_0 .. c_g``), ``coefficient_method``, ``scale``,
        ``bound_B``, ``sums``, ``features``. With ``F = R - 1 >= 2`` it has
        ``3nd + (4n-1) F d + (5n-1) F - n - d`` nodes and
        ``2 ((4n-1) F d + (5n-1) F - n - d) - 2nd`` edges (every node binary
        but the ``2nd`` pure squares; for ``g = 1`` there are none, so add
        ``2nd``). ``F = 1`` (``d = g = 1``) adds ``n`` nodes and ``n`` edges (a
        unary ``Den`` node per row). For ``g = 0``: ``3nd + (n-1) d + nd``
        nodes and ``2(n-1) d + nd`` edges.

    Examples
    --------
    >>> g = approx_attention_dag(64, 2, 2); g.meta["R"], g.num_nodes, g.num_edges, g.sources.size
    (6, 4463, 7902, 384)
    >>> round(g.meta["eps"], 3)  # Chebyshev, r = sqrt(2)
    0.383
    >>> # Taylor: 1 + x + x^2/2 is 0.586 where e^x is 0.243
    >>> round(approx_attention_dag(64, 2, 2, coefficients="taylor").meta["eps"], 3)
    1.409
    """
    n, d, g = check_size("n", n), check_size("d", d), check_size("g", g, 0)
    check_choice("coefficients", coefficients, COEFFICIENTS)
    check_choice("sums", sums, SUMS)
    scale = _scale(scale, d)
    if interval is not None and bound_B is not None:
        raise ValueError("give argument 'bound_B' or argument 'interval', not both")
    if interval is None:
        bound_B = 1.0 if bound_B is None else _check_real("bound_B", bound_B, positive=True)
        radius = abs(scale) * d * bound_B ** 2
        if radius == 0:
            raise ValueError("argument 'scale' must be nonzero (the interval |scale| d B^2 would be empty)")
    else:
        radius = _check_real("interval", interval, positive=True)
    c = exp_coefficients(g, radius, coefficients)
    if c[0] <= 0:
        raise ValueError(f"the {coefficients} polynomial has constant term {c[0]:.3g} <= 0 on [-{radius}, {radius}]")
    feats, degree, parent, last, multinomial = _monomials(d, g)
    meta = {"family": "approx", "n": n, "d": d, "g": g, "R": math.comb(d + g, g),
            "eps": relative_error(c, radius), "interval": [-radius, radius], "coefficients": c.tolist(),
            "coefficient_method": coefficients, "scale": scale, "bound_B": bound_B, "sums": sums,
            "features": [list(m) for m in feats]}

    b = Builder()
    Q, K, V = (b.inputs(name, (n, d)) for name in "QKV")
    if g == 0:
        W0 = b.reduce("W0", V, 0, sums=sums)
        O = b.block("O", "mul", W0[None, :], shape=(n, d), coef=1.0 / n)
    else:
        weight = c[degree] * multinomial * scale ** degree / c[0]
        featK = _features(b, "U2", K, parent, last)
        Wp = b.block("Wp", "mul", featK[:, :, None], V[:, None, :])
        W = b.reduce("W", Wp, 0, sums=sums)
        W0 = b.reduce("W0", V, 0, sums=sums)
        Z = b.reduce("Z", featK, 0, sums=sums)
        featQ = _features(b, "U1", Q, parent, last)
        Np = b.block("Np", "mul", featQ[:, :, None], W[None, :, :], coef=weight[None, :, None])
        Num = b.reduce("Num", np.concatenate([np.broadcast_to(W0, (n, 1, d)), Np], axis=1), 1, sums=sums)
        Dp = b.block("Dp", "mul", featQ, Z[None, :], coef=weight[None, :])
        Den = b.reduce("Den", Dp, 1, sums=sums, const=float(n))
        O = b.block("O", "div", Num, Den[:, None])
    return b.build(outputs=O.ravel(), name=f"approx(n={n},d={d},g={g})", meta=meta)


# -- references and node lookup ------------------------------------------------

def softmax_attention(Q, K, V, scale=None):
    """``softmax(Q K^T * scale) V`` computed directly (row maximum subtracted); default scale ``1/sqrt(d)``.

    >>> I = np.eye(2); softmax_attention(I, I, I, scale=0.0).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    Q, K, V = (np.asarray(x, dtype=float) for x in (Q, K, V))
    s = (Q @ K.T) * _scale(scale, Q.shape[1])
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return (e @ V) / e.sum(axis=1, keepdims=True)


def polynomial_attention(Q, K, V, coefficients, scale=None):
    """Attention with kernel ``P(scale <q_i, k_j>)`` instead of ``exp``, computed directly with its ``n x n`` matrix.

    >>> I = np.eye(2); polynomial_attention(I, I, I, [1.0, 1.0], scale=1.0).tolist()
    [[0.6666666666666666, 0.3333333333333333], [0.3333333333333333, 0.6666666666666666]]
    """
    Q, K, V = (np.asarray(x, dtype=float) for x in (Q, K, V))
    kernel = np.polynomial.polynomial.polyval((Q @ K.T) * _scale(scale, Q.shape[1]), np.asarray(coefficients))
    return (kernel @ V) / kernel.sum(axis=1, keepdims=True)


def attention_nodes(dag: DAG) -> dict:
    """Node ids of every named array of an attention DAG, as integer arrays of the array's shape.

    Reads the label blocks and ``dag.meta``; unlike the blocks it also names
    the reductions of a single term (``S`` is ``P[:, :, 0]`` when ``d = 1``)
    and, for the approximate DAG, the feature maps ``featK`` and ``featQ``
    of shape ``(n, R-1)`` (``K``/``Q`` then ``U2``/``U1``).

    >>> ids = attention_nodes(attention_dag(2, 1)); ids["S"].tolist() == ids["P"][:, :, 0].tolist()
    True
    """
    family_name = dag.meta.get("family")
    if family_name not in ("attention", "approx"):
        raise ValueError(f"DAG {dag.name!r} is not an attention DAG (meta family {family_name!r})")
    out = {}
    for blk in dag.labels.blocks:
        out[blk.name] = blk.start + np.arange(blk.size, dtype=np.int64).reshape(blk.shape)
    if family_name == "attention":
        out.setdefault("S", out["P"][:, :, 0])
        out.setdefault("L", out["E"][:, 0])
        out.setdefault("N", out["F"][:, 0, :])
        return out
    out.setdefault("W0", out["V"][0])
    if dag.meta["g"] > 0:
        out["featK"] = np.concatenate([out["K"], out["U2"]], axis=1)
        out["featQ"] = np.concatenate([out["Q"], out["U1"]], axis=1)
        out.setdefault("W", out["Wp"][0])
        out.setdefault("Z", out["featK"][0])
    return out


def check_against_numpy(dag: DAG, *, seed: int = 0, bound: float | None = None) -> dict:
    """Evaluate an attention DAG on random inputs and compare it with numpy.

    Q, K, V are uniform in ``[-bound, bound]`` (default: the approximate DAG's
    ``B``, from ``bound_B`` or its interval; 1 for exact attention). Returns
    ``{"bound", "seed", "checks": [...]}``, one check per reference, each with
    the largest absolute error, the error relative to the largest reference
    entry, the tolerance it must meet and whether it does: exact attention
    must match softmax attention to ``1e-10`` relative; the approximate DAG
    must match its polynomial-kernel attention to ``1e-10`` relative and
    softmax attention within :func:`output_error_bound`, a bound that holds
    only when ``eps < 1`` and every score ``scale <q_i, k_j>`` lies in the
    interval (else the check has no tolerance and says why).
    """
    meta = dag.meta
    if meta.get("family") not in ("attention", "approx"):
        raise ValueError(f"DAG {dag.name!r} is not an attention DAG (meta family {meta.get('family')!r})")
    n, d, scale = meta["n"], meta["d"], meta["scale"]
    if bound is None:
        bound = 1.0
        if meta["family"] == "approx":
            bound = meta["bound_B"] or math.sqrt(meta["interval"][1] / (abs(scale) * d))
    bound = _check_real("bound", bound, positive=True)
    Q, K, V = np.random.default_rng(seed).uniform(-bound, bound, (3, n, d))
    out = block_values(dag, evaluate(dag, {"Q": Q, "K": K, "V": V}), "O")
    exact = softmax_attention(Q, K, V, scale)
    refs = []
    if meta["family"] == "attention":
        refs.append(("softmax attention", exact, 1e-10, True))
    else:
        refs.append(("polynomial-kernel attention", polynomial_attention(Q, K, V, meta["coefficients"], scale),
                     1e-10, True))
        eps, radius = meta["eps"], meta["interval"][1]
        tol, note = output_error_bound(eps, np.abs(V).max()) if eps < 1 else None, "eps >= 1"
        if abs(scale) * d * bound ** 2 > radius * (1 + 1e-12):
            tol, note = None, f"scores may leave [-{radius:.4g}, {radius:.4g}]"
        refs.append(("softmax attention", exact, tol, False, note))
    checks = []
    for name, ref, tol, relative, *note in refs:
        err = float(np.abs(out - ref).max())
        rel = err / float(np.abs(ref).max())
        check = {"reference": f"numpy {name}", "max_abs_error": err, "rel_error": rel, "tolerance": tol,
                 "tolerance_on": "rel_error" if relative else "max_abs_error",
                 "ok": None if tol is None else bool((rel if relative else err) <= tol)}
        if tol is None:
            check["no_tolerance_because"] = note[0]
        checks.append(check)
    return {"seed": seed, "bound": bound, "checks": checks}
