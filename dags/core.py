"""The compact DAG type shared by every part of the toolkit.

Nodes are ``0 .. N-1``. Predecessors are stored in CSR form: the
predecessors of node ``v`` are ``indices[indptr[v]:indptr[v+1]]``, in operand
order (it matters for ``sub`` and ``div``). Each node has an operation code
(:data:`OPS`), optional float attributes ``coef`` and ``const`` (constants of
the operation, never nodes), a readable label (:class:`dags.labels.Labels`),
and the DAG has a set of outputs: every sink unless given explicitly.

Operation semantics (used by :mod:`dags.evaluate`), with ``x`` the operand
values in predecessor order, ``a = coef[v]`` (default 1) and
``b = const[v]`` (default 0):

========  =====================================
input     a source; its value is supplied
add       a * sum(x) + b
mul       a * prod(x) + b
sub       a * (x[0] - x[1]) + b
div       a * (x[0] / x[1]) + b
exp       exp(a * x[0] + b)
max       max(x)
opaque    no numeric meaning (graphs from files)
square    a * x[0]**2 + b
========  =====================================
"""

from __future__ import annotations

import functools
import sys
from functools import cached_property

import numpy as np

from . import _kernels
from .errors import PebbleError
from .labels import LabelError, Labels

__all__ = ["DAG", "DAGError", "OPS", "OP_CODES", "OPERAND_ATTRS", "as_dag", "takes_dag"]

OPS = ("input", "add", "mul", "sub", "div", "exp", "max", "opaque", "square")
OP_CODES = {name: code for code, name in enumerate(OPS)}
_BINARY_OPS = (OP_CODES["sub"], OP_CODES["div"])
_UNARY_OPS = (OP_CODES["exp"], OP_CODES["square"])


class DAGError(PebbleError, ValueError):
    """A graph that is not a valid computation DAG, with the reason in words."""


