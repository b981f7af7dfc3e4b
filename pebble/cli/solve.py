"""``pebble solve DAG -M 4``: an optimal schedule, proven by CP-SAT (or by A* search)."""

from __future__ import annotations

import argparse
import sys

from pebble.schedule_io import write_schedule
from pebble.solver import METHODS
from pebble.solver.budget import default_memory_limit, parse_bytes

from .common import add_dag_argument, load_dag_arg, positive_float, positive_int, print_json, seed_int, table


def _memory_size(text):
    try:
        return parse_bytes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(sub):
    p = sub.add_parser("solve", help="find an optimal schedule and prove it (CP-SAT), or the best in the time given",
                       description="Find an I/O-optimal schedule with the CP-SAT solver and prove it optimal, or "
                                   "return the best schedule found and a proven lower bound when time runs out "
                                   "(or on Ctrl-C). Progress goes to stderr. Every schedule is checked by the "
                                   "verifier. Exit 0 with a schedule, 1 without one, 2 on a usage or input error.")
    add_dag_argument(p)
    p.add_argument("-M", "--memory", dest="M", type=positive_int, required=True, help="red pebbles (fast memory size)")
    p.add_argument("--variant", default="base", help="base, one-shot, nodel or one-shot+nodel (default: base)")
    p.add_argument("--time-limit", type=positive_float, default=60.0, metavar="SECONDS",
                   help="stop after this many seconds (default: 60)")
    p.add_argument("--workers", type=positive_int, default=2, help="solver threads (default: 2)")
    p.add_argument("--memory-limit", type=_memory_size, default=None, metavar="BYTES",
                   help="memory the solve may hold, such as 4G or 512M (default: 8G or half the machine's memory); "
                        "a model that does not fit is not built")
    p.add_argument("--seed", type=seed_int, default=0, help="CP-SAT's random seed (default: 0)")
    p.add_argument("--deterministic-time", type=positive_float, default=None, metavar="SECONDS",
                   help="CP-SAT's deterministic time per solver call; with --workers 1, runs that repeat exactly")
    p.add_argument("--method", choices=tuple(METHODS), default="solve",
                   help="solve (default: the searches, then the CP-SAT model, in stages), cp-sat: the CP-SAT "
                        "model alone, ideals: A* over the DAG's ideals (one-shot only), steps: A* over red and "
                        "blue sets in steps of one compute (base only), search: A* over pebble configurations, "
                        "for tiny DAGs, or plain: the plain time-expanded model")
    p.add_argument("-o", "--output", help="write the schedule to this file (.pbs for binary)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def _progress(io, lower, seconds):
    best = "-" if io is None else io
    print(f"  {seconds:7.2f} s   best I/O {best}   lower bound {lower}", file=sys.stderr, flush=True)


def _note(text):
    print(f"  {text}", file=sys.stderr, flush=True)


def run(args) -> int:
    dag = load_dag_arg(args.dag)
    options = dict(variant=args.variant, time_limit=args.time_limit, workers=args.workers, seed=args.seed,
                   memory_limit=args.memory_limit or default_memory_limit(),
                   progress=None if args.quiet else _progress)
    if args.method in ("solve", "cp-sat"):
        options["deterministic_time"] = args.deterministic_time
        if not args.quiet:
            options["notes"] = _note
    result = METHODS[args.method](dag, args.M, **options)
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
                ("method", result.method if result.proved_by in (None, result.method)
                 else f"{result.method} (proved by {result.proved_by})"), ("seconds", f"{result.seconds:.2f}")]
        if args.output and result.schedule is not None:
            rows.append(("written", args.output))
        print(table([(k, str(v)) for k, v in rows]))
    return 0 if result.schedule is not None else 1
