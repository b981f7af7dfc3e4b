"""Schedule files, text and binary, read and written as streams.

Text (any suffix but ``.pbs``): one move per line, ``kind node``, where kind
is ``load``, ``store``, ``compute`` or ``delete`` and node is a label
(``Q[0,1]``) or an integer id; ``#`` starts a comment; blank lines are
ignored::

    # pyramid(1), M = 3
    load p0[0]
    load p0[1]
    compute p1[0]   # p1[0] = p0[0] + p0[1]
    store p1[0]

Binary (``.pbs``): a 32-byte little-endian header, then one unsigned
integer per move, ``node << 2 | kind`` with kind 0 load, 1 store, 2 compute,
3 delete::

    offset  size  field
    0       8     magic b"\\x93PEBBLE\\n"
    8       4     format version (1)
    12      4     bytes per move: 4 (DAGs below 2^30 nodes) or 8
    16      8     number of nodes of the DAG it was written for (0: unknown)
    24      8     number of moves

Readers yield ``int64`` code chunks of bounded size, so a file of 10^8 moves
is never held as Python objects and a header that claims more than the file
holds is caught by the file size before anything is allocated for it.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from dags.budget import bounded_lines
from dags.errors import PebbleError
from dags.io import check_regular_file
from dags.labels import parse_node_id

from .moves import KIND_CODES, KINDS, Schedule, as_codes

__all__ = ["ScheduleFileError", "read_schedule", "read_schedule_chunks", "write_schedule", "locate_move",
           "is_binary_schedule", "moves_around", "MAGIC"]

MAGIC = b"\x93PEBBLE\n"
VERSION = 1
_HEADER = struct.Struct("<8sIIQQ")
CHUNK_MOVES = 1 << 22


class ScheduleFileError(PebbleError, ValueError):
    """A schedule file that cannot be read; the message names the file and line."""


def is_binary_schedule(path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def read_schedule_chunks(path, dag=None, *, chunk_moves=CHUNK_MOVES):
    """Yield the moves of a schedule file as ``int64`` code arrays.

    Text files need ``dag`` to resolve labels (integer ids work without it).
    """
    path = os.fspath(path)
    check_regular_file(path, ScheduleFileError)
    if is_binary_schedule(path):
        yield from _read_binary(path, dag, chunk_moves)
    elif path.lower().endswith(".pbs"):
        with open(path, "rb") as f:
            head = f.read(len(MAGIC))
        what = "empty file" if not head else "bad magic"
        raise ScheduleFileError(f"{path}: not a binary schedule ({what}); a .pbs file starts with {MAGIC!r}")
    else:
        yield from _read_text(path, dag, chunk_moves)


def read_schedule(path, dag=None):
    """A whole schedule file as a :class:`~pebble.moves.Schedule` (for files that fit in memory)."""
    chunks = list(read_schedule_chunks(path, dag))
    return Schedule(np.concatenate(chunks) if chunks else np.zeros(0, np.int64))


def _read_text(path, dag, chunk_moves):
    n = None if dag is None else dag.num_nodes
    cache = {}
    buf = np.empty(min(chunk_moves, 1 << 16), np.int64)
    fill = 0
    for lineno, line in bounded_lines(path, ScheduleFileError):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        parts = body.split(None, 1)
        kind = KIND_CODES.get(parts[0].lower())
        if kind is None:
            raise ScheduleFileError(f"{path} line {lineno}: unknown move {parts[0][:40]!r}; "
                                    f"expected one of: {', '.join(KINDS)}")
        if len(parts) < 2:
            raise ScheduleFileError(f"{path} line {lineno}: '{parts[0]}' needs a node")
        token = parts[1].strip()
        v = cache.get(token)
        if v is None:
            v = _resolve(dag, n, token)
            if v is None:
                shown = token if len(token) <= 60 else f"{token[:40]}... ({len(token)} characters)"
                raise ScheduleFileError(f"{path} line {lineno}: unknown node {shown!r}")
            if len(cache) < 1 << 20:
                cache[token] = v
        if fill == buf.size:
            if fill >= chunk_moves:
                yield buf[:fill].copy()
                fill = 0
            else:
                buf = np.resize(buf, min(chunk_moves, 2 * buf.size))
        buf[fill] = (v << 2) | kind
        fill += 1
    if fill:
        yield buf[:fill].copy()


def _resolve(dag, n, token):
    if dag is None:
        v = parse_node_id(token)
        return v if v is not None and v < 1 << 61 else None
    try:
        return dag.node(token)
    except KeyError:
        return None


def _read_header(path, f, dag):
    raw = f.read(_HEADER.size)
    if len(raw) < _HEADER.size:
        raise ScheduleFileError(f"{path}: truncated header ({len(raw)} of {_HEADER.size} bytes)")
    magic, version, width, nodes, moves = _HEADER.unpack(raw)
    if magic != MAGIC:
        raise ScheduleFileError(f"{path}: bad magic, not a binary schedule")
    if version != VERSION:
        raise ScheduleFileError(f"{path}: unsupported format version {version} (this reader knows {VERSION})")
    if width not in (4, 8):
        raise ScheduleFileError(f"{path}: bad header: {width} bytes per move (expected 4 or 8)")
    # 0 nodes in the header means "unknown" (files written without a DAG); every move is range-checked anyway.
    if dag is not None and nodes and nodes != dag.num_nodes:
        raise ScheduleFileError(f"{path}: written for a DAG of {nodes} nodes, but this DAG has {dag.num_nodes}")
    size = os.fstat(f.fileno()).st_size
    held = (size - _HEADER.size) // width
    if held < moves:
        raise ScheduleFileError(f"{path}: truncated: the header declares {moves} moves but the file holds {held}")
    if size != _HEADER.size + moves * width:
        raise ScheduleFileError(f"{path}: {size - _HEADER.size - moves * width} bytes after the "
                                f"{moves} moves the header declares")
    return width, moves


def _read_binary(path, dag, chunk_moves):
    with open(path, "rb") as f:
        width, moves = _read_header(path, f, dag)
        dtype = np.dtype("<u4" if width == 4 else "<u8")
        left = moves
        while left:
            k = min(left, chunk_moves)
            chunk = np.fromfile(f, dtype=dtype, count=k)
            if chunk.size != k:
                raise ScheduleFileError(f"{path}: truncated after {moves - left + chunk.size} moves")
            if dag is not None or width == 8:
                _check_codes(path, chunk, moves - left, None if dag is None else dag.num_nodes)
            left -= k
            yield chunk.astype(np.int64)


def _check_codes(path, chunk, first, num_nodes):
    """Refuse a move whose node is not in the DAG (or does not fit in int64), naming the move."""
    nodes = chunk >> np.array(2, chunk.dtype)
    limit = (1 << 61) if num_nodes is None else num_nodes
    bad = np.flatnonzero(nodes >= limit)
    if bad.size:
        i = int(bad[0])
        where = f"the DAG's {num_nodes} nodes" if num_nodes is not None else "the range of node ids"
        raise ScheduleFileError(f"{path}: move {first + i} ({KINDS[int(chunk[i]) & 3]} {int(nodes[i])}) names a node "
                                f"outside {where}")


def write_schedule(path, schedule, dag=None, *, binary=None, labels=True, comment=None) -> int:
    """Write a schedule (a Schedule, a code array, or an iterable of code chunks).

    Binary when ``binary`` is true or the path ends in ``.pbs``; text
    otherwise, with labels when ``dag`` is given and ``labels`` is true.
    Returns the number of moves written.
    """
    path = os.fspath(path)
    if binary is None:
        binary = path.endswith(".pbs")
    chunks = [as_codes(schedule, dag)] if _in_memory(schedule) else (as_codes(c, dag) for c in schedule)
    if binary:
        return _write_binary(path, chunks, dag)
    return _write_text(path, chunks, dag if labels else None, comment)


def _in_memory(schedule):
    return isinstance(schedule, (np.ndarray, list, tuple)) or hasattr(schedule, "codes")


def _write_binary(path, chunks, dag):
    nodes = 0 if dag is None else dag.num_nodes
    width = 4 if dag is not None and dag.num_nodes < (1 << 30) else 8
    dtype = np.dtype("<u4" if width == 4 else "<u8")
    total = 0
    with open(path, "wb") as f:
        f.write(_HEADER.pack(MAGIC, VERSION, width, nodes, 0))
        for codes in chunks:
            if codes.size and (codes.min() < 0 or (width == 4 and codes.max() >= 1 << 32)):
                raise ValueError("move codes out of range for the DAG")
            codes.astype(dtype).tofile(f)
            total += int(codes.size)
        f.seek(0)
        f.write(_HEADER.pack(MAGIC, VERSION, width, nodes, total))
    return total


def _write_text(path, chunks, dag, comment):
    total = 0
    with open(path, "w", encoding="utf-8") as f:
        if comment:
            for line in str(comment).splitlines():
                f.write(f"# {line}\n")
        for codes in chunks:
            kinds = codes & 3
            nodes = codes >> 2
            names = (dag.label(v) for v in nodes.tolist()) if dag is not None else map(str, nodes.tolist())
            f.writelines(f"{KINDS[k]} {name}\n" for k, name in zip(kinds.tolist(), names))
            total += int(codes.size)
    return total


def moves_around(path, dag, index, before=3, after=0):
    """``[(i, code)]`` for the moves ``index - before .. index + after`` of a schedule file."""
    lo, hi = max(0, index - before), index + after + 1
    out, start = [], 0
    for chunk in read_schedule_chunks(path, dag):
        end = start + chunk.size
        if end > lo:
            for i in range(max(lo, start), min(hi, end)):
                out.append((i, int(chunk[i - start])))
        if end >= hi:
            break
        start = end
    return out


def locate_move(path, index):
    """Line number of move ``index`` (counted from 0) in a text schedule, or ``None``."""
    if is_binary_schedule(path):
        return None
    seen = -1
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if line.split("#", 1)[0].strip():
                seen += 1
                if seen == index:
                    return lineno
    return None
