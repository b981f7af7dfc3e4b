"""``pebble schedule`` and ``pebble run``: generate a schedule with a strategy, verify it, count its I/O."""

from __future__ import annotations

import argparse
import sys
import time

from pebble.strategies import STRATEGIES, generate_verified
from proofs import trivial_lower_bound

from .common import add_dag_argument, add_game_arguments, game_kwargs, load_dag_arg, positive_int, print_json, table


def _strategy_arguments(p):
    p.add_argument("strategy", metavar="STRATEGY", choices=sorted(STRATEGIES),
                   help=f"one of: {', '.join(STRATEGIES)} (see 'pebble run --help')")
    add_dag_argument(p)
    add_game_arguments(p)
    p.add_argument("--block", type=positive_int, metavar="B",
                   help="block size of the strategy (flash: query rows per block; tiling, matmul-tiled, "
                        "approx small-cache: tile side; approx column-blocked: value columns per block); "
                        "default: the largest that fits in M")
    p.add_argument("--mode", help="approx only: streaming, column-blocked or small-cache (default: from M)")


def _strategy_help():
    lines = ["strategies:"]
    for name, func in STRATEGIES.items():
        lines.append(f"  {name:13s} {(func.__doc__ or '').strip().splitlines()[0]}")
    return "\n".join(lines)


def register(sub):
    epilog = _strategy_help()
    for name, help_text, description in (
        ("schedule", "generate a schedule with a strategy, verify it and write it to a file",
         "Generate a schedule with a strategy, verify it move by move as it is written, and write it (binary "
         "for .pbs, JSON for .json, CSV for .csv, text otherwise)."),
        ("run", "generate a schedule with a strategy, verify it and print its I/O",
         "Generate a schedule with a strategy, verify it, and print its loads, stores and I/O beside the "
         "trivial lower bound."),
    ):
        p = sub.add_parser(name, help=help_text, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter,
                           description=description + " Exit 0 if the verifier accepts it, 1 if not, 2 on a usage "
                                                     "or input error.")
        _strategy_arguments(p)
        if name == "schedule":
            p.add_argument("-o", "--output", required=True,
                           help="schedule file to write: .pbs binary, .json or .csv for other tools, text otherwise")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.set_defaults(func=run)


def _generate(args, output=None):
    dag = load_dag_arg(args.dag)
    options = {k: v for k, v in (("block", args.block), ("mode", args.mode)) if v is not None}
    start = time.perf_counter()
    report = generate_verified(STRATEGIES[args.strategy], dag, args.M, output=output,
                               comment=f"{args.strategy} schedule for {dag.name}, M = {args.M}",
                               verify_options=game_kwargs(args, dag), **options)
    seconds = time.perf_counter() - start
    out = {"strategy": args.strategy, "dag": dag.name}
    out.update(report.to_dict())
    lower = trivial_lower_bound(dag)
    out.update(trivial_lower_bound=lower, ratio=report.io / lower if lower else None, seconds=round(seconds, 3))
    if output is not None:
        out["output"] = output
    return out, report


def _print(out, report):
    if report.violation is not None:
        print(f"pebble: the verifier rejects this schedule: {report.violation.message}", file=sys.stderr)
    rows = [("strategy", out["strategy"]), ("DAG", out["dag"]), ("game", report.rules.describe()),
            ("result", "valid" if report.valid else "INVALID"), ("moves", report.moves),
            ("loads", report.loads), ("stores", report.stores), ("I/O", report.io),
            ("trivial lower bound", out["trivial_lower_bound"]),
            ("I/O / lower bound", f"{out['ratio']:.3f}" if out["ratio"] is not None else "-"),
            ("peak red", f"{report.peak_red} of {report.M}"), ("seconds", out["seconds"])]
    if "output" in out:
        rows.insert(0, ("written", out["output"]))
    print(table([(k, str(v)) for k, v in rows]))


def run(args) -> int:
    out, report = _generate(args, output=getattr(args, "output", None))
    if args.json:
        print_json(out)
    else:
        _print(out, report)
    return 0 if report.valid else 1
