"""``pebble solve DAG -M 4``: an optimal schedule, proven by CP-SAT (or by A* search)."""

from __future__ import annotations

import argparse
import sys

from pebble.schedule_io import write_schedule
from pebble.solver import ideal_search, search, step_search

from .common import add_dag_argument, load_dag_arg, positive_int, print_json, table


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def register(sub):
    p = sub.add_parser("solve", help="find an optimal schedule and prove it (CP-SAT), or the best in the time given",
                       description="Find an I/O-optimal schedule with the CP-SAT solver and prove it optimal, or "
                                   "return the best schedule found and a proven lower bound when time runs out "
                                   "(or on Ctrl-C). Progress goes to stderr. Every schedule is checked by the "
                                   "verifier. Exit 0 with a schedule, 1 without one, 2 on a usage or input error.")
    add_dag_argument(p)
    p.add_argument("-M", "--memory", dest="M", type=positive_int, required=True, help="red pebbles (fast memory size)")
    p.add_argument("--variant", default="base", help="base, one-shot, nodel or one-shot+nodel (default: base)")
    p.add_argument("--time-limit", type=_positive_float, default=60.0, metavar="SECONDS",
                   help="stop after this many seconds (default: 60)")
    p.add_argument("--workers", type=positive_int, default=2, help="solver threads (default: 2)")
    p.add_argument("--method", choices=("cp-sat", "ideals", "steps", "search"), default="cp-sat",
                   help="cp-sat (default; runs the ideal and step searches first), ideals: A* over the DAG's "
                        "ideals (one-shot only), steps: A* over red and blue sets in steps of one compute "
                        "(base only), or search: A* over pebble configurations, for tiny DAGs")
    p.add_argument("-o", "--output", help="write the schedule to this file (.pbs for binary)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def _progress(io, lower, seconds):
    best = "-" if io is None else io
    print(f"  {seconds:7.2f} s   best I/O {best}   lower bound {lower}", file=sys.stderr, flush=True)


def run(args) -> int:
    from pebble.solver import solve  # loads OR-tools (seconds): only for this command

    dag = load_dag_arg(args.dag)
    if args.method == "search":
        result = search(dag, args.M, variant=args.variant, time_limit=args.time_limit)
    elif args.method in ("ideals", "steps"):
        method = ideal_search if args.method == "ideals" else step_search
        result = method(dag, args.M, variant=args.variant, time_limit=args.time_limit,
                        progress=None if args.quiet else _progress)
    else:
        result = solve(dag, args.M, variant=args.variant, time_limit=args.time_limit, workers=args.workers,
                       progress=None if args.quiet else _progress)
    if result.stats.get("interrupted"):
        print("pebble: interrupted; the best schedule so far follows", file=sys.stderr)
    if args.output and result.schedule is not None:
        write_schedule(args.output, result.schedule, dag,
                       comment=f"{dag.name}, M = {result.M}, {result.variant}: I/O {result.io} ({result.status}, "
                               f"lower bound {result.lower_bound})")
    if args.json:
        out = {"dag": dag.name, **result.to_dict()}
        if args.output and result.schedule is not None:
            out["output"] = args.output
        print_json(out)
    else:
        rows = [("DAG", f"{dag.name or '-'}: {dag.num_nodes} nodes, {dag.num_edges} edges"),
                ("game", f"M={result.M} {result.variant}"), ("status", result.status),
                ("I/O", "-" if result.io is None else result.io), ("lower bound", result.lower_bound),
                ("moves", "-" if result.schedule is None else len(result.schedule)),
                ("method", result.method), ("seconds", f"{result.seconds:.2f}")]
        if args.output and result.schedule is not None:
            rows.append(("written", args.output))
        print(table([(k, str(v)) for k, v in rows]))
    return 0 if result.schedule is not None else 1
