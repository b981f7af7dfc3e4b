"""What a solve may spend: a deadline and a memory budget, checked inside long loops.

Searches and model building ask :meth:`Budget.exceeded` between chunks of
work and stop when it says so; nothing raises. Memory is the resident set of
the whole process (``/proc/self/statm``), so the budget covers everything the
solve holds, the DAG and the imported libraries included.
"""

from __future__ import annotations

import os
import time

from dags.budget import memory_limit, parse_bytes

__all__ = ["Budget", "default_memory_limit", "rss", "parse_bytes"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss() -> int:
    """The resident set size of this process in bytes (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def default_memory_limit() -> int:
    """8 GiB, or the toolkit's memory budget (:func:`dags.budget.memory_limit`) if that is less."""
    return min(8 << 30, memory_limit())


class Budget:
    """A deadline (``time.perf_counter()`` seconds) and a memory limit (bytes of resident memory)."""

    def __init__(self, deadline: float, memory_limit: int):
        self.deadline = deadline
        self.memory_limit = memory_limit
        self.reason = None  # 'time' or 'memory' once exceeded

    def seconds_left(self) -> float:
        return self.deadline - time.perf_counter()

    def bytes_left(self) -> int:
        return self.memory_limit - rss()

    def exceeded(self) -> bool:
        """True once the deadline has passed or the process holds more than the memory limit."""
        if self.reason is None:
            if self.seconds_left() <= 0:
                self.reason = "time"
            elif rss() > self.memory_limit:
                self.reason = "memory"
        return self.reason is not None

    def until(self, deadline: float) -> Budget:
        """The same memory limit with an earlier deadline (a stage's share of the time)."""
        return Budget(min(deadline, self.deadline), self.memory_limit)
