"""Speed of schedule generation plus verification, and of the general heuristic against its reference.

1. FlashAttention on exact attention n = 1024, d = 12, M = 128: about 1.15 * 10^8
   moves generated in chunks and fed to the verifier as they come. Target: at
   most 60 s for generating plus verifying 10^8 moves.
2. The streaming Alman-Song schedule on approx n = 65536, d = 4, g = 3.
3. The general heuristic on a pyramid of about 2 * 10^6 nodes: the compiled
   version against the plain-Python reference, side by side (same moves).

Compiled kernels are warmed up on a tiny instance first, so the figures
exclude numba's one-time compilation. DAG construction is timed apart. The
table goes to benchmarks/results/schedule_speed.md.

Run: python benchmarks/schedule_speed.py [--skip-reference]
"""

from __future__ import annotations

import argparse
import time

from _report import markdown_table, write_report

from dags import pyramid_dag
from dags.attention import approx_attention_dag, attention_dag
from pebble.strategies import approx_schedule, flash_schedule, generate_verified, heuristic_schedule
from pebble.strategies.heuristic import reference_heuristic_schedule

TARGET_SECONDS_PER_1E8 = 60.0


def timed(func, *args, **kwargs):
    start = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - start


def stream_case(label, build, generator, M):
    generate_verified(generator, build(small=True), M)  # warm-up: compile or load the kernels
    dag, build_s = timed(build, small=False)
    report, s = timed(generate_verified, generator, dag, M)
    assert report.valid, report
    per_1e8 = s * 1e8 / report.moves
    print(f"{label}: {dag.num_nodes:,} nodes built in {build_s:.1f} s; {report.moves:,} moves generated and "
          f"verified in {s:.1f} s ({report.moves / s / 1e6:.1f} M moves/s), I/O {report.io:,}")
    print(f"  per 10^8 moves: {per_1e8:.1f} s (target <= {TARGET_SECONDS_PER_1E8:.0f} s: "
          f"{'met' if per_1e8 <= TARGET_SECONDS_PER_1E8 else 'NOT met'})")
    return (f"{label}: {report.moves:,} moves generated and verified (streamed)",
            f"{s:.1f} s ({per_1e8:.1f} s per 10^8 moves)", f"<= {TARGET_SECONDS_PER_1E8:.0f} s per 10^8 moves")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-reference", action="store_true", help="do not run the slow reference heuristic")
    args = ap.parse_args(argv)

    rows = [stream_case("flash, attention(n=1024,d=12), M=128",
                        lambda small: attention_dag(8 if small else 1024, 12), flash_schedule, 128),
            stream_case("approx streaming, approx(n=65536,d=4,g=3), M=215",
                        lambda small: approx_attention_dag(8 if small else 65536, 4, 3), approx_schedule, 215)]

    heuristic_schedule(pyramid_dag(3), 3)  # warm-up
    dag = pyramid_dag(2000)
    fast, fast_s = timed(heuristic_schedule, dag, 8)
    print(f"heuristic, {dag.name} ({dag.num_nodes:,} nodes), M=8: compiled {fast_s:.2f} s, {len(fast):,} moves")
    figure = f"{fast_s:.1f} s compiled"
    if not args.skip_reference:
        ref, ref_s = timed(reference_heuristic_schedule, dag, 8)
        print(f"  reference (plain Python) {ref_s:.2f} s; same moves: {ref == fast}; "
              f"speed-up {ref_s / fast_s:.0f}x")
        figure += f", {ref_s:.1f} s reference ({'same' if ref == fast else 'DIFFERENT'} moves)"
    rows.append((f"heuristic on {dag.name} ({dag.num_nodes:,} nodes), M = 8: {len(fast):,} moves", figure, ""))
    path = write_report("schedule_speed.md", "Schedule generation and verification speed",
                        markdown_table(("measurement", "figure", "target"), rows),
                        notes="Kernels warmed up on a tiny instance first; DAG construction timed apart.")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
