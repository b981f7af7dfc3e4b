"""Memory budgets: refuse a DAG or a file line before allocating for it.

A builder spec such as ``pyramid:h=100000`` or a DAG file whose header claims
10^12 nodes would otherwise run until the machine runs out of memory. Every
reader and builder estimates the bytes it is about to allocate and compares
them with :func:`memory_limit`: the environment variable
``PEBBLE_MEMORY_LIMIT`` (bytes, or with a ``K``/``M``/``G``/``T`` suffix), else
half of the machine's physical memory (or of the process's address-space limit). Text files are read in lines of at
most :data:`MAX_LINE` characters, so one endless line costs a bounded read.
"""

from __future__ import annotations

import math
import os

from .errors import ArgumentError, SizeError

__all__ = ["MAX_LINE", "BYTES_PER_NODE", "BYTES_PER_EDGE", "parse_bytes", "memory_limit", "estimated_bytes",
           "check_budget", "check_file_budget", "bounded_lines", "PARSED_BYTES_PER_BYTE"]

# Bytes per node and per edge of a DAG in use: the CSR arrays, ops, the cached
# successor lists, topological order and levels, the verifier's state, and the
# builder's temporaries, rounded up.
BYTES_PER_NODE = 64
BYTES_PER_EDGE = 32
MAX_LINE = 4096  # characters in one line of a text schedule or HyperDAG file
_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_bytes(text: str) -> int:
    """``'4G'``, ``'512M'``, ``'2GiB'``, ``'100000'`` -> bytes; ValueError naming the text otherwise."""
    s = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = s[-1:] if s[-1:] in _SUFFIX and s[-1:] else ""
    try:
        value = float(s[:len(s) - len(unit)]) * _SUFFIX[unit]
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"must be a positive size such as 4G or 512M, got {text!r}")
    return int(value)


def memory_limit() -> int:
    """The budget in bytes: ``PEBBLE_MEMORY_LIMIT`` if set, else half the physical memory or ``RLIMIT_AS``."""
    text = os.environ.get("PEBBLE_MEMORY_LIMIT", "").strip()
    if text:
        try:
            return parse_bytes(text)
        except ValueError:
            raise ArgumentError(f"environment variable PEBBLE_MEMORY_LIMIT must be a size such as 4G or "
                                f"500000000, got {text!r}") from None
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # no sysconf: assume a small machine
        physical = 4 << 30
    try:  # a process limit on address space (ulimit -v) lowers the budget too
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            physical = min(physical, soft)
    except (ImportError, OSError, ValueError):
        pass
    return physical // 2


def estimated_bytes(nodes, edges=None) -> float:
    """Bytes a DAG of ``nodes`` nodes and ``edges`` edges (default two per node) takes in use."""
    try:
        nodes = float(nodes)
        edges = 2 * nodes if edges is None else float(edges)
        return nodes * BYTES_PER_NODE + edges * BYTES_PER_EDGE
    except OverflowError:
        return math.inf


def check_budget(what: str, nodes, edges=None, *, limit=None) -> None:
    """Raise :class:`SizeError` if a DAG of this size would exceed the memory budget."""
    need = estimated_bytes(nodes, edges)
    limit = memory_limit() if limit is None else limit
    if need > limit:
        about = f"about {_bytes(need)}" if math.isfinite(need) else "far beyond any memory"
        raise SizeError(f"{what} would have {_count(nodes)} nodes ({about}); the limit is "
                        f"{_bytes(limit)} (set PEBBLE_MEMORY_LIMIT to change it)")


PARSED_BYTES_PER_BYTE = 24  # what a JSON or GML parser holds per byte of the file, rounded up


def check_file_budget(path, what: str, *, error: type[Exception] = SizeError, hint: str = "") -> int:
    """The size of ``path``; ``error`` if parsing it whole (``what``: ``'a JSON DAG file'``) would exceed the budget."""
    size = os.path.getsize(path)
    need, limit = size * PARSED_BYTES_PER_BYTE, memory_limit()
    if need > limit:
        raise error(f"{path}: {what} of {size} bytes would take about {_bytes(need)} to parse; the limit is "
                    f"{_bytes(limit)} ({hint + ', or ' if hint else ''}set PEBBLE_MEMORY_LIMIT to change it)")
    return size


def bounded_lines(path, error, limit=MAX_LINE):
    """Yield ``(line number, text)`` of a UTF-8 file, refusing a line of more than ``limit`` bytes.

    Reads at most ``limit + 1`` bytes at a time, so a file of one huge line is
    refused after a bounded read; a line that is not UTF-8 is refused by number.
    ``error`` is the reader's exception class.
    """
    with open(path, "rb") as f:
        lineno = 0
        while True:
            raw = f.readline(limit + 1)
            if not raw:
                return
            lineno += 1
            if len(raw) > limit and not (len(raw) == limit + 1 and raw.endswith(b"\n")):
                raise error(f"{path} line {lineno}: longer than {limit} bytes")
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise error(f"{path} line {lineno}: not UTF-8 text (byte {raw[exc.start:exc.start + 1]!r} "
                                    f"at column {exc.start + 1})") from None


def _count(x) -> str:
    try:
        x = float(x)
    except OverflowError:
        x = math.inf
    return f"{x:.1e}" if math.isfinite(x) else "more than 1e308"


def _bytes(b) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b / 1e3:.3g} kB"
