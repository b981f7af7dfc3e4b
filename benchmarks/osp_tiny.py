"""The general heuristic on the 16 osp-tiny DAGs (OneStopParallel's tiny benchmark set).

For each DAG, at the smallest feasible M (max in-degree + 1) and at twice that:
the I/O of the heuristic schedule, verified, beside the trivial lower bound.
Prints a Markdown table and writes it to benchmarks/results/osp_tiny.md.

Run: python benchmarks/osp_tiny.py [DIR]   (default ../shared/benchmarks/osp-tiny)
"""

from __future__ import annotations

import pathlib
import sys

from _report import write_report
from dags import load_dag
from pebble.strategies import generate_verified, heuristic_schedule
from proofs import trivial_lower_bound

DEFAULT_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "osp-tiny"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    folder = pathlib.Path(argv[0]) if argv else DEFAULT_DIR
    files = sorted(folder.glob("*.hdag"))
    if not files:
        raise SystemExit(f"no .hdag files in {folder}")
    lines = ["| DAG | nodes | edges | trivial bound | M0 | I/O at M0 | I/O at 2 M0 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    totals = [0, 0, 0]
    for path in files:
        dag = load_dag(str(path))
        m0 = dag.min_memory()
        lower = trivial_lower_bound(dag)
        ios = []
        for M in (m0, 2 * m0):
            report = generate_verified(heuristic_schedule, dag, M)
            assert report.valid, (path.name, M, report)
            ios.append(report.io)
        totals[0] += lower
        totals[1] += ios[0]
        totals[2] += ios[1]
        name = path.stem.removeprefix("instance_")
        lines.append(f"| {name} | {dag.num_nodes} | {dag.num_edges} | {lower} | {m0} | "
                     f"{ios[0]} ({ios[0] / lower:.2f}x) | {ios[1]} ({ios[1] / lower:.2f}x) |")
    lines.append(f"| total | | | {totals[0]} | | {totals[1]} ({totals[1] / totals[0]:.2f}x) | "
                 f"{totals[2]} ({totals[2] / totals[0]:.2f}x) |")
    print("\n".join(lines))
    write_report("osp_tiny.md", "The general heuristic on osp-tiny", "\n".join(lines),
                 notes="I/O of the verified heuristic schedule at the smallest feasible M (M0 = max in-degree + 1) "
                       "and at twice it, with its ratio to the trivial lower bound.")


if __name__ == "__main__":
    main()
