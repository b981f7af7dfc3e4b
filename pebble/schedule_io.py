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

JSON (``.json``) and CSV (``.csv``), for other tools: ``{"format":
"pebble-schedule", "version": 1, "moves": [["load", "x[0]"], ...]}`` with a
node as its label (or integer id), and ``index,move,node,label`` with a header
line, ``node`` the integer id and ``label`` its label (either may be empty
when the other names the node; when both are given they must agree)::

    index,move,node,label
    0,load,0,p0[0]
    1,load,1,p0[1]

Readers yield ``int64`` code chunks of bounded size, so a file of 10^8 moves
is never held as Python objects and a header that claims more than the file
holds is caught by the file size before anything is allocated for it.
"""

from __future__ import annotations

import csv
import json
import os
import struct

import numpy as np

from dags.budget import bounded_lines
from dags.errors import PebbleError
from dags.io import check_regular_file, load_json_file
from dags.labels import parse_node_id

from .moves import KIND_CODES, KINDS, Schedule, as_codes

__all__ = ["ScheduleFileError", "read_schedule", "read_schedule_chunks", "write_schedule", "locate_move",
           "is_binary_schedule", "moves_around", "MAGIC", "JSON_FORMAT", "CSV_COLUMNS"]

MAGIC = b"\x93PEBBLE\n"
VERSION = 1
_HEADER = struct.Struct("<8sIIQQ")
CHUNK_MOVES = 1 << 22
JSON_FORMAT = "pebble-schedule"
CSV_COLUMNS = ("index", "move", "node", "label")


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
    elif path.lower().endswith(".json"):
        yield from _read_json(path, dag, chunk_moves)
    elif path.lower().endswith(".csv"):
        yield from _read_csv(path, dag, chunk_moves)
    else:
        yield from _read_text(path, dag, chunk_moves)


def read_schedule(path, dag=None):
    """A whole schedule file as a :class:`~pebble.moves.Schedule` (for files that fit in memory)."""
    chunks = list(read_schedule_chunks(path, dag))
    return Schedule(np.concatenate(chunks) if chunks else np.zeros(0, np.int64))


def _read_text(path, dag, chunk_moves):
    n = None if dag is None else dag.num_nodes
    cache = {}
    out = _Chunker(chunk_moves)
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
                raise ScheduleFileError(f"{path} line {lineno}: unknown node {_shown(token)!r}")
            if len(cache) < 1 << 20:
                cache[token] = v
        full = out.add((v << 2) | kind)
        if full is not None:
            yield full
    rest = out.rest()
    if rest is not None:
        yield rest


def _shown(token):
    """A node token as an error shows it: long ones cut."""
    return token if not isinstance(token, str) or len(token) <= 60 else f"{token[:40]}... ({len(token)} characters)"


class _Chunker:
    """Collects move codes and hands them out in chunks of at most ``chunk_moves``."""

    def __init__(self, chunk_moves):
        self.chunk_moves = chunk_moves
        self.buf = np.empty(min(chunk_moves, 1 << 16), np.int64)
        self.fill = 0
        self.total = 0

    def add(self, code):
        """Store one code; returns a full chunk to yield, or ``None``."""
        full = None
        if self.fill == self.buf.size:
            if self.fill >= self.chunk_moves:
                full = self.buf[:self.fill].copy()
                self.fill = 0
            else:
                self.buf = np.resize(self.buf, min(self.chunk_moves, 2 * self.buf.size))
        self.buf[self.fill] = code
        self.fill += 1
        self.total += 1
        return full

    def rest(self):
        return self.buf[:self.fill].copy() if self.fill else None


def _move_code(where, kind_name, token, dag, n, cache=None):
    """``node << 2 | kind`` of a move given as kind name and node (label, id text or int); errors start ``where``."""
    kind = KIND_CODES.get(kind_name.lower()) if isinstance(kind_name, str) else None
    if kind is None:
        raise ScheduleFileError(f"{where}: unknown move {str(kind_name)[:40]!r}; expected one of: {', '.join(KINDS)}")
    if isinstance(token, int) and not isinstance(token, bool):
        v = token if 0 <= token < (1 << 61 if n is None else n) else None
    elif isinstance(token, str) and token:
        v = cache.get(token) if cache is not None else None
        if v is None:
            v = _resolve(dag, n, token)
            if cache is not None and v is not None and len(cache) < 1 << 20:
                cache[token] = v
    else:
        v = None
    if v is None:
        raise ScheduleFileError(f"{where}: unknown node {_shown(token)!r}")
    return (v << 2) | kind


def _read_json(path, dag, chunk_moves):
    obj = load_json_file(path, ScheduleFileError, "a JSON schedule", size_error=ScheduleFileError,
                         hint="use a .pbs file")
    if not isinstance(obj, dict) or obj.get("format") != JSON_FORMAT:
        raise ScheduleFileError(f"{path}: not a pebble-schedule JSON file (expected an object with "
                                f"\"format\": \"{JSON_FORMAT}\")")
    if obj.get("version") != VERSION:
        raise ScheduleFileError(f"{path}: unsupported version {obj.get('version')!r} (this reader knows {VERSION})")
    moves = obj.get("moves")
    if not isinstance(moves, list):
        raise ScheduleFileError(f"{path}: 'moves' must be a list of [move, node] pairs")
    n = None if dag is None else dag.num_nodes
    line_of = _json_move_lines(path, len(moves))
    out = _Chunker(chunk_moves)
    cache = {}
    for i, move in enumerate(moves):
        where = f"{path} line {line_of[i]}" if line_of else f"{path}: move {i}"
        if not (isinstance(move, list) and len(move) == 2):
            raise ScheduleFileError(f"{where}: a move is a pair [move, node], got {json.dumps(move)[:80]}")
        full = out.add(_move_code(where, move[0], move[1], dag, n, cache))
        if full is not None:
            yield full
    rest = out.rest()
    if rest is not None:
        yield rest


def _json_move_lines(path, count):
    """The line of every move if the file has one move a line (as :func:`write_schedule` writes), else ``None``."""
    lines = []
    with open(path, encoding="utf-8") as f:
        for lineno, text in enumerate(f, 1):
            if text.lstrip().startswith("[\""):
                lines.append(lineno)
    return lines if len(lines) == count else None


def _read_csv(path, dag, chunk_moves):
    n = None if dag is None else dag.num_nodes
    out = _Chunker(chunk_moves)
    cache, agreed = {}, set()
    header = None
    line = [0]

    def texts():
        for line[0], text in bounded_lines(path, ScheduleFileError):
            yield text

    for cells in csv.reader(texts()):
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        where = f"{path} line {line[0]}"
        if header is None:
            if tuple(cells) != CSV_COLUMNS:
                raise ScheduleFileError(f"{where}: the header must be {','.join(CSV_COLUMNS)}, got {','.join(cells)}")
            header = cells
            continue
        if len(cells) != len(CSV_COLUMNS):
            raise ScheduleFileError(f"{where}: expected {len(CSV_COLUMNS)} columns, got {len(cells)}")
        index, kind, node, label = cells
        if index != str(out.total):
            raise ScheduleFileError(f"{where}: column 'index' must be {out.total} (moves are numbered from 0 "
                                    f"in order), got {index!r}")
        node_id = parse_node_id(node) if node else None
        if node and node_id is None:
            raise ScheduleFileError(f"{where}: column 'node' must be an integer node id, got {node[:40]!r}")
        code = _move_code(where, kind, label if node_id is None else node_id, dag, n, cache)
        if node and label and dag is not None and (node_id, label) not in agreed:
            if dag.label(node_id) != label:
                raise ScheduleFileError(f"{where}: node {node} is {dag.label(node_id)!r} in this DAG, "
                                        f"but the file says {label!r}")
            if len(agreed) < 1 << 20:
                agreed.add((node_id, label))
        full = out.add(code)
        if full is not None:
            yield full
    if header is None:
        raise ScheduleFileError(f"{path}: empty file; the header must be {','.join(CSV_COLUMNS)}")
    rest = out.rest()
    if rest is not None:
        yield rest


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

    Binary when ``binary`` is true or the path ends in ``.pbs``; JSON for
    ``.json`` and CSV for ``.csv`` (see the module docstring; ``comment`` is
    not stored there); text otherwise. Nodes are written as labels when
    ``dag`` is given and ``labels`` is true. Returns the number of moves written.
    """
    path = os.fspath(path)
    if binary is None:
        binary = path.endswith(".pbs")
    chunks = [as_codes(schedule, dag)] if _in_memory(schedule) else (as_codes(c, dag) for c in schedule)
    if binary:
        return _write_binary(path, chunks, dag)
    if path.lower().endswith(".json"):
        return _write_json(path, chunks, dag if labels else None)
    if path.lower().endswith(".csv"):
        return _write_csv(path, chunks, dag if labels else None)
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


def _write_json(path, chunks, dag):
    """One move per line, so that a reader can name the line of a bad move."""
    total = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'{{"format": "{JSON_FORMAT}", "version": {VERSION}, "moves": [')
        for codes in chunks:
            for k, v in zip((codes & 3).tolist(), (codes >> 2).tolist()):
                node = json.dumps(dag.label(v)) if dag is not None else str(v)
                f.write(f'{"," if total else ""}\n["{KINDS[k]}", {node}]')
                total += 1
        f.write("\n]}\n")
    return total


def _write_csv(path, chunks, dag):
    total = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for codes in chunks:
            for k, v in zip((codes & 3).tolist(), (codes >> 2).tolist()):
                writer.writerow((total, KINDS[k], v, dag.label(v) if dag is not None else ""))
                total += 1
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
    if str(path).lower().endswith(".json"):
        return None  # the reader names the line of a malformed move; a JSON file need not have one move a line
    seen = -2 if str(path).lower().endswith(".csv") else -1  # a CSV file starts with its header
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if line.split("#", 1)[0].strip():
                seen += 1
                if seen == index:
                    return lineno
    return None
