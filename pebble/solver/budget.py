"""What a solve may spend: a deadline and a memory budget, checked inside long loops.

Searches and model building ask :meth:`Budget.exceeded` between chunks of
work and stop when it says so; nothing raises. Memory is the resident set of
the whole process (``/proc/self/statm``), so the budget covers everything the
solve holds, the DAG and the imported libraries included.
"""

from __future__ import annotations

import os
import time

__all__ = ["Budget", "default_memory_limit", "rss", "parse_bytes"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def rss() -> int:
    """The resident set size of this process in bytes (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def default_memory_limit() -> int:
    """8 GiB, or half the machine's memory if that is less."""
    physical = physical_memory()
    return min(8 << 30, physical // 2) if physical else 8 << 30


def parse_bytes(text: str) -> int:
    """``'4G'``, ``'512M'``, ``'100000'`` -> bytes; ValueError naming the text otherwise."""
    s = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = s[-1:] if s[-1:] in _UNITS and s[-1:] else ""
    try:
        value = float(s[:len(s) - len(unit)])
    except ValueError:
        raise ValueError(f"must be a size in bytes such as 4G or 512M, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"must be a positive size such as 4G or 512M, got {text!r}")
    return int(value * _UNITS[unit])


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

    def until(self, deadline: float) -> "Budget":
        """The same memory limit with an earlier deadline (a stage's share of the time)."""
        return Budget(min(deadline, self.deadline), self.memory_limit)
