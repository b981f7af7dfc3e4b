"""The general heuristic on the 16 osp-tiny DAGs (OneStopParallel's tiny benchmark set).

For each DAG, at the smallest feasible M (max in-degree + 1) and at twice that:
the I/O of the heuristic schedule, verified, beside the trivial lower bound.
Prints a Markdown table and writes it to benchmarks/results/osp_tiny.md.

Run: python benchmarks/osp_tiny.py   (the DAGs ``osp:NAME`` shipped in :mod:`dags`)
"""

from __future__ import annotations

from _report import write_report

from dags import build, osp_tiny_names
from pebble.strategies import generate_verified, heuristic_schedule
from proofs import trivial_lower_bound


def main():
    lines = ["| DAG | nodes | edges | trivial bound | M0 | I/O at M0 | I/O at 2 M0 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    totals = [0, 0, 0]
    for name in osp_tiny_names():
        dag = build(f"osp:{name}")
        m0 = dag.min_memory()
        lower = trivial_lower_bound(dag)
        ios = []
        for M in (m0, 2 * m0):
            report = generate_verified(heuristic_schedule, dag, M)
            assert report.valid, (name, M, report)
            ios.append(report.io)
        totals[0] += lower
        totals[1] += ios[0]
        totals[2] += ios[1]
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
