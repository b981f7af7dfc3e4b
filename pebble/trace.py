"""Per-move series along a verified schedule: red pebbles in use and cumulative I/O."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import verify
from .moves import COMPUTE, DELETE, LOAD, STORE, as_codes

__all__ = ["Trace", "trace"]


@dataclass(frozen=True)
class Trace:
    """``red[t]`` and ``io[t]``: red pebbles and loads + stores after move ``t``."""

    red: np.ndarray
    io: np.ndarray
    kinds: np.ndarray
    M: int

    def __len__(self):
        return int(self.red.size)


def trace(dag, schedule, M, **options) -> Trace:
    """Red-pebble occupancy and cumulative I/O after every move of a valid schedule.

    The schedule is verified first (``options`` as for :func:`pebble.verify`);
    in a valid strict schedule every load and compute adds a red pebble and
    every delete removes one, so the series follow from the move kinds.

    >>> from dags import pyramid_dag
    >>> from pebble.strategies import heuristic_schedule
    >>> g = pyramid_dag(2)
    >>> t = trace(g, heuristic_schedule(g, 4), 4)
    >>> int(t.red.max()), int(t.io[-1])
    (4, 4)
    """
    if not options.get("strict", True):
        raise ValueError("trace needs a strict schedule (redundant moves change no pebble)")
    codes = as_codes(schedule, dag)
    report = verify(dag, codes, M, **options)
    if not report.valid:
        raise ValueError(f"trace needs a valid schedule: {report.violation.message}")
    kinds = codes & 3
    step = np.where((kinds == LOAD) | (kinds == COMPUTE), 1, np.where(kinds == DELETE, -1, 0))
    io = np.cumsum((kinds == LOAD) | (kinds == STORE))
    return Trace(red=np.cumsum(step), io=io, kinds=kinds, M=report.M)
