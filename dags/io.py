"""DAG files: the project's JSON format, HyperDAG (read and write), edge lists and GML (read), DOT (write).

JSON format (``"format": "pebble-dag"``, version 1)::

    {
      "format": "pebble-dag", "version": 1,
      "name": "pyramid(2)",
      "num_nodes": 6,
      "preds": [[], [], [], [0, 1], [1, 2], [3, 4]],
      "ops": ["input", "input", "input", "add", "add", "add"],     (optional)
      "outputs": [5],                                              (optional: every sink)
      "labels": {"blocks": [{"name": "p0", "start": 0, "shape": [3]}, ...],
                 "names": [...]},                                  (optional)
      "coef": [...], "const": [...],                               (optional, per node)
      "meta": {...}                                                (optional)
    }

``preds[v]`` lists the operands of node ``v`` in order.

HyperDAG (the OneStopParallel format): ``%`` comment lines; a header
``M N P`` (hyperedges, nodes, pins); ``M`` lines ``id comm mem``; ``N`` lines
``id work [type]``; ``P`` lines ``hyperedge node``. The first pin of a
hyperedge is its source; it has an edge to every other pin. The format holds
no operand order and no output set: the reader lists a node's operands in the
order of their hyperedges, and the outputs are the sinks. The writer gives
every node with successors one hyperedge, in node order, so a file read,
written and read again gives the same DAG.

Edge list (``.edgelist``, or ``.txt`` whose first line is not a HyperDAG
header): one edge ``u v`` per line (``u`` an operand of ``v``), ``#`` starts
a comment. Nodes are named by their tokens (integers ``0..N-1`` keep their
ids); a node's operands are in the order of its lines.

GML (``.gml``), read through networkx: a directed graph; the nodes' ``label``,
``op`` and ``output`` and the edges' ``operand`` attributes are used as
:meth:`DAG.from_networkx` describes.
"""

from __future__ import annotations

import json
import math
import os
import re
from array import array

import numpy as np

from .budget import bounded_lines, check_budget, check_file_budget
from .core import DAG, OPS, DAGError
from .errors import PebbleError, SizeError
from .labels import LabelError, Labels

__all__ = ["DAGFileError", "READ_SUFFIXES", "WRITE_SUFFIXES", "read_dag", "write_dag", "read_json", "write_json",
           "read_hyperdag", "write_hyperdag", "read_edgelist", "read_gml", "write_dot", "check_regular_file"]

FORMAT_NAME = "pebble-dag"
FORMAT_VERSION = 1


class DAGFileError(PebbleError, ValueError):
    """A DAG file that cannot be read; the message names the file (and line)."""


WRITE_SUFFIXES = (".json", ".hdag", ".dot", ".gv")
READ_SUFFIXES = (".json", ".hdag", ".hyperdag", ".edgelist", ".txt", ".gml")
_MAX_INT_DIGITS = 19  # node ids and counts fit in int64


def check_regular_file(path, error):
    """Raise ``error`` naming ``path`` unless it is an existing regular file."""
    if not os.path.exists(path):
        raise error(f"{path}: no such file")
    if os.path.isdir(path):
        raise error(f"{path}: is a directory, not a file")
    if not os.path.isfile(path):
        raise error(f"{path}: not a regular file")


def read_dag(path) -> DAG:
    """Read a DAG file by its suffix: ``.json`` (pebble-dag), ``.hdag``/``.hyperdag`` (HyperDAG),
    ``.edgelist`` (edge list), ``.gml``; a ``.txt`` file is a HyperDAG or an edge list by its first line,
    any other a JSON file if it starts with ``{``, else a HyperDAG."""
    path = os.fspath(path)
    check_regular_file(path, DAGFileError)
    lower = path.lower()
    if lower.endswith(".json"):
        return read_json(path)
    if lower.endswith((".hdag", ".hyperdag")):
        return read_hyperdag(path)
    if lower.endswith(".edgelist"):
        return read_edgelist(path)
    if lower.endswith(".gml"):
        return read_gml(path)
    if lower.endswith(".txt"):
        return read_hyperdag(path) if _looks_like_hyperdag(path) else read_edgelist(path)
    with open(path, "rb") as f:
        head = f.read(1)
    return read_json(path) if head == b"{" else read_hyperdag(path)


