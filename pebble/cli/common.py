"""Argument helpers and output formatting shared by the subcommands."""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys

import numpy as np

from dags import load_dag
from dags.io import READ_SUFFIXES

from . import CommandError

__all__ = ["add_dag_argument", "add_game_arguments", "positive_int", "seed_int", "positive_float", "load_dag_arg",
           "game_kwargs", "table", "print_json", "split_labels", "require_extra", "require_suffix"]


def positive_int(text, *, minimum=1, what="a positive integer"):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    return value


def seed_int(text):
    """A random seed: an integer >= 0 (numpy refuses negative seeds)."""
    return positive_int(text, minimum=0, what="a non-negative integer")


def positive_float(text):
    """A finite number > 0 (``inf``, ``nan`` and ``1e309`` are refused: they cannot be printed as JSON)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {text!r}")
    return value


def add_dag_argument(parser):
    parser.add_argument("dag", metavar="DAG",
                        help=f"a DAG file ({', '.join(READ_SUFFIXES)}) or a builder spec such as pyramid:h=4 "
                             "(see 'pebble dag families')")


def add_game_arguments(parser, *, memory_required=True):
    parser.add_argument("-M", "--memory", dest="M", type=positive_int, required=memory_required,
                        help="red pebbles (fast memory size)")
    parser.add_argument("--variant", default="base",
                        help="base, one-shot, nodel, compcost, or several joined by '+' (default: base)")
    parser.add_argument("--sliding", action="store_true",
                        help="a compute may find memory full if the next move deletes one of its operands")
    parser.add_argument("--lenient", action="store_true",
                        help="accept redundant moves (load of a red node, ...) instead of reporting them")
    parser.add_argument("--outputs", metavar="LABELS",
                        help="comma-separated nodes that must end blue (default: the DAG's outputs)")
    parser.add_argument("--compute-cost", type=positive_float, default=1e-3, metavar="EPS",
                        help="cost of a compute in the compcost variant (default: 0.001)")


def split_labels(text):
    """Split ``'O[0,0],O[0,1]'`` at the commas outside brackets."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        depth += ch == "["
        depth -= ch == "]"
        cur.append(ch)
    out.append("".join(cur).strip())
    return [s for s in out if s]


def require_extra(module, argument, extra="plot"):
    """Refuse ``argument`` before any work is done when the optional ``module`` is not installed."""
    if importlib.util.find_spec(module) is None:
        raise CommandError(f"argument '{argument}' needs {module}: pip install 'pebble-io[{extra}]'")


def require_suffix(path, suffixes, argument):
    """Refuse an output file whose extension the writer does not write, naming those it does."""
    if not str(path).lower().endswith(tuple(suffixes)):
        raise CommandError(f"argument '{argument}': cannot write {path!r}; supported: {', '.join(suffixes)}")


def load_dag_arg(text):
    return load_dag(text)


def game_kwargs(args, dag):
    outputs = None
    if args.outputs is not None:
        outputs = []
        for name in split_labels(args.outputs):
            try:
                outputs.append(dag.node(name))
            except KeyError:
                raise CommandError(f"argument '--outputs': unknown node {name!r}") from None
        if not outputs:
            raise CommandError(f"argument '--outputs': no node given ({args.outputs!r}); "
                               f"leave the option out for the DAG's outputs")
    return dict(variant=args.variant, sliding=args.sliding, strict=not args.lenient, outputs=outputs,
                compute_cost=args.compute_cost)


def table(rows, headers=None, *, align=None) -> str:
    """Rows of cells as an aligned text table (numbers right-aligned)."""
    rows = [[_cell(c) for c in r] for r in rows]
    if headers:
        rows = [list(headers)] + rows
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
    numeric = [all(_is_number(r[i]) for r in rows[1 if headers else 0:] if i < len(r)) for i in range(len(widths))]
    lines = []
    for k, r in enumerate(rows):
        cells = [(c.rjust(widths[i]) if numeric[i] else c.ljust(widths[i])) for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
        if headers and k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(c):
    if isinstance(c, float):
        return f"{c:.4g}" if abs(c) < 1e6 else f"{c:.6g}"
    return "" if c is None else str(c)


def _is_number(s):
    try:
        float(s.replace(",", ""))
        return True
    except ValueError:
        return s in ("", "-")


def print_json(obj):
    """Print ``obj`` as strict JSON: a non-finite number (an overflowed value) prints as ``null``."""
    json.dump(_finite(obj), sys.stdout, indent=2, default=_default, allow_nan=False)
    sys.stdout.write("\n")


def _finite(x):
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return [_finite(v) for v in x.tolist()]
    return x


def _default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x).__name__)
