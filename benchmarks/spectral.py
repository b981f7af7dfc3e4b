"""Spectral lower bound on 10^5-node DAGs: time against the one-minute target, sparse against dense.

For each large DAG (default: an FFT butterfly of 114,688 nodes and a pyramid
of 100,128 nodes) it times the whole bound (Laplacian, sparse LOBPCG
eigenvalues, the maximum over k) and prints the time as a fraction of 60 s.
On a DAG small enough for LAPACK it runs both eigensolvers side by side and
prints their times and the largest difference of the eigenvalues. The table
goes to benchmarks/results/spectral.md.

    python benchmarks/spectral.py [--spec fft:k=13 --spec pyramid:h=446] [-M 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from _report import markdown_table, write_report  # noqa: E402

from dags import build  # noqa: E402
from proofs import generic  # noqa: E402
from proofs.generic import laplacian_bottom, spectral_bound, weighted_laplacian  # noqa: E402

TARGET = 60.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", action="append", help="large DAG (repeatable); default fft:k=13 and pyramid:h=446")
    ap.add_argument("-M", type=int, default=8, help="red pebbles (default 8)")
    ap.add_argument("--small", default="fft:k=7", help="DAG for the sparse/dense comparison (default fft:k=7)")
    args = ap.parse_args()

    print(f"{'DAG':16s} {'nodes':>8s} {'edges':>8s} {'seconds':>8s} {'/ 60 s':>7s} {'bound':>7s} {'k':>3s}  solver")
    rows = []
    for spec in args.spec or ["fft:k=13", "pyramid:h=446"]:
        dag = build(spec)
        t = time.perf_counter()
        b = spectral_bound(dag, args.M)
        s = time.perf_counter() - t
        print(f"{spec:16s} {dag.num_nodes:8d} {dag.num_edges:8d} {s:8.1f} {s / TARGET:7.2f} {b.value:7d} "
              f"{b.parameters['k']:3d}  {b.parameters['solver']}")
        rows.append((f"`{spec}`", dag.num_nodes, dag.num_edges, round(s, 1), round(s / TARGET, 2), b.value,
                     b.parameters["k"], b.parameters["solver"]))

    dag = build(args.small)
    L, n = weighted_laplacian(dag)
    k = generic.SPARSE_EIGENVALUES
    limit = generic.DENSE_LIMIT
    try:
        generic.DENSE_LIMIT = n  # LAPACK
        t = time.perf_counter()
        dense, how_dense = laplacian_bottom(L, k)
        t_dense = time.perf_counter() - t
        generic.DENSE_LIMIT = 0  # LOBPCG
        t = time.perf_counter()
        sparse, how_sparse = laplacian_bottom(L, k)
        t_sparse = time.perf_counter() - t
    finally:
        generic.DENSE_LIMIT = limit
    assert how_dense.startswith("dense") and how_sparse.startswith("sparse")
    comparison = (f"{args.small} ({n} nodes), {k} smallest eigenvalues: LAPACK {t_dense:.2f} s, "
                  f"LOBPCG {t_sparse:.2f} s "
                  f"(ratio {t_dense / t_sparse:.2f}); largest difference {np.max(np.abs(dense - sparse)):.2e}, "
                  f"sparse above dense by at most {max(0.0, float(np.max(sparse - dense))):.2e}")
    print(f"\n{comparison}")
    table = markdown_table(("DAG", "nodes", "edges", "seconds", "/ 60 s", "bound", "k", "solver"), rows)
    path = write_report("spectral.md", f"Spectral lower bound, M = {args.M}", table, notes=comparison + ".")
    print(f"written to {path}")

if __name__ == "__main__":
    main()