def _looks_like_hyperdag(path) -> bool:
    """A ``%`` comment or a three-number header comes first in a HyperDAG; an edge list has two per line."""
    for _, line in bounded_lines(path, DAGFileError):
        s = line.strip()
        if s.startswith("%"):
            return True
        if s and not s.startswith("#"):
            return len(s.split()) == 3
    return False


def write_dag(dag: DAG, path) -> None:
    """Write ``dag`` by the suffix of ``path``, one of :data:`WRITE_SUFFIXES`: JSON (``.json``),
    HyperDAG (``.hdag``) or DOT (``.dot``/``.gv``); any other suffix is refused."""
    path = os.fspath(path)
    if path.lower().endswith((".dot", ".gv")):
        write_dot(dag, path)
    elif path.lower().endswith(".json"):
        write_json(dag, path)
    elif path.lower().endswith(".hdag"):
        write_hyperdag(dag, path)
    else:
        raise DAGFileError(f"{path}: cannot write this file type; supported: {', '.join(WRITE_SUFFIXES)}")


# -- JSON ----------------------------------------------------------------

def dag_to_json(dag: DAG) -> dict:
    preds = np.split(dag.indices, dag.indptr[1:-1]) if dag.num_nodes else []
    obj = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "name": dag.name,
        "num_nodes": dag.num_nodes,
        "preds": [p.tolist() for p in preds],
        "ops": [OPS[c] for c in dag.ops],
    }
    if dag.has_explicit_outputs:
        obj["outputs"] = dag.outputs.tolist()
    labels = dag.labels.to_json()
    if labels:
        obj["labels"] = labels
    for attr in ("coef", "const"):
        arr = getattr(dag, attr)
        if arr is not None:
            obj[attr] = arr.tolist()
    if dag.meta:
        obj["meta"] = dag.meta
    return obj


def write_json(dag: DAG, path) -> None:
    with open(path, "w") as f:
        json.dump(dag_to_json(dag), f, separators=(",", ":"), default=_json_default, allow_nan=False)
        f.write("\n")


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"cannot store {type(x).__name__} in a DAG file")


def dag_from_json(obj, where="JSON") -> DAG:
    """A DAG from a parsed pebble-dag object; every field is checked before it is used."""
    def fail(msg):
        raise DAGFileError(f"{where}: {msg}")

    if not isinstance(obj, dict):
        fail("expected a JSON object")
    if obj.get("format") != FORMAT_NAME:
        fail(f"not a pebble-dag file (\"format\" is {obj.get('format')!r}, expected {FORMAT_NAME!r})")
    if obj.get("version") != FORMAT_VERSION:
        fail(f"unsupported version {obj.get('version')!r} (this reader knows {FORMAT_VERSION})")
    preds = obj.get("preds")
    if not isinstance(preds, list):
        fail("'preds' must be a list of predecessor lists")
    n = obj.get("num_nodes", len(preds))
    if not _is_int(n):
        fail(f"'num_nodes' must be an integer, got {n!r}")
    if n != len(preds):
        fail(f"'num_nodes' is {n} but 'preds' has {len(preds)} entries")
    counts = []
    flat = []
    for v, p in enumerate(preds):
        if not isinstance(p, list) or not all(_is_int(u) and 0 <= u < n for u in p):
            fail(f"preds[{v}] must be a list of node ids in 0..{n - 1}")
        counts.append(len(p))
        flat.extend(p)
    check_budget(where, n, len(flat))
    ops = obj.get("ops")
    if ops is not None and not (isinstance(ops, list) and all(isinstance(o, str) for o in ops)):
        fail("'ops' must be a list of operation names")
    outputs = obj.get("outputs")
    if outputs is not None and not (isinstance(outputs, list) and all(_is_int(u) for u in outputs)):
        fail("'outputs' must be a list of node ids")
    for attr in ("coef", "const"):
        values = obj.get(attr)
        if values is not None and not (isinstance(values, list) and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in values)):
            fail(f"'{attr}' must be a list of finite numbers")
    name = obj.get("name", "")
    if not isinstance(name, str):
        fail(f"'name' must be a string, got {name!r}")
    meta = obj.get("meta")
    if meta is not None and not isinstance(meta, dict):
        fail(f"'meta' must be an object, got {meta!r}")
    indptr = np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))])
    try:
        labels = Labels.from_json(obj["labels"]) if "labels" in obj else None
        return DAG(indptr, np.asarray(flat, dtype=np.int64), ops=ops, outputs=outputs, labels=labels,
                   coef=obj.get("coef"), const=obj.get("const"), name=name, meta=meta)
    except (DAGError, LabelError) as exc:
        fail(str(exc))