def _as_index_array(a, what):
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise DAGError(f"{what} must be a one-dimensional array")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise DAGError(f"{what} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


class DAG:
    """A computation DAG in compact form.

    Parameters
    ----------
    indptr, indices : int arrays
        Predecessor lists in CSR form (``len(indptr) == N + 1``).
    ops : array of uint8 or sequence of op names, optional
        Operation per node; default ``input`` for sources and ``opaque`` otherwise.
    outputs : int array, optional
        Nodes that must end with a blue pebble; default every sink.
    labels : Labels, optional
    coef, const : float arrays, optional
        Per-node constants of the operations (see module docstring).
    name : str
    meta : dict, optional
        Family parameters and derived facts (for example ``R`` and ``eps``).
    validate : bool
        Check the graph (default). Builders that construct a DAG by a proven
        formula may skip the cycle check with ``validate=False``.

    Examples
    --------
    >>> g = DAG.from_edges(3, [(0, 2), (1, 2)], name="join")
    >>> g.num_nodes, g.num_edges, g.sources.tolist(), g.outputs.tolist()
    (3, 2, [0, 1], [2])
    """

    def __init__(self, indptr, indices, *, ops=None, outputs=None, labels=None, coef=None,
                 const=None, name="", meta=None, validate=True):
        self.indptr = _as_index_array(indptr, "indptr")
        self.indices = _as_index_array(indices, "indices")
        n = self.indptr.size - 1
        if n < 0:
            raise DAGError("indptr must have at least one entry")
        self.num_nodes = int(n)
        self.name = str(name)
        self.meta = dict(meta or {})
        self.labels = labels if labels is not None else Labels()
        if self.indptr[0] != 0 or self.indptr[-1] != self.indices.size or np.any(np.diff(self.indptr) < 0):
            raise DAGError("indptr must start at 0, never decrease and end at len(indices)")
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= n):
            bad = int(self.indices[(self.indices < 0) | (self.indices >= n)][0])
            raise DAGError(f"edge from node {bad}, which is not a node (the DAG has {n} nodes)")
        if ops is None:
            ops = np.where(self.in_degree == 0, OP_CODES["input"], OP_CODES["opaque"])
        elif not isinstance(ops, np.ndarray) or ops.dtype.kind not in "iu":
            try:
                ops = np.array([OP_CODES[o] for o in ops])
            except KeyError as exc:
                raise DAGError(f"unknown operation {exc.args[0]!r}; known: {', '.join(OPS)}") from None
        self.ops = np.asarray(ops, dtype=np.uint8)
        if self.ops.shape != (n,):
            raise DAGError(f"ops has {self.ops.size} entries for {n} nodes")
        self.coef = None if coef is None else np.asarray(coef, dtype=np.float64)
        self.const = None if const is None else np.asarray(const, dtype=np.float64)
        for attr in ("coef", "const"):
            arr = getattr(self, attr)
            if arr is not None and arr.shape != (n,):
                raise DAGError(f"{attr} has {arr.size} entries for {n} nodes")
            if arr is not None and not np.isfinite(arr).all():
                v = int(np.flatnonzero(~np.isfinite(arr))[0])
                raise DAGError(f"{attr} of node {v} is {arr[v]}, not a finite number")
        if outputs is None:
            self._outputs = None
        else:
            out = _as_index_array(outputs, "outputs")
            bad = out[(out < 0) | (out >= n)]
            if bad.size:
                raise DAGError(f"output {int(bad[0])} is not a node (the DAG has {n} nodes)")
            if out.size == 0 and n:
                raise DAGError("the output set is empty: every schedule would pebble it "
                               "(leave outputs out for every sink)")
            self._outputs = np.unique(out)
        try:
            self.labels.check_against(n)
        except LabelError as exc:
            raise DAGError(str(exc)) from None
        if validate:
            self.validate()

    # -- construction ----------------------------------------------------
    @classmethod
    def from_edges(cls, num_nodes, edges, **kwargs):
        """Build from ``(u, v)`` pairs, meaning ``u`` is an operand of ``v``.

        Predecessors keep the order in which their edges are listed.
        """
        e = np.asarray(list(edges) if not isinstance(edges, np.ndarray) else edges, dtype=np.int64)
        e = e.reshape(-1, 2)
        if e.size and (e.min() < 0 or e.max() >= num_nodes):
            bad = int(e[(e < 0) | (e >= num_nodes)][0])
            raise DAGError(f"edge endpoint {bad} is not a node (the DAG has {num_nodes} nodes)")
        order = np.argsort(e[:, 1], kind="stable")
        indices = e[order, 0]
        counts = np.bincount(e[:, 1], minlength=num_nodes) if e.size else np.zeros(num_nodes, np.int64)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        return cls(indptr, indices, **kwargs)

    def validate(self) -> None:
        """Raise :class:`DAGError` for self-loops, duplicate edges, cycles or bad ops."""
        n = self.num_nodes
        indeg = self.in_degree
        rows = np.repeat(np.arange(n, dtype=np.int64), indeg)
        loops = np.flatnonzero(self.indices == rows)
        if loops.size:
            v = int(rows[loops[0]])
            raise DAGError(f"self-loop on node {self.label(v)}")
        if self.indices.size:
            key = rows * n + self.indices
            key.sort()
            dup = np.flatnonzero(key[1:] == key[:-1])
            if dup.size:
                v, u = divmod(int(key[dup[0]]), n)
                raise DAGError(f"duplicate edge {self.label(u)} -> {self.label(v)}")
        order, count = _kernels.kahn_order(self.indptr, self.indices, n)
        if count < n:
            raise DAGError(f"DAG has a cycle: {' -> '.join(self.label(v) for v in self._find_cycle(order[:count]))}")
        self.__dict__["topological_order"] = order
        src = indeg == 0
        if np.any(self.ops >= len(OPS)):
            v = int(np.flatnonzero(self.ops >= len(OPS))[0])
            raise DAGError(f"node {self.label(v)} has unknown operation code {int(self.ops[v])}")
        wrong = np.flatnonzero(src != (self.ops == OP_CODES["input"]))
        if wrong.size:
            v = int(wrong[0])
            if src[v]:
                raise DAGError(f"node {self.label(v)} has no predecessors but operation '{OPS[self.ops[v]]}'")
            raise DAGError(f"node {self.label(v)} has predecessors but operation 'input'")
        for code, arity in [(c, 2) for c in _BINARY_OPS] + [(c, 1) for c in _UNARY_OPS]:
            bad = np.flatnonzero((self.ops == code) & (indeg != arity))
            if bad.size:
                v = int(bad[0])
                raise DAGError(f"node {self.label(v)}: operation '{OPS[code]}' needs {arity} operand(s), "
                               f"has {int(indeg[v])}")

    def _find_cycle(self, acyclic_part):
        alive = np.ones(self.num_nodes, bool)
        alive[acyclic_part] = False
        v = int(np.flatnonzero(alive)[0])
        seen = {}
        path = []
        while v not in seen:
            seen[v] = len(path)
            path.append(v)
            preds = self.predecessors(v)
            v = int(preds[alive[preds]][0])
        cycle = path[seen[v]:] + [v]
        return cycle[::-1]  # walked along predecessors; print along edges

    # -- structure -------------------------------------------------------
    @property
    def num_edges(self) -> int:
        return int(self.indices.size)

    @cached_property
    def in_degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    @cached_property
    def out_degree(self) -> np.ndarray:
        return np.bincount(self.indices, minlength=self.num_nodes).astype(np.int64)

    @property
    def max_in_degree(self) -> int:
        return int(self.in_degree.max()) if self.num_nodes else 0

    @cached_property
    def sources(self) -> np.ndarray:
        return np.flatnonzero(self.in_degree == 0)

    @cached_property
    def sinks(self) -> np.ndarray:
        return np.flatnonzero(self.out_degree == 0)

    @property
    def outputs(self) -> np.ndarray:
        return self.sinks if self._outputs is None else self._outputs

    @property
    def has_explicit_outputs(self) -> bool:
        return self._outputs is not None

    @cached_property
    def successor_csr(self):
        """``(indptr, indices)`` of successor lists."""
        order = np.argsort(self.indices, kind="stable")
        rows = np.repeat(np.arange(self.num_nodes, dtype=np.int64), self.in_degree)
        indptr = np.concatenate([[0], np.cumsum(self.out_degree)])
        return indptr, rows[order]

    def predecessors(self, v) -> np.ndarray:
        return self.indices[self.indptr[v]:self.indptr[v + 1]]

    def successors(self, v) -> np.ndarray:
        ptr, idx = self.successor_csr
        return idx[ptr[v]:ptr[v + 1]]

    @cached_property
    def topological_order(self) -> np.ndarray:
        order, count = _kernels.kahn_order(self.indptr, self.indices, self.num_nodes)
        if count < self.num_nodes:
            raise DAGError("DAG has a cycle")
        return order

    @cached_property
    def levels(self) -> np.ndarray:
        """Longest-path depth of every node; sources are at level 0."""
        return _kernels.levels_from_order(self.indptr, self.indices, self.topological_order)

    @cached_property
    def needed(self) -> np.ndarray:
        """Mask of the nodes with a path to an output (the outputs included)."""
        return _kernels.ancestors_mask(self.indptr, self.indices, self.outputs, self.num_nodes)

    def min_memory(self, *, sliding=False) -> int:
        """Smallest M for which a complete pebbling exists.

        Every needed non-source node must at some time be red together with
        all its predecessors: in-degree + 1 pebbles without sliding, in-degree
        with it. That many always suffice: compute the needed nodes in
        topological order, each from freshly loaded operands, storing every
        result. With nothing to compute, one pebble (the game needs M >= 1).
        """
        need = self.needed & (self.in_degree > 0)
        if not need.any():
            return 1
        k = int(self.in_degree[need].max())
        return max(1, k if sliding else k + 1)

    # -- labels ----------------------------------------------------------
    def label(self, v) -> str:
        return self.labels.label(v)

    def node(self, key) -> int:
        """Node id for a label such as ``'Q[0,1]'`` or an integer id."""
        if isinstance(key, (int, np.integer)):
            if 0 <= key < self.num_nodes:
                return int(key)
            raise KeyError(key)
        return self.labels.lookup(str(key), self.num_nodes)

    def with_outputs(self, outputs) -> DAG:
        """The same graph with an explicit output set."""
        return DAG(self.indptr, self.indices, ops=self.ops, outputs=outputs, labels=self.labels,
                   coef=self.coef, const=self.const, name=self.name, meta=self.meta, validate=False)

    # -- networkx --------------------------------------------------------
    def to_networkx(self):
        """A ``networkx.DiGraph`` on nodes ``0..N-1`` with ``label``, ``op`` and ``output`` attributes."""
        import networkx as nx  # networkx costs ~0.25 s to import: loaded only for interop

        g = nx.DiGraph(name=self.name)
        is_out = np.zeros(self.num_nodes, bool)
        is_out[self.outputs] = True
        for v in range(self.num_nodes):
            g.add_node(v, label=self.label(v), op=OPS[self.ops[v]], output=bool(is_out[v]))
        rows = np.repeat(np.arange(self.num_nodes), self.in_degree)
        slots = np.arange(self.num_edges) - np.repeat(self.indptr[:-1], self.in_degree)
        g.add_edges_from((u, v, {"operand": i}) for u, v, i in zip(self.indices.tolist(), rows.tolist(),
                                                                     slots.tolist()))
        return g

    @classmethod
    def from_networkx(cls, graph, *, outputs=None, name=None):
        """Convert a ``networkx.DiGraph``.

        Nodes are numbered in ``graph.nodes`` order (integer nodes ``0..N-1``
        keep their ids); a node's label is its
        ``label`` attribute or ``str(node)``; an ``op`` attribute is used when
        present. The operands of a node are ordered by the integer edge
        attribute ``operand`` (or ``order``) where its in-edges carry one, else
        by node number (``to_networkx`` writes ``operand``, so a round trip
        keeps the order ``sub`` and ``div`` depend on). Outputs are the nodes
        listed in ``outputs``, else those with a true ``output`` attribute,
        else every sink.
        """
        if not graph.is_directed() or graph.is_multigraph():
            raise DAGError(f"expected a networkx DiGraph, got a {type(graph).__name__}")
        nodes = list(graph.nodes)
        if all(type(u) is int for u in nodes) and set(nodes) == set(range(len(nodes))):
            nodes.sort()  # integer nodes 0..N-1 keep their ids
        index = {u: i for i, u in enumerate(nodes)}
        edges = [(index[u], index[v]) for v in nodes for u in _operands(graph, v, index)]
        names = [str(graph.nodes[u].get("label", u)) for u in nodes]
        ops = None
        if any("op" in graph.nodes[u] for u in nodes):
            indeg = dict(graph.in_degree())
            ops = [graph.nodes[u].get("op", "input" if indeg[u] == 0 else "opaque") for u in nodes]
        if outputs is not None:
            out = [index[u] for u in outputs]
        elif any(graph.nodes[u].get("output") for u in nodes):
            out = [index[u] for u in nodes if graph.nodes[u].get("output")]
        else:
            out = None
        plain = all(isinstance(u, int) for u in nodes) and nodes == list(range(len(nodes)))
        try:
            labels = Labels() if plain and all(names[i] == str(i) for i in range(len(nodes))) else Labels(names=names)
        except LabelError as exc:  # integer names that are not 0..N-1 would read as other nodes' ids
            raise DAGError(f"{exc}: integer nodes keep their ids only when they are 0..N-1; renumber them "
                           f"(networkx.convert_node_labels_to_integers) or give them names") from None
        return cls.from_edges(len(nodes), edges, ops=ops, outputs=out, labels=labels,
                              name=graph.graph.get("name", "") if name is None else name)

    def __repr__(self):
        nm = f" {self.name!r}" if self.name else ""
        return f"<DAG{nm}: {self.num_nodes} nodes, {self.num_edges} edges, {self.outputs.size} outputs>"


