"""``pebble sweep``: the I/O scaling experiment, FlashAttention against the Alman-Song schedules."""

from __future__ import annotations

import sys
from dataclasses import asdict

from pebble.experiments import describe, plot_sweep, powers_of_two, sweep, write_csv

from .common import positive_float, positive_int, print_json, require_extra, require_suffix, seed_int, table


def register(sub):
    p = sub.add_parser("sweep", help="I/O of FlashAttention and Alman-Song schedules as n grows, with the error",
                       description="With d, g and M fixed, for n = MIN-N, 2 MIN-N, ...: generate, verify and count "
                                   "the I/O of FlashAttention on exact attention and of the Alman-Song schedule on "
                                   "the approximate DAG; evaluate the approximate DAG on random inputs with entries "
                                   "in [-B, B] and record its error against exact attention; fit the growth "
                                   "exponent of I/O in n; optionally write a CSV and a log-log plot (PNG).")
    p.add_argument("-d", type=positive_int, default=2, help="head dimension (default: 2)")
    p.add_argument("-g", type=positive_int, default=3, help="degree of the polynomial (default: 3)")
    p.add_argument("-M", "--memory", dest="M", type=positive_int, default=32, help="red pebbles (default: 32)")
    p.add_argument("--min-n", type=positive_int, default=16, help="smallest n (default: 16)")
    p.add_argument("--max-n-exact", type=positive_int, default=1024,
                   help="largest n for exact attention (default: 1024; 4096 needs about 10 GB)")
    p.add_argument("--max-n-approx", type=positive_int, default=16384, help="largest n for the approximate DAG "
                                                                             "(default: 16384)")
    p.add_argument("-B", "--bound-B", type=positive_float, default=1.0,
                   help="entries of Q, K, V in [-B, B] (default: 1)")
    p.add_argument("--coefficients", choices=("taylor", "chebyshev"), default="chebyshev",
                   help="polynomial approximation of exp (default: chebyshev)")
    p.add_argument("--seed", type=seed_int, default=0, help="random inputs (default: 0)")
    p.add_argument("--csv", metavar="FILE", help="write every point as CSV")
    p.add_argument("--plot", metavar="FILE", help="write a log-log plot (PNG; needs matplotlib)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="points measured side by side in worker processes (default: 1, in this process)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.plot:  # before the sweep, not after it
        require_suffix(args.plot, (".png",), "--plot")
        require_extra("matplotlib", "--plot")

    def progress(p):
        err = f", error {p.max_error:.3g}" if p.max_error is not None else ""
        print(f"  {p.strategy} n={p.n}: I/O {p.io} in {p.seconds:.2f} s{err}", file=sys.stderr)

    result = sweep(args.d, args.g, args.M, exact_ns=powers_of_two(args.min_n, args.max_n_exact),
                   approx_ns=powers_of_two(args.min_n, args.max_n_approx), bound_B=args.bound_B,
                   coefficients=args.coefficients, seed=args.seed, progress=progress,
                   workers=args.workers)
    if args.csv:
        write_csv(result["points"], args.csv)
    if args.plot:
        plot_sweep(result, args.plot, title=f"d = {args.d}, g = {args.g}, M = {args.M}, entries in "
                                            f"[-{args.bound_B:g}, {args.bound_B:g}]")
    if args.json:
        print_json({**result, "points": [asdict(p) for p in result["points"]]})
        return 0
    rows = [(p.strategy, p.n, p.io, p.formula_io, p.trivial_lower_bound, p.moves,
             "-" if p.max_error is None else f"{p.max_error:.3g}") for p in result["points"]]
    print(table(rows, ("schedule", "n", "I/O", "closed form", "trivial bound", "moves", "max error")))
    print(f"\n{describe(result)}")
    return 0