def _is_int(x) -> bool:
    """A JSON integer that fits in int64 (not a bool)."""
    return isinstance(x, int) and not isinstance(x, bool) and -(1 << 63) <= x < 1 << 63


def _parse_int(text):
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise _BadNumber(f"integer of {len(text)} digits (at most {_MAX_INT_DIGITS})")
    return int(text)


def _parse_constant(text):
    raise _BadNumber(f"{text} is not a finite number")


class _BadNumber(ValueError):
    """A number the JSON parser must not turn into an object."""


def load_json_file(path, error: type[Exception], what: str, *, size_error: type[Exception] = SizeError,
                   hint: str = ""):
    """A JSON file parsed within the memory budget, its integers of at most 19 digits and no NaN or
    Infinity; every failure is ``error`` naming the file (and line), an oversized file ``size_error``."""
    check_file_budget(path, what, error=size_error, hint=hint)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f, parse_int=_parse_int, parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise error(f"{path} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a UTF-8 text file (byte {exc.start})") from None
    except RecursionError:
        raise error(f"{path}: JSON nested too deeply") from None
    except _BadNumber as exc:
        raise error(f"{path}: {exc}") from None


def read_json(path) -> DAG:
    path = os.fspath(path)
    return dag_from_json(load_json_file(path, DAGFileError, "a JSON DAG file"), where=path)


# -- HyperDAG --------------------------------------------------------------

