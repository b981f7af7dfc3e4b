"""Build speed and peak memory of the large attention DAGs, against their targets.

Each case runs in a fresh subprocess, so its peak resident set size
(``ru_maxrss``, the whole process: interpreter and imports included) is its
own. Targets: exact attention n=1024, d=8 and approximate attention
n=65536, d=4, g=3 each build in at most 15 s with at most 3 GB peak memory.
Evaluation speed is reported for a medium instance (no target). The table
goes to benchmarks/results/build_speed.md.

    python benchmarks/build_speed.py [--only NAME]
"""

import argparse
import json
import resource
import subprocess
import sys
import time

from _report import markdown_table, write_report

CASES = {
    "attention n=1024 d=8": ("build", "attention:n=1024,d=8", 15.0, 3.0),
    "attention n=1024 d=8 tree": ("build", "attention:n=1024,d=8,sums=tree", 15.0, 3.0),
    "approx n=65536 d=4 g=3": ("build", "approx:n=65536,d=4,g=3", 15.0, 3.0),
    "evaluate attention n=256 d=8": ("evaluate", "attention:n=256,d=8", None, None),
    "evaluate approx n=8192 d=4 g=3": ("evaluate", "approx:n=8192,d=4,g=3", None, None),
}


def peak_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # kilobytes on Linux


def run_case(kind, spec):
    import numpy as np

    from dags import build, evaluate

    base = peak_gb()
    start = time.perf_counter()
    dag = build(spec)
    seconds = time.perf_counter() - start
    if kind == "evaluate":
        x = np.random.default_rng(0).uniform(-1, 1, dag.sources.size)
        start = time.perf_counter()
        evaluate(dag, x)
        seconds = time.perf_counter() - start
    return {"nodes": dag.num_nodes, "edges": dag.num_edges, "seconds": seconds, "peak_gb": peak_gb(),
            "baseline_gb": base}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(CASES))
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        kind, spec, _, _ = CASES[args.case]
        print(json.dumps(run_case(kind, spec)))
        return 0
    rows = []
    failed = False
    for name, (kind, spec, t_target, m_target) in CASES.items():
        if args.only and name != args.only:
            continue
        proc = subprocess.run([sys.executable, __file__, "--case", name], capture_output=True, text=True)
        if proc.returncode:
            print(f"{name} failed:\n{proc.stderr}", file=sys.stderr)
            failed = True
            continue
        r = json.loads(proc.stdout)
        ok = "-" if t_target is None else ("yes" if r["seconds"] <= t_target and r["peak_gb"] <= m_target else "NO")
        failed |= ok == "NO"
        rows.append((f"`{spec}` ({kind})", f"{r['nodes']:,}", f"{r['edges']:,}", f"{r['seconds']:.2f}",
                     "-" if t_target is None else f"{t_target:.0f}", f"{r['nodes'] / r['seconds'] / 1e6:.2f}",
                     f"{r['peak_gb']:.2f}", "-" if m_target is None else f"{m_target:.0f}", ok))
    table = markdown_table(("case", "nodes", "edges", "time s", "target s", "Mnodes/s", "peak GB", "target GB", "ok"),
                           rows)
    print(table)
    path = write_report("build_speed.md", "DAG build and evaluation speed", table,
                        notes="Peak GB: the whole process (interpreter and imports included), each case in a fresh "
                              "process. Time: the build, or for `evaluate` cases the evaluation alone.")
    print(f"(written to {path})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
