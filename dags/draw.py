"""Drawing small DAGs with matplotlib (an optional dependency: ``pip install 'pebble-io[plot]'``).

Layered layout: a node's height is its longest-path level (sources at the
bottom, as values flow up), and the nodes of a level are ordered by the mean
position of their operands, which keeps most edges short and uncrossed.
Sources are drawn as squares, outputs with a thick border, other nodes as
circles; every node carries its label.
"""

from __future__ import annotations

import numpy as np

from .core import DAG
from .errors import ArgumentError

__all__ = ["layered_layout", "draw_dag"]

MAX_NODES = 400


def layered_layout(dag: DAG) -> np.ndarray:
    """``(num_nodes, 2)`` coordinates: ``y`` the level, ``x`` spread within the level.

    >>> from dags import pyramid_dag
    >>> layered_layout(pyramid_dag(1)).tolist()
    [[-0.5, 0.0], [0.5, 0.0], [0.0, 1.0]]
    """
    level = dag.levels
    pos = np.zeros((dag.num_nodes, 2))
    pos[:, 1] = level
    for lv in range(int(level.max()) + 1 if dag.num_nodes else 0):
        nodes = np.flatnonzero(level == lv)
        if lv:
            means = [pos[dag.predecessors(v), 0].mean() for v in nodes]
            nodes = nodes[np.lexsort((nodes, means))]
        pos[nodes, 0] = np.arange(nodes.size) - (nodes.size - 1) / 2
    return pos


def draw_dag(dag: DAG, path=None, *, ax=None, max_nodes: int = MAX_NODES, colors=None, title=None):
    """Draw ``dag`` on ``ax`` (a new figure if none) and save it to ``path`` if given (.png, .svg, .pdf).

    ``colors`` (optional) overrides the default styling: a list of
    ``(mask, face colour, edge colour, legend label)``, each boolean mask over
    the nodes, later entries drawn over earlier ones; node shapes (squares for
    sources) are kept. Returns the matplotlib figure. Raises ValueError for
    DAGs of more than ``max_nodes`` nodes (a drawing of them would be unreadable).
    """
    if dag.num_nodes > max_nodes:
        raise ArgumentError(f"{dag.name or 'the DAG'} has {dag.num_nodes} nodes; drawing is for at most {max_nodes} "
                         f"(raise the limit with max_nodes / --max-nodes)")
    try:  # matplotlib is optional (the 'plot' extra) and heavy: loaded only to draw
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("drawing needs matplotlib: pip install 'pebble-io[plot]'") from None
    pos = layered_layout(dag)
    width = max(np.unique(pos[:, 1], return_counts=True)[1].max(), 1) if dag.num_nodes else 1
    depth = int(pos[:, 1].max()) + 1 if dag.num_nodes else 1
    if ax is None:
        size = (min(2 + 0.9 * width, 40), min(1.5 + 0.9 * depth, 40))
        if path is None:  # interactive use: a pyplot figure, shown by the notebook or plt.show()
            import matplotlib.pyplot as plt  # optional and heavy, as above

            ax = plt.figure(figsize=size).add_subplot()
        else:  # no pyplot, so saving never touches the user's backend
            ax = Figure(figsize=size).add_subplot()
    fig = ax.figure
    rows = np.repeat(np.arange(dag.num_nodes), dag.in_degree)
    for u, v in zip(dag.indices.tolist(), rows.tolist()):
        ax.annotate("", xy=pos[v], xytext=pos[u],
                    arrowprops=dict(arrowstyle="-|>", color="0.55", lw=0.8, shrinkA=9, shrinkB=9))
    is_source = dag.in_degree == 0
    is_output = np.zeros(dag.num_nodes, bool)
    is_output[dag.outputs] = True
    if colors is None:
        styles = [(is_source & ~is_output, "s", "#9ecae1", "black", 1.0, "source"),
                  (~is_source & ~is_output, "o", "white", "black", 1.0, "computed"),
                  (is_output & ~is_source, "o", "#fcbba1", "black", 2.5, "output"),
                  (is_output & is_source, "s", "#fcbba1", "black", 2.5, "source and output")]
    else:
        styles = []
        for mask, face, edge, name in colors:
            mask = np.asarray(mask, bool)
            for shape, part in (("s", mask & is_source), ("o", mask & ~is_source)):
                styles.append((part, shape, face, edge, 2.5 if edge != "black" else 1.0, name))
    named = set()
    for mask, marker, color, edge, lw, name in styles:
        if mask.any():
            ax.scatter(pos[mask, 0], pos[mask, 1], s=520, marker=marker, c=color, edgecolors=edge,
                       linewidths=lw, zorder=2, label=None if name in named else name)
            named.add(name)
    for v in range(dag.num_nodes):
        ax.text(pos[v, 0], pos[v, 1], dag.label(v), ha="center", va="center", fontsize=6, zorder=3)
    ax.set_title(title or dag.name or f"{dag.num_nodes} nodes")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False, markerscale=0.5)
    ax.margins(0.08)
    ax.set_axis_off()
    if path is not None:
        fig.savefig(path, bbox_inches="tight")
    return fig