def read_hyperdag(path) -> DAG:
    """Read a HyperDAG v1 file; memory grows with what the file holds, not what it claims."""
    path = os.fspath(path)

    def fail(lineno, msg):
        raise DAGFileError(f"{path} line {lineno}: {msg}" if lineno else f"{path}: {msg}")

    header = None
    hyperedges_seen = nodes_seen = 0
    pin_edge, pin_node = array("q"), array("q")
    lineno = 0
    for lineno, line in bounded_lines(path, DAGFileError):
        s = line.strip()
        if not s or s.startswith("%"):
            continue
        parts = s.split()
        nums = [_parse_count(p) for p in parts[:3]]
        if None in nums:
            fail(lineno, f"expected integers, got {s[:80]!r}")
        if header is None:
            if len(parts) != 3:
                fail(lineno, f"bad header {s[:80]!r}: expected 'hyperedges nodes pins'")
            if min(nums) < 0:
                fail(lineno, f"bad header {s!r}: counts must be non-negative")
            check_budget(f"{path} line {lineno}: the header", nums[1], nums[2])
            header = nums
            continue
        m, n, p = header
        if hyperedges_seen < m:
            if len(parts) < 1 or not 0 <= nums[0] < m:
                fail(lineno, f"hyperedge id {parts[0]} out of range 0..{m - 1}")
            hyperedges_seen += 1
        elif nodes_seen < n:
            if not 0 <= nums[0] < n:
                fail(lineno, f"node id {parts[0]} out of range 0..{n - 1}")
            nodes_seen += 1
        elif len(pin_edge) < p:
            if len(parts) != 2:
                fail(lineno, f"expected a pin 'hyperedge node', got {s!r}")
            if not 0 <= nums[0] < m:
                fail(lineno, f"pin names hyperedge {nums[0]}, out of range 0..{m - 1}")
            if not 0 <= nums[1] < n:
                fail(lineno, f"pin names node {nums[1]}, out of range 0..{n - 1}")
            pin_edge.append(nums[0])
            pin_node.append(nums[1])
        else:
            fail(lineno, f"unexpected line after the {p} pins the header declares: {s[:80]!r}")
    if header is None:
        fail(0, "empty file: no 'hyperedges nodes pins' header")
    m, n, p = header
    for what, seen, declared in (("hyperedges", hyperedges_seen, m), ("nodes", nodes_seen, n),
                                 ("pins", len(pin_edge), p)):
        if seen < declared:
            fail(0, f"header declares {declared} {what} but the file ends after {seen} (line {lineno})")
    pe = np.frombuffer(pin_edge, dtype=np.int64) if pin_edge else np.zeros(0, np.int64)
    pn = np.frombuffer(pin_node, dtype=np.int64) if pin_node else np.zeros(0, np.int64)
    order = np.argsort(pe, kind="stable")
    pe, pn = pe[order], pn[order]
    first = np.ones(pe.size, bool)
    first[1:] = pe[1:] != pe[:-1]
    src = np.maximum.accumulate(np.where(first, np.arange(pe.size), 0))
    edges = np.stack([pn[src[~first]], pn[~first]], axis=1)
    try:
        return DAG.from_edges(n, edges, name=os.path.splitext(os.path.basename(path))[0])
    except DAGError as exc:
        fail(0, str(exc))


def write_hyperdag(dag: DAG, path) -> None:
    """Write a HyperDAG file: one hyperedge per node with successors (the node first, then its successors).

    Unit weights throughout. What the format cannot hold is dropped: labels,
    operations, an explicit output set, and an operand order other than the
    order of the operands' node ids (see the module docstring).
    """
    ptr, succ = dag.successor_csr
    sources = np.flatnonzero(dag.out_degree > 0)
    pins = int(sources.size + succ.size)
    with open(path, "w", encoding="ascii") as f:
        f.write("%% HyperdagDB format written by pebble-io\n")
        f.write(f"{sources.size} {dag.num_nodes} {pins}\n")
        f.write("%% Hyperedges: ID comm_weight mem_weight\n")
        f.writelines(f"{e} 1 1\n" for e in range(sources.size))
        f.write("%% Vertices: ID work_weight\n")
        f.writelines(f"{v} 1\n" for v in range(dag.num_nodes))
        f.write("%% Pins: HyperedgeID NodeID\n")
        for e, u in enumerate(sources.tolist()):
            f.write(f"{e} {u}\n")
            f.writelines(f"{e} {v}\n" for v in succ[ptr[u]:ptr[u + 1]].tolist())


# -- edge lists and GML ------------------------------------------------------

