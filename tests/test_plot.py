"""Plotting helpers draw something, and refuse what they cannot draw."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dags import pyramid_dag  # noqa: E402
from pebble import Game, Schedule  # noqa: E402
from pebble.plot import draw_pebbles, plot_heatmap, plot_io_vs_n, plot_trace  # noqa: E402
from pebble.strategies import heuristic_schedule  # noqa: E402
from pebble.trace import trace  # noqa: E402


def test_trace_series():
    g = pyramid_dag(3)
    s = heuristic_schedule(g, 3)
    t = trace(g, s, 3)
    assert len(t) == len(s) and t.red.max() == 3 and t.red.min() >= 0
    assert t.io[-1] == s.io and np.all(np.diff(t.io) >= 0)
    with pytest.raises(ValueError, match="trace needs a valid schedule: move 0"):
        trace(g, Schedule.from_moves(["compute p1[0]"], g), 3)


def test_draw_pebbles_from_schedule_and_game(tmp_path):
    g = pyramid_dag(3)
    s = heuristic_schedule(g, 3)
    fig = draw_pebbles(g, s, 7, M=3)
    ax = fig.axes[0]
    assert "after 7 moves" in ax.get_title() and len(ax.collections) >= 2
    fig.savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000
    game = Game(g, 3)
    game.load("p0[0]")
    fig = draw_pebbles(g, game=game)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "red and blue" in labels and "blue" in labels
    with pytest.raises(ValueError, match="argument 'step' must be between 0 and"):
        draw_pebbles(g, s, 10_000, M=3)


def test_plot_trace_and_io_and_heatmap():
    g = pyramid_dag(4)
    fig = plot_trace(g, heuristic_schedule(g, 3), 3)
    top, bottom = fig.axes[:2]
    assert len(top.lines) >= 1 and len(bottom.lines) == 1
    fig = plot_io_vs_n({"flash": ([16, 32, 64], [100, 400, 1600]), "trivial bound": ([16, 32, 64], [8, 16, 32])})
    assert len(fig.axes[0].lines) == 2 and fig.axes[0].get_xscale() == "log"
    fig = plot_heatmap([[1.0, 2.0], [np.nan, 1.5]], [4, 8], [3, 6])
    assert len(fig.axes[0].images) == 1 and len(fig.axes[0].texts) == 3
    with pytest.raises(ValueError, match="values have shape"):
        plot_heatmap([[1.0]], [4, 8], [3])
