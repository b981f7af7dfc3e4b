"""Builder specs: ``pyramid:h=4``, ``attention:n=4,d=2``, ``osp:k-means``, or a file path.

A family is registered with :func:`family`; its parameters are read from the
builder's signature (size parameters and keyword-only options alike), so a
spec accepts exactly what the Python function accepts. A family registered
with ``bare=True`` takes the text after the colon, verbatim, as its one
argument (``osp:k-means``). The built-in families register themselves when
:mod:`dags` is imported.
"""

from __future__ import annotations

import inspect
import math
import os

from .budget import check_budget
from .errors import PebbleError, SizeError
from .io import READ_SUFFIXES, read_dag

__all__ = ["SpecError", "family", "families", "parse_spec", "build", "load_dag", "estimated_nodes"]


class SpecError(PebbleError, ValueError):
    """A builder spec or DAG argument that cannot be used, with the reason."""


_FAMILIES: dict = {}
_BARE: set = set()  # families whose spec is ``name:VALUE``, VALUE the builder's one argument


def family(name: str, *, example: str | None = None, bare: bool = False):
    """Register a builder under ``name`` for use in specs (``bare``: ``name:VALUE`` is its one argument)."""

    def register(func):
        _FAMILIES[name] = (func, example or name)
        if bare:
            _BARE.add(name)
        return func

    return register


def families() -> dict:
    """``{name: (builder, example spec)}`` of every registered family."""
    return dict(_FAMILIES)


def _convert(fname, pname, param, text):
    default = param.default
    ann = param.annotation
    kind = ann if isinstance(ann, type) else None
    if kind is None and isinstance(ann, str):
        kind = {"int": int, "float": float, "str": str, "bool": bool}.get(ann.split("|")[0].strip())
    if kind is None and default is not inspect.Parameter.empty and default is not None:
        kind = type(default)
    kind = kind or str
    try:
        if kind is bool:
            if text.lower() in ("1", "true", "yes"):
                return True
            if text.lower() in ("0", "false", "no"):
                return False
            raise ValueError
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise SpecError(f"{fname}: parameter '{pname}' must be {kind.__name__}, got {text!r}") from None
    return text


def parse_spec(spec: str):
    """Split ``'name:k=v,k=v'`` into the builder and its keyword arguments."""
    name, _, rest = spec.partition(":")
    name = name.strip()
    if name not in _FAMILIES:
        raise SpecError(f"unknown DAG family {name!r}; known: {', '.join(sorted(_FAMILIES))} "
                        f"(or give a DAG file: {', '.join(READ_SUFFIXES)})")
    func, example = _FAMILIES[name]
    if name in _BARE:
        if not rest.strip():
            raise SpecError(f"{name}: missing the argument after '{name}:' (example: {example})")
        return func, {next(iter(inspect.signature(func).parameters)): rest.strip()}
    sig = inspect.signature(func)
    params = {p.name: p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD}
    kwargs = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, val = item.partition("=")
        key = key.strip()
        if not eq:
            raise SpecError(f"{name}: expected key=value, got {item!r}")
        if key not in params:
            raise SpecError(f"{name}: unknown parameter {key!r}; accepted: {', '.join(params)}")
        kwargs[key] = _convert(name, key, params[key], val.strip())
    missing = [p for p, v in params.items() if v.default is inspect.Parameter.empty and p not in kwargs]
    if missing:
        raise SpecError(f"{name}: missing parameter {missing[0]!r}; accepted: {', '.join(params)} "
                        f"(example: {_FAMILIES[name][1]})")
    return func, kwargs


# Closed-form node counts of the built-in families (their docstrings state them), evaluated in
# floats before building so that a spec too large for memory is refused at once. Families without
# an entry are still bounded block by block by the builder.
_NODES = {
    "path": lambda n: n,
    "pyramid": lambda h: (h + 1.0) * (h + 2.0) / 2,
    "tree": lambda h: 2.0 ** (h + 1) - 1,
    "fft": lambda k: (k + 1.0) * 2.0 ** k,
    "matvec": lambda n, m=None: 3.0 * n * (n if m is None else m) + (n if m is None else m) - n,
    "matmul": lambda n, k, m: 1.0 * n * k + k * m + 2.0 * n * m * k,
    "stencil": lambda n, t: (t + 1.0) * n,
    "layered": lambda layers, width: 1.0 * layers * width,
    "attention": lambda n, d: 3.0 * n * d + 2.0 * n * n * d + n * n * (d - 1) + 2.0 * n * n + n * d * n,
}


def estimated_nodes(name: str, kwargs: dict):
    """Nodes the spec would build (a float, ``inf`` past the float range), or ``None`` if unknown."""
    formula = _NODES.get(name)
    if formula is None:
        return None
    params = inspect.signature(formula).parameters
    try:
        return formula(**{k: v for k, v in kwargs.items() if k in params})
    except OverflowError:
        return math.inf


def build(spec: str):
    """Build the DAG a spec names, after checking its size against the memory budget."""
    func, kwargs = parse_spec(spec)
    nodes = estimated_nodes(spec.partition(":")[0].strip(), kwargs)
    if nodes is not None:
        check_budget(spec, nodes)
    try:
        return func(**kwargs)
    except SpecError:
        raise
    except SizeError as exc:  # the builder's block-by-block budget check
        raise SizeError(f"{spec}: {exc}") from None
    except ValueError as exc:  # the builders' argument checks
        raise SpecError(f"{spec}: {exc}") from None


def load_dag(arg: str):
    """A DAG from a file (any of :data:`dags.io.READ_SUFFIXES`, see :func:`dags.read_dag`) or a builder spec."""
    if os.path.exists(arg) or arg.lower().endswith(READ_SUFFIXES):
        return read_dag(arg)
    return build(arg)
