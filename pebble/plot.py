"""Pictures of the game for notebooks (matplotlib, an optional extra: ``pip install 'pebble-io[plot]'``).

- :func:`draw_pebbles`: a small DAG with its pebbles after a chosen move.
- :func:`plot_trace`: red-pebble occupancy and cumulative I/O along a schedule.
- :func:`plot_io_vs_n`: I/O against n on log-log axes, one line per series
  (strategies, optima, bounds).
- :func:`plot_heatmap`: a grid of values such as bound tightness over (n, M).

Each returns the matplotlib figure and draws on ``ax`` when one is given.
"""

from __future__ import annotations

import numpy as np

from dags.draw import draw_dag

from .game import Game
from .moves import as_codes
from .trace import trace

__all__ = ["draw_pebbles", "plot_trace", "plot_io_vs_n", "plot_heatmap"]

RED, BLUE = "#de2d26", "#3182bd"


def _axes(ax, figsize, nrows=1):
    if ax is not None:
        return ax
    try:  # matplotlib is optional (the 'plot' extra) and heavy: loaded only to plot
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'pebble-io[plot]'") from None
    fig, axes = plt.subplots(nrows, 1, figsize=figsize, squeeze=False, sharex=nrows > 1)
    return axes[0, 0] if nrows == 1 else list(axes[:, 0])


def draw_pebbles(dag, schedule=None, step=None, *, M=None, game=None, ax=None, **options):
    """Draw ``dag`` with its pebbles after the first ``step`` moves of ``schedule``.

    Give either a schedule (with ``M`` and game ``options``; ``step`` defaults
    to all of it) or a :class:`~pebble.game.Game` in progress. Red fill: red
    pebble; blue fill: blue pebble; red fill with a blue ring: both.
    """
    if game is None:
        if schedule is None or M is None:
            raise ValueError("give a schedule and M, or a game")
        codes = as_codes(schedule, dag)
        step = codes.size if step is None else int(step)
        if not 0 <= step <= codes.size:
            raise ValueError(f"argument 'step' must be between 0 and {codes.size}, got {step}")
        game = Game(dag, M, **options)
        for code in codes[:step].tolist():
            game.play(code & 3, code >> 2)
    red = np.zeros(dag.num_nodes, bool)
    blue = np.zeros(dag.num_nodes, bool)
    red[list(game.red_ids)] = True
    blue[list(game.blue_ids)] = True
    colors = [(np.ones(dag.num_nodes, bool), "white", "black", "no pebble"),
              (blue & ~red, BLUE, "black", "blue"),
              (red & ~blue, RED, "black", "red"),
              (red & blue, RED, BLUE, "red and blue")]
    title = f"{dag.name or 'DAG'} after {len(game)} moves: {len(game.red_ids)} of {game.rules.M} red, I/O {game.io}"
    ax = _axes(ax, (max(4, 0.9 * dag.num_nodes ** 0.5 + 3), 4))
    return draw_dag(dag, ax=ax, colors=colors, title=title)


def plot_trace(dag, schedule, M, *, axes=None, label=None, **options):
    """Red pebbles in use (top) and cumulative I/O (bottom) against the move index."""
    t = trace(dag, schedule, M, **options)
    top, bottom = axes if axes is not None else _axes(None, (8, 5), nrows=2)
    x = np.arange(1, len(t) + 1)
    top.step(x, t.red, where="post", color=RED, lw=1, label=label)
    top.axhline(t.M, color="0.3", ls="--", lw=0.8)
    top.set_ylabel("red pebbles")
    top.set_ylim(0, t.M * 1.15 + 0.5)
    bottom.plot(x, t.io, color=BLUE, lw=1.2, label=label)
    bottom.set_ylabel("cumulative I/O")
    bottom.set_xlabel("move")
    top.set_title(f"{dag.name or 'DAG'}, M = {t.M}: {len(t)} moves, I/O {int(t.io[-1]) if len(t) else 0}")
    if label:
        bottom.legend(frameon=False)
    return top.figure


def plot_io_vs_n(series, *, ax=None, xlabel="n", ylabel="I/O", title=None):
    """Log-log lines: ``series`` maps a name to ``(xs, ys)``; names with 'bound' are dashed."""
    ax = _axes(ax, (6, 4.5))
    for name, (xs, ys) in series.items():
        xs, ys = np.asarray(xs, float), np.asarray(ys, float)
        keep = np.isfinite(ys) & (ys > 0)
        style = "--" if "bound" in name else "-"
        ax.loglog(xs[keep], ys[keep], style, marker="o", ms=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    return ax.figure


def plot_heatmap(values, rows, cols, *, ax=None, row_label="n", col_label="M", title=None, fmt="{:.2f}"):
    """A grid of numbers (NaN for missing) with the values written in the cells."""
    values = np.asarray(values, float)
    if values.shape != (len(rows), len(cols)):
        raise ValueError(f"values have shape {values.shape}, expected ({len(rows)}, {len(cols)})")
    ax = _axes(ax, (1.2 + 0.8 * len(cols), 1 + 0.5 * len(rows)))
    im = ax.imshow(np.ma.masked_invalid(values), cmap="viridis_r", aspect="auto", origin="lower")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols])
    ax.set_yticks(range(len(rows)), [str(r) for r in rows])
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if np.isfinite(values[i, j]):
                ax.text(j, i, fmt.format(values[i, j]), ha="center", va="center", fontsize=7, color="white")
    ax.figure.colorbar(im, ax=ax)
    if title:
        ax.set_title(title)
    return ax.figure
