"""The I/O scaling experiment: FlashAttention against the Alman-Song schedules as n grows.

With ``d``, ``g`` and ``M`` fixed, for each sequence length ``n``:

- exact attention (:func:`dags.attention.attention_dag`): generate the
  FlashAttention schedule, verify it, count its I/O;
- approximate attention (:func:`dags.attention.approx_attention_dag`):
  generate the Alman-Song schedule that ``M`` allows (streaming,
  column-blocked or small-cache), verify it, count its I/O, and evaluate the
  DAG on random inputs with entries in ``[-B, B]`` to measure its error
  against exact softmax attention.

Every count comes from the verifier (a point whose schedule the verifier
rejects raises); the closed form of each generator stands beside it. The
growth exponent of I/O in ``n`` is the slope of a least-squares line through
``(log n, log I/O)`` over the largest half of the lengths measured. With
``workers > 1`` the points are measured side by side in worker processes
(:func:`pebble.jobs.run_tasks`), each verified there, and come back in the
order of the sequential run.
"""

from __future__ import annotations

import csv
import functools
import time
from dataclasses import asdict, dataclass

import numpy as np

from dags.attention import approx_attention_dag, attention_dag, output_error_bound, softmax_attention
from dags.errors import ArgumentError, PebbleError
from dags.evaluate import block_values, evaluate
from proofs import trivial_lower_bound

from .jobs import run_tasks
from .strategies import generate_verified
from .strategies.approx import approx_io, approx_schedule
from .strategies.attention import flash_io, flash_memory, flash_schedule
from .strategies.common import StrategyError

__all__ = ["Point", "ExperimentError", "describe", "tail_exponent", "measure_exact", "measure_approx", "sweep",
           "fit_exponent", "crossover", "write_csv", "plot_sweep", "powers_of_two"]


@dataclass
class Point:
    """One measured schedule: what ran, what the verifier counted, and (approximate DAG) the error."""

    dag: str
    strategy: str
    n: int
    d: int
    g: int | None
    M: int
    moves: int
    loads: int
    stores: int
    io: int
    formula_io: int
    trivial_lower_bound: int
    seconds: float
    max_error: float | None = None
    error_rows: int | None = None
    eps: float | None = None
    error_bound: float | None = None


class ExperimentError(PebbleError, RuntimeError):
    """A generated schedule the verifier rejected: a bug in a generator, never a result."""

    exit_code = 3


def powers_of_two(lo, hi):
    """``lo, 2 lo, 4 lo, ...`` up to ``hi``.

    >>> powers_of_two(16, 100)
    [16, 32, 64]
    """
    out = []
    n = lo
    while n <= hi:
        out.append(n)
        n *= 2
    return out


def _run(generator, dag, M):
    start = time.perf_counter()
    report = generate_verified(generator, dag, M)
    seconds = time.perf_counter() - start
    if not report.valid:
        raise ExperimentError(f"the verifier rejects the schedule for {dag.name}, M = {M}: {report.violation}")
    return report, seconds, trivial_lower_bound(dag)


def measure_exact(n, d, M) -> Point:
    """FlashAttention on ``attention_dag(n, d)``: generated, verified, counted.

    >>> p = measure_exact(8, 2, 17); p.io == p.formula_io == 160
    True
    """
    dag = attention_dag(n, d)
    report, seconds, lower = _run(flash_schedule, dag, M)
    return Point(dag=dag.name, strategy="flash", n=n, d=d, g=None, M=M, moves=report.moves, loads=report.loads,
                 stores=report.stores, io=report.io, formula_io=flash_io(n, d, M), trivial_lower_bound=lower,
                 seconds=round(seconds, 3))


def measure_approx(n, d, g, M, *, bound_B=1.0, coefficients="chebyshev", seed=0, error_rows=1024) -> Point:
    """The Alman-Song schedule on ``approx_attention_dag(n, d, g)``, and the DAG's error on random inputs.

    ``Q``, ``K``, ``V`` have entries uniform in ``[-bound_B, bound_B]``; the
    error is the largest absolute difference between the evaluated DAG's
    outputs and ``softmax(Q K^T / sqrt(d)) V`` over ``error_rows`` query rows
    drawn at random (all rows when ``n <= error_rows``).

    >>> p = measure_approx(16, 2, 3, 43); p.strategy, p.io == p.formula_io == 128, p.max_error < p.error_bound
    ('approx:streaming', True, True)
    """
    dag = approx_attention_dag(n, d, g, bound_B=bound_B, coefficients=coefficients)
    mode, formula = approx_io(n, d, g, M)
    report, seconds, lower = _run(approx_schedule, dag, M)
    rng = np.random.default_rng(seed)
    Q, K, V = (rng.uniform(-bound_B, bound_B, (n, d)) for _ in range(3))
    O = block_values(dag, evaluate(dag, {"Q": Q, "K": K, "V": V}), "O")
    rows = np.arange(n) if n <= error_rows else np.sort(rng.choice(n, error_rows, replace=False))
    error = float(np.max(np.abs(O[rows] - softmax_attention(Q[rows], K, V))))
    eps = float(dag.meta["eps"])
    return Point(dag=dag.name, strategy=f"approx:{mode}", n=n, d=d, g=g, M=M, moves=report.moves,
                 loads=report.loads, stores=report.stores, io=report.io, formula_io=formula,
                 trivial_lower_bound=lower, seconds=round(seconds, 3), max_error=error, error_rows=int(rows.size),
                 eps=eps, error_bound=output_error_bound(eps, bound_B) if eps < 1 else None)