#: Edge attributes that give an operand's position among its node's operands, first found wins.
OPERAND_ATTRS = ("operand", "order")


def _operands(graph, v, index):
    """The predecessors of ``v`` in operand order: by :data:`OPERAND_ATTRS`, else by node number."""
    preds = list(graph.predecessors(v))
    key = next((a for a in OPERAND_ATTRS if any(a in graph.edges[u, v] for u in preds)), None)
    if key is None:
        return sorted(preds, key=index.__getitem__)
    slots = {}
    for u in preds:
        slot = graph.edges[u, v].get(key)
        if isinstance(slot, bool) or not isinstance(slot, (int, np.integer)):
            raise DAGError(f"edge {u!r} -> {v!r}: attribute {key!r} must be an integer (the operand's position), "
                           f"got {slot!r}")
        if slot in slots:
            raise DAGError(f"edges {slots[slot]!r} -> {v!r} and {u!r} -> {v!r} have the same {key!r} {slot}")
        slots[slot] = u
    return [slots[k] for k in sorted(slots)]


def as_dag(obj) -> DAG:
    """The :class:`DAG` that ``obj`` stands for: a DAG as it is, a ``networkx.DiGraph`` converted.

    Every function of the toolkit that takes a DAG passes it through here, so a
    networkx graph works wherever a DAG does. The conversion is
    :meth:`DAG.from_networkx` (operand order from the edge attribute
    ``operand`` or ``order``, else by node number). Anything else raises
    :class:`DAGError` naming its type.

    >>> import networkx as nx
    >>> as_dag(nx.DiGraph([("a", "c"), ("b", "c")]))
    <DAG: 3 nodes, 2 edges, 1 outputs>
    """
    if isinstance(obj, DAG):
        return obj
    nx = sys.modules.get("networkx")  # a networkx graph exists only once networkx is imported
    if nx is not None and isinstance(obj, nx.Graph):
        return DAG.from_networkx(obj)
    kind = type(obj)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    raise DAGError(f"expected a dags.DAG or a networkx.DiGraph, got {name}")


def takes_dag(func):
    """Let ``func(dag, ...)`` take anything :func:`as_dag` converts: its first argument goes through it."""

    @functools.wraps(func)
    def wrapper(dag, *args, **kwargs):
        return func(as_dag(dag), *args, **kwargs)

    return wrapper
