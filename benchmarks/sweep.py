"""The I/O scaling experiment: FlashAttention against the Alman-Song schedules.

1. One sweep with d, g, M fixed: FlashAttention on exact attention for
   n = 16 .. 4096 and the Alman-Song schedule on the approximate DAG for
   n = 16 .. 65536, every schedule generated and verified, the approximate DAG
   evaluated on random inputs in [-B, B]; the fitted I/O exponents; a CSV and
   a log-log PNG in benchmarks/results/.
2. The crossover n for several (d, g, M): the smallest n at which the
   Alman-Song schedule moves fewer words than FlashAttention (from the closed
   forms, which the tests hold equal to the verifier's counts), then both
   schedules measured by the verifier at n - 1 and n, with the error of the
   approximate DAG at each point; a CSV and a Markdown table.

The Markdown tables go to benchmarks/results/sweep.md and crossover.md.

Run: python benchmarks/sweep.py [--max-n-exact 4096] [--max-n-approx 65536]
(the exact DAG at n = 4096, d = 2 has 1.5 * 10^8 nodes and needs about 10 GB).
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
import time

from _report import write_report

from pebble.experiments import (
    crossover,
    describe,
    measure_approx,
    measure_exact,
    plot_sweep,
    powers_of_two,
    sweep,
    write_csv,
)

RESULTS = pathlib.Path(__file__).resolve().parent / "results"

# (d, g, M): each approximate mode appears, at several head dimensions.
CROSSOVER_CASES = [(2, 2, 32), (2, 3, 32), (2, 4, 32), (4, 2, 128), (4, 3, 128), (4, 3, 64), (8, 2, 64),
                   (8, 2, 512)]


def progress(p):
    err = f", error {p.max_error:.3g}" if p.max_error is not None else ""
    print(f"  {p.strategy:24s} n={p.n:6d}: I/O {p.io:>10d} (closed form {p.formula_io}) "
          f"in {p.seconds:.2f} s{err}", file=sys.stderr, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-d", type=int, default=2)
    ap.add_argument("-g", type=int, default=3)
    ap.add_argument("-M", type=int, default=32)
    ap.add_argument("--max-n-exact", type=int, default=4096)
    ap.add_argument("--max-n-approx", type=int, default=65536)
    ap.add_argument("--skip-sweep", action="store_true", help="only the crossover table")
    args = ap.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)

    if not args.skip_sweep:
        print(f"sweep d={args.d} g={args.g} M={args.M}", file=sys.stderr)
        start = time.perf_counter()
        result = sweep(args.d, args.g, args.M, exact_ns=powers_of_two(16, args.max_n_exact),
                       approx_ns=powers_of_two(16, args.max_n_approx), progress=progress)
        write_csv(result["points"], RESULTS / "sweep.csv")
        plot_sweep(result, RESULTS / "sweep.png",
                   title=f"d = {args.d}, g = {args.g}, M = {args.M}, entries of Q, K, V in [-1, 1]")
        summary = f"{describe(result)} ({time.perf_counter() - start:.0f} s)"
        lines = ["| n | FlashAttention I/O | Alman-Song I/O | trivial bound 4nd | max error |",
                 "|---:|---:|---:|---:|---:|"]
        by_n = {}
        for p in result["points"]:
            by_n.setdefault(p.n, {})["flash" if p.strategy == "flash" else "approx"] = p
        for n, row in sorted(by_n.items()):
            f, a = row.get("flash"), row.get("approx")
            lines.append(f"| {n} | {f.io if f else '-'} | {a.io if a else '-'} | {4 * n * args.d} | "
                         f"{f'{a.max_error:.2e}' if a else '-'} |")
        print(f"\n{summary}\n\n" + "\n".join(lines))
        write_report("sweep.md", f"I/O scaling, d = {args.d}, g = {args.g}, M = {args.M}", "\n".join(lines),
                     notes=f"{summary}\n\nData: `sweep.csv`; plot: `sweep.png`.")

    print("\ncrossover", file=sys.stderr)
    points = []
    lines = ["| d | g | M | R | Alman-Song schedule | crossover n | I/O at n-1 (flash / approx) | "
             "I/O at n (flash / approx) | max error at n-1, n | eps |",
             "|---:|---:|---:|---:|---|---:|---|---|---|---:|"]
    for d, g, M in CROSSOVER_CASES:
        nc = crossover(d, g, M)
        pair = []
        for n in (nc - 1, nc) if nc > 1 else (nc,):
            f, a = measure_exact(n, d, M), measure_approx(n, d, g, M)
            progress(f)
            progress(a)
            points += [f, a]
            pair.append((f, a))
        R = math.comb(d + g, g)
        ios = [f"{f.io} / {a.io}" for f, a in pair]
        errs = ", ".join(f"{a.max_error:.2e}" for _, a in pair)
        lines.append(f"| {d} | {g} | {M} | {R} | {a.strategy[7:]} | {nc} | {ios[0] if len(ios) > 1 else '-'} | "
                     f"{ios[-1]} | {errs} | {a.eps:.3g} |")
    write_csv(points, RESULTS / "crossover.csv")
    print("\n".join(lines))
    write_report("crossover.md", "Crossover n: FlashAttention against the Alman-Song schedules", "\n".join(lines),
                 notes="B = 1, Chebyshev coefficients; eps is the polynomial's relative error on "
                       "[-sqrt(d) B^2, sqrt(d) B^2]. Data: `crossover.csv`.")


if __name__ == "__main__":
    main()