def fit_exponent(ns, ios) -> float:
    """Slope of the least-squares line through ``(log n, log io)``.

    >>> round(fit_exponent([16, 32, 64], [256, 1024, 4096]), 6)
    2.0
    """
    if len(ns) < 2:
        raise ArgumentError("argument 'ns': an exponent needs at least two lengths")
    return float(np.polyfit(np.log(np.asarray(ns, float)), np.log(np.asarray(ios, float)), 1)[0])


def tail_exponent(points):
    """:func:`fit_exponent` over the largest half (at least two) of the measured lengths."""
    pts = sorted(points, key=lambda p: p.n)
    tail = pts[-max(2, (len(pts) + 1) // 2):]
    return fit_exponent([p.n for p in tail], [p.io for p in tail])


def crossover(d, g, M, *, limit=1 << 20):
    """Smallest ``n`` at which the Alman-Song schedule moves fewer words than FlashAttention, by their closed forms.

    Both closed forms equal the verifier's counts (the tests check them over
    grids of parameters); FlashAttention's grows as ``n^2``, the other's
    linearly, so past this ``n`` the approximate schedule stays ahead.
    ``None`` if not reached by ``limit``.

    >>> crossover(2, 3, 32)
    11
    """
    if M < flash_memory(2, d, 1):
        raise ArgumentError(f"argument 'M': FlashAttention needs M >= {flash_memory(2, d, 1)} with d = {d}, got {M}")
    for n in range(1, limit + 1):
        if approx_io(n, d, g, M)[1] < flash_io(n, d, M):
            return n
    return None


def sweep(d, g, M, *, exact_ns, approx_ns, bound_B=1.0, coefficients="chebyshev", seed=0, progress=None,
          workers=1):
    """Measure every length: FlashAttention on ``exact_ns``, Alman-Song on ``approx_ns``.

    Returns a dict with the ``points`` (a list of :class:`Point`, exact lengths
    first, each list in its order), the fitted ``exponents`` (``flash`` and
    ``approx``) and the ``crossover`` length. ``progress`` (optional) is called
    with each point as it is measured. ``workers`` above 1 measures that many
    points at once in worker processes; the result is the same but for the
    ``seconds`` of each point.
    """
    if M < flash_memory(2, d, 1):
        raise StrategyError(f"strategy 'flash' needs M >= {flash_memory(2, d, 1)} with d = {d}, got M = {M}")
    approx_io(1, d, g, M)  # checks d and g
    jobs = [("exact", n) for n in exact_ns] + [("approx", n) for n in approx_ns]
    measure = functools.partial(_measure_point, (d, g, M, bound_B, coefficients, seed))

    def finish(job, outcome, attempts):
        if "point" not in outcome:  # the worker's own error, or a worker that died twice
            raise outcome.get("exception") or ExperimentError(f"{job[0]} attention, n = {job[1]}: {outcome['reason']}")
        if progress is not None:
            progress(outcome["point"])
        return outcome["point"]

    if workers == 1:
        points = [finish(job, measure(job), 1) for job in jobs]
    else:
        points = run_tasks(jobs, measure, finish, workers=workers)
    flash = [p for p in points if p.strategy == "flash"]
    approx = [p for p in points if p.strategy.startswith("approx")]
    exponents = {name: tail_exponent(pts) if len(pts) >= 2 else None
                 for name, pts in (("flash", flash), ("approx", approx))}
    return {"points": points, "exponents": exponents, "crossover": crossover(d, g, M)}


def _measure_point(settings, job):
    """One point of :func:`sweep` (what a worker runs); an error of the toolkit comes back to be raised again."""
    d, g, M, bound_B, coefficients, seed = settings
    kind, n = job
    try:
        if kind == "exact":
            return {"point": measure_exact(n, d, M)}
        return {"point": measure_approx(n, d, g, M, bound_B=bound_B, coefficients=coefficients, seed=seed)}
    except PebbleError as exc:
        return {"status": "error", "reason": str(exc), "exception": exc}


def write_csv(points, path):
    """Write points as CSV, one row each, columns as the :class:`Point` fields."""
    fields = list(Point.__dataclass_fields__)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for p in points:
            w.writerow({k: ("" if v is None else v) for k, v in asdict(p).items()})


def plot_sweep(result, path, *, title=None):
    """Log-log plot of I/O against ``n`` (both schedules and the trivial bound ``4nd``) as a PNG."""
    try:  # matplotlib is optional (the 'plot' extra) and heavy: loaded only to plot
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("plotting needs matplotlib: pip install 'pebble-io[plot]'") from None
    points = result["points"]
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    groups = {}
    for p in points:
        groups.setdefault("FlashAttention" if p.strategy == "flash" else f"Alman-Song ({p.strategy[7:]})",
                          []).append(p)
    for label, pts in groups.items():
        pts.sort(key=lambda p: p.n)
        key = "flash" if label == "FlashAttention" else "approx"
        slope = result["exponents"].get(key)
        ax.loglog([p.n for p in pts], [p.io for p in pts], "o-", label=f"{label}, slope {slope:.2f}"
                  if slope is not None else label)
    ns = sorted({p.n for p in points})
    d = points[0].d
    ax.loglog(ns, [4 * n * d for n in ns], "k:", label="trivial bound 4nd")
    if result.get("crossover"):
        ax.axvline(result["crossover"], color="grey", lw=0.8, ls="--", label=f"crossover n = {result['crossover']}")
        ax.set_xlim(left=min(ns[0], result["crossover"]) / 1.5)
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("I/O (words moved, counted by the verifier)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def describe(result) -> str:
    """A short text summary: exponents and crossover."""
    e = result["exponents"]
    parts = [f"{k} I/O exponent {v:.3f}" for k, v in e.items() if v is not None]
    parts.append(f"crossover n = {result['crossover']}")
    return "; ".join(parts)
