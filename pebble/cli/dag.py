"""``pebble dag ...``: inspect and convert DAGs."""

from __future__ import annotations

import time

import numpy as np

from dags import evaluate, families, write_dag
from dags.attention import check_against_numpy
from dags.draw import draw_dag
from dags.io import WRITE_SUFFIXES
from proofs import trivial_lower_bound

from . import CommandError
from .common import add_dag_argument, load_dag_arg, positive_int, print_json, require_suffix, seed_int, table

MAX_BOUND = 1e100  # random inputs in [-B, B]: numpy cannot draw from wider ranges

# `pebble dag` subcommands: name -> (help, register function)
SUBCOMMANDS = {}


def subcommand(name, help):
    def deco(func):
        SUBCOMMANDS[name] = (help, func)
        return func

    return deco


def register(sub):
    p = sub.add_parser("dag", help="inspect, build, convert and draw DAGs")
    dsub = p.add_subparsers(dest="dag_command", metavar="SUBCOMMAND")
    dsub.required = True
    for name, (help_text, reg) in SUBCOMMANDS.items():
        reg(dsub.add_parser(name, help=help_text, description=help_text))


def dag_info(dag) -> dict:
    return {
        "name": dag.name,
        "nodes": dag.num_nodes,
        "edges": dag.num_edges,
        "sources": int(dag.sources.size),
        "sinks": int(dag.sinks.size),
        "outputs": int(dag.outputs.size),
        "max_in_degree": dag.max_in_degree,
        "depth": int(dag.levels.max()) if dag.num_nodes else 0,
        "min_memory": dag.min_memory(),
        "min_memory_sliding": dag.min_memory(sliding=True),
        "trivial_lower_bound": trivial_lower_bound(dag),
    }


@subcommand("info", "sizes, degrees and the smallest M for which a pebbling exists")
def _info(p):
    add_dag_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run_info)


def _run_info(args):
    info = dag_info(load_dag_arg(args.dag))
    if args.json:
        print_json(info)
        return 0
    names = {"min_memory": "smallest M", "min_memory_sliding": "smallest M (sliding)",
             "max_in_degree": "max in-degree", "trivial_lower_bound": "trivial I/O bound"}
    print(table([(names.get(k, k), v) for k, v in info.items()]))
    return 0


@subcommand("build", f"build a DAG from a spec (or read a file) and write it as {', '.join(WRITE_SUFFIXES)}")
def _build(p):
    add_dag_argument(p)
    p.add_argument("-o", "--output", required=True, help=f"output file: {', '.join(WRITE_SUFFIXES)}")
    p.set_defaults(func=_run_write)


@subcommand("convert", f"write a DAG (file or spec) as {', '.join(WRITE_SUFFIXES)}")
def _convert(p):
    add_dag_argument(p)
    p.add_argument("-o", "--output", required=True, help=f"output file: {', '.join(WRITE_SUFFIXES)}")
    p.set_defaults(func=_run_write)


def _run_write(args):
    require_suffix(args.output, WRITE_SUFFIXES, "-o/--output")
    start = time.perf_counter()
    dag = load_dag_arg(args.dag)
    seconds = time.perf_counter() - start
    write_dag(dag, args.output)
    print(f"wrote {args.output}: {dag.num_nodes} nodes, {dag.num_edges} edges"
          + (f" (built in {seconds:.1f} s)" if seconds >= 1 else ""))
    facts = {k: v for k, v in dag.meta.items() if k in _FACTS}
    if facts:
        print(", ".join(f"{k} = {_fmt(v)}" for k, v in facts.items()))
    return 0


# Parameters and derived facts worth a line after building.
_FACTS = ("R", "eps", "interval", "coefficient_method", "scale", "sums", "softmax")


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


@subcommand("eval", "evaluate a DAG on random inputs; attention DAGs are checked against numpy")
def _eval(p):
    add_dag_argument(p)
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the random inputs (default: 0)")
    p.add_argument("--bound", type=float, metavar="B",
                   help="inputs uniform in [-B, B] (default: the approximate DAG's B, else 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run_eval)


def _run_eval(args):
    dag = load_dag_arg(args.dag)
    if args.bound is not None and not 0 < args.bound <= MAX_BOUND:
        raise CommandError(f"argument '--bound' must be a positive number at most {MAX_BOUND:g}, got {args.bound}")
    if dag.meta.get("family") in ("attention", "approx"):
        result = check_against_numpy(dag, seed=args.seed, bound=args.bound)
        failed = any(c["ok"] is False for c in result["checks"])
        if args.json:
            print_json({"name": dag.name, **result, "ok": not failed})
            return 1 if failed else 0
        print(f"{dag.name}: {dag.num_nodes} nodes; Q, K, V uniform in [-{result['bound']:.4g}, "
              f"{result['bound']:.4g}] (seed {args.seed})")
        if "eps" in dag.meta:
            print(f"R = {dag.meta['R']}, eps = {dag.meta['eps']:.4g} on {_fmt(dag.meta['interval'])}")
        rows = [(c["reference"], f"{c['max_abs_error']:.3g}", f"{c['rel_error']:.3g}",
                 "-" if c["tolerance"] is None else f"{c['tolerance']:.3g} ({c['tolerance_on'].replace('_', ' ')})",
                 {True: "ok", False: "FAILED", None: f"no bound: {c.get('no_tolerance_because')}"}[c["ok"]])
                for c in result["checks"]]
        print(table(rows, ("reference", "max abs error", "relative error", "tolerance", "check")))
        return 1 if failed else 0


    bound = 1.0 if args.bound is None else args.bound
    values = evaluate(dag, np.random.default_rng(args.seed).uniform(-bound, bound, dag.sources.size))
    labels = [dag.label(v) for v in dag.outputs]
    if args.json:
        print_json({"name": dag.name, "seed": args.seed, "bound": bound, "outputs": dict(zip(labels, values.tolist()))})
        return 0
    print(f"{dag.name}: {dag.num_nodes} nodes; sources uniform in [-{bound:.4g}, {bound:.4g}] (seed {args.seed}); "
          f"no numpy reference for this family")
    shown = min(values.size, 10)
    print(table([(lab, float(x)) for lab, x in zip(labels[:shown], values[:shown])], ("output", "value")))
    if values.size > shown:
        print(f"... {values.size - shown} more outputs (--json prints all)")
    return 0


@subcommand("draw", "draw a small DAG (layered layout) to .png, .svg or .pdf; needs matplotlib")
def _draw(p):
    add_dag_argument(p)
    p.add_argument("-o", "--output", required=True, help="image file: .png, .svg or .pdf")
    p.add_argument("--max-nodes", type=positive_int, default=400, help="refuse larger DAGs (default: 400)")
    p.set_defaults(func=_run_draw)


def _run_draw(args):
    require_suffix(args.output, (".png", ".svg", ".pdf"), "-o/--output")
    dag = load_dag_arg(args.dag)
    try:
        draw_dag(dag, args.output, max_nodes=args.max_nodes)
    except ImportError as exc:  # matplotlib, an optional extra; the message says how to install it
        raise CommandError(str(exc)) from None
    print(f"wrote {args.output}: {dag.num_nodes} nodes, {dag.num_edges} edges")
    return 0


@subcommand("families", "the builder specs this installation knows")
def _families(p):
    p.set_defaults(func=_run_families)


def _run_families(args):
    rows = []
    for name, (func, example) in sorted(families().items()):
        doc = (func.__doc__ or "").strip().splitlines()[0].replace("``", "")
        rows.append((name, example, doc))
    print(table(rows, ("family", "example", "description")))
    return 0