def read_edgelist(path) -> DAG:
    """Read an edge list: ``u v`` per line, ``#`` comments; operands in the order of their lines."""
    import networkx as nx  # loaded only for files that need it

    path = os.fspath(path)
    graph = nx.DiGraph()
    first_line = {}
    for lineno, line in bounded_lines(path, DAGFileError):
        body = line.split("#", 1)[0].split()
        if not body:
            continue
        if len(body) != 2:
            raise DAGFileError(f"{path} line {lineno}: expected an edge 'u v', got {line.strip()[:80]!r}")
        u, v = (_node_token(t) for t in body)
        if u == v:
            raise DAGFileError(f"{path} line {lineno}: self-loop on node {body[0]}")
        if (u, v) in first_line:
            raise DAGFileError(f"{path} line {lineno}: duplicate edge {body[0]} -> {body[1]} "
                               f"(first on line {first_line[u, v]})")
        first_line[u, v] = lineno
        graph.add_edge(u, v, operand=graph.in_degree(v) if v in graph else 0)
        if len(first_line) % 65536 == 0:
            check_budget(f"{path} line {lineno}", graph.number_of_nodes(), len(first_line))
    if not graph:
        raise DAGFileError(f"{path}: no edges (an edge list has one 'u v' per line)")
    if not all(type(u) is int for u in graph):
        graph = nx.relabel_nodes(graph, str)  # one kind of node name: '1' and 'x' are both labels
    elif set(graph) != set(range(len(graph))):
        raise DAGFileError(f"{path}: integer node ids must be 0..N-1 (they would be node numbers), found "
                           f"{len(graph)} nodes numbered {min(graph)}..{max(graph)}; number them from 0 or use names")
    return _from_graph(path, graph)


def _node_token(text):
    """An integer node id if the token is one (so ``0..N-1`` keep their ids), else the token as a label."""
    number = _parse_count(text)
    return number if number is not None and number >= 0 and not text.startswith("+") else text


def read_gml(path) -> DAG:
    """Read a directed GML graph through networkx (node ids as written; ``label`` attributes as labels)."""
    import networkx as nx

    path = os.fspath(path)
    check_file_budget(path, "a GML file")
    try:
        graph = nx.read_gml(path, label="id")
    except UnicodeDecodeError as exc:
        raise DAGFileError(f"{path}: not a UTF-8 text file (byte {exc.start})") from None
    except (nx.NetworkXError, ValueError, KeyError) as exc:
        raise DAGFileError(_gml_message(path, exc)) from None
    if not graph.is_directed():
        raise DAGFileError(f"{path}: the GML graph is undirected; a DAG file needs 'directed 1'")
    if graph.is_multigraph():
        raise DAGFileError(f"{path}: the GML graph has parallel edges (multigraph 1); a DAG has none")
    return _from_graph(path, graph)


def _gml_message(path, exc) -> str:
    """networkx's GML error, with the position it gives as ``at (line, column)`` turned into a line number."""
    text = str(exc).strip() or type(exc).__name__
    where = re.search(r"\s*at \((\d+), (\d+)\)", text)
    if where is None:
        return f"{path}: not a GML graph ({text})"
    return f"{path} line {where.group(1)}: not a GML graph ({text[:where.start()] + text[where.end():]})"


def _from_graph(path, graph) -> DAG:
    try:
        dag = DAG.from_networkx(graph, name=graph.graph.get("name") or os.path.splitext(os.path.basename(path))[0])
    except (DAGError, LabelError) as exc:
        raise DAGFileError(f"{path}: {exc}") from None
    return dag


def _parse_count(text):
    """A decimal integer of at most 19 digits, else ``None``."""
    digits = text[1:] if text[:1] in "+-" else text
    return int(text) if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_INT_DIGITS else None


# -- DOT -------------------------------------------------------------------

def write_dot(dag: DAG, path) -> None:
    """Write Graphviz DOT: sources as boxes, outputs double-circled, labels shown."""
    is_out = np.zeros(dag.num_nodes, bool)
    is_out[dag.outputs] = True
    src = dag.in_degree == 0
    with open(path, "w") as f:
        f.write(f"digraph {json.dumps(dag.name or 'dag')} {{\n  rankdir=BT;\n")
        for v in range(dag.num_nodes):
            shape = "box" if src[v] else ("doublecircle" if is_out[v] else "ellipse")
            f.write(f"  {v} [label={json.dumps(dag.label(v))}, shape={shape}];\n")
        rows = np.repeat(np.arange(dag.num_nodes), dag.in_degree)
        for u, v in zip(dag.indices.tolist(), rows.tolist()):
            f.write(f"  {u} -> {v};\n")
        f.write("}\n")
