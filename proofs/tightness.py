"""How tight the bounds are: best upper / best lower, and optimum / best lower, per family.

:func:`tightness_rows` runs every registered bound over a grid of builder
specs and memory sizes (default :data:`GRID`) and over the certified table,
and :func:`tightness_markdown` prints the result as the tables in docs/bounds.md
(``pebble bounds tightness --markdown`` regenerates them). A ratio of 1 means
the bound is attained; the certified optimum, where there is one, shows
which side of the gap is loose.
"""

from __future__ import annotations

from dataclasses import dataclass

from dags import build

from .bound import best_lower, best_upper, bounds_for, brief, normalize_variant
from .optima import TABLE, dag_for_spec, read_optima

__all__ = ["GRID", "TightnessRow", "tightness_rows", "tightness_markdown", "certified_summary_markdown"]

#: (spec, memory sizes) per family: sizes a few seconds each, beyond what exact solvers reach.
GRID = {
    "pyramid": [("pyramid:h=8", (3, 4, 8)), ("pyramid:h=32", (3, 8, 32))],
    "tree": [("tree:h=6", (3, 4, 8))],
    "fft": [("fft:k=5", (3, 8, 32)), ("fft:k=8", (3, 16, 128))],
    "stencil": [("stencil:n=32,t=16", (4, 8, 32))],
    "matmul": [("matmul:n=8,k=8,m=8", (3, 8, 32)), ("matmul:n=24,k=24,m=24", (4, 16, 64))],
    "attention": [("attention:n=16,d=2", (4, 8, 16, 64)), ("attention:n=64,d=4", (8, 16, 64, 256))],
    "approx": [("approx:n=64,d=2,g=2", (8, 16, 32)), ("approx:n=256,d=4,g=3", (8, 16, 64, 256))],
}


@dataclass(frozen=True)
class TightnessRow:
    """Best bounds of one instance, and the certified optimum if any."""

    family: str
    spec: str
    M: int
    lower: object
    upper: object
    optimum: int | None

    @property
    def gap(self) -> float | None:
        """Best upper over best lower (``None`` without both, or a lower bound of 0)."""
        if self.lower is None or self.upper is None or self.lower.value <= 0:
            return None
        return self.upper.value / self.lower.value

    @property
    def optimum_ratio(self) -> float | None:
        if self.optimum is None or self.lower is None or self.lower.value <= 0:
            return None
        return self.optimum / self.lower.value

    def to_dict(self) -> dict:
        def side(b):
            return None if b is None else {"name": b.name, "value": b.value}

        return {"family": self.family, "spec": self.spec, "M": self.M, "best_lower": side(self.lower),
                "best_upper": side(self.upper), "optimum": self.optimum, "upper_over_lower": self.gap,
                "optimum_over_lower": self.optimum_ratio}


def tightness_rows(grid=None, *, variant="base", table=None, certified=True, progress=None) -> list[TightnessRow]:
    """The tightness of every bound over ``grid`` and, with ``certified``, the certified table.

    Parameters
    ----------
    grid : dict, optional
        ``{family: [(spec, memory sizes), ...]}``; default :data:`GRID`.
    variant : str
        The game (certified rows of other variants are left out).
    table : path, optional
        The table of optima (default ``proofs/data/optima.csv``); a missing
        default table just leaves the optimum column empty.
    certified : bool
        Add a row for every certified optimum of the variant.
    progress : callable, optional
        Called with each ``(spec, M)`` before it is computed.
    """
    variant = normalize_variant(variant)
    instances = [(family, spec, M, None) for family, entries in (grid or GRID).items()
                 for spec, Ms in entries for M in Ms]
    if certified and (table is not None or TABLE.exists()):
        for row in read_optima(table):
            if row.variant == variant:
                family = row.spec.partition(":")[0]
                instances.append((family, row.spec, row.M, row.optimum))
    rows = []
    for family, spec, M, optimum in instances:
        dag = dag_for_spec(spec) if optimum is not None else build(spec)
        if M < dag.min_memory():
            continue
        if progress is not None:
            progress(spec, M)
        found = bounds_for(dag, M, variant=variant)
        rows.append(TightnessRow(family, spec, M, best_lower(found), best_upper(found), optimum))
    order = {family: k for k, family in enumerate(grid or GRID)}
    rows.sort(key=lambda r: (order.get(r.family, len(order)), r.family, r.optimum is None))  # stable: grid order kept
    return rows


def _num(x):
    return "-" if x is None else f"{x:.2f}"


def tightness_markdown(rows) -> str:
    """The rows as a Markdown table (the optimum columns only when some row has a certified optimum)."""
    certified = any(r.optimum is not None for r in rows)
    head = ["family", "instance", "M", "best lower", "best upper", "upper / lower"]
    if certified:
        head[5:5] = ["optimum"]
        head.append("optimum / lower")
    lines = ["| " + " | ".join(head) + " |",
             "| " + " | ".join("---:" if h in ("M", "optimum") or "/" in h else "---" for h in head) + " |"]
    for r in rows:
        cells = [r.family, f"`{r.spec}`", str(r.M), brief(r.lower), brief(r.upper), _num(r.gap)]
        if certified:
            cells[5:5] = ["-" if r.optimum is None else str(r.optimum)]
            cells.append(_num(r.optimum_ratio))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def certified_summary_markdown(rows) -> str:
    """Per family, over the rows with a certified optimum: how far the best bounds are from it.

    Columns: the number of instances, the range of optimum / best lower, the
    range of best upper / optimum, and in how many instances a lower bound
    other than the trivial one is the best.
    """
    groups = {}
    for r in rows:
        if r.optimum is not None and r.optimum_ratio is not None and r.upper is not None:
            groups.setdefault(r.family, []).append(r)
    lines = ["| family | certified instances | optimum / best lower | best upper / optimum | best lower not trivial |",
             "| --- | ---: | --- | --- | ---: |"]
    for family, group in groups.items():
        low = [r.optimum_ratio for r in group]
        up = [r.upper.value / r.optimum for r in group if r.optimum > 0]
        strong = sum(r.lower.name != "trivial" for r in group)
        up_text = f"{min(up):.2f} - {max(up):.2f}" if up else "-"
        lines.append(f"| {family} | {len(group)} | {min(low):.2f} - {max(low):.2f} | {up_text} | {strong} |")
    return "\n".join(lines)
