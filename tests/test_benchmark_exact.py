"""benchmarks/exact.py end to end on one small family: two workers, results, saved optima, resume, summary, table."""

import json
import pathlib
import subprocess
import sys

import pytest

from proofs.optima import read_optima

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_exact_benchmark_records_resumes_and_feeds_the_table(tmp_path):
    results = tmp_path / "exact.jsonl"
    command = [sys.executable, str(ROOT / "benchmarks" / "exact.py"), "--only", "pyramid:h=3", "--variants",
               "one-shot", "--time-limit", "20", "--plain-time-limit", "1", "--results", str(results)]
    out = subprocess.run(command + ["--workers", "2"], capture_output=True, text=True, timeout=300, check=True).stdout
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert {(r["M"], r["method"]) for r in rows} == {(M, m) for M in (3, 4, 6) for m in ("cp-sat", "plain")}
    optima = {r["M"]: r for r in rows if r["method"] == "cp-sat"}
    assert {M: (r["status"], r["io"]) for M, r in optima.items()} == {3: ("optimal", 11), 4: ("optimal", 7),
                                                                       6: ("optimal", 5)}
    assert all((tmp_path / r["schedule"]).is_file() for r in optima.values())
    assert "instances of at most 30 nodes proven in at most 60 s: 3 of 3" in out
    # Run again: everything is in the file already, nothing is run.
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True).stdout
    assert len(results.read_text().splitlines()) == len(rows)
    assert "M=3 one-shot cp-sat" not in again and "3 of 3" in again
    # The proven optima go into a table, each schedule verified again.
    table = tmp_path / "optima.csv"
    subprocess.run([sys.executable, "-m", "proofs.optima", "--add-proven", str(results), "-o", str(table)],
                   capture_output=True, text=True, timeout=300, check=True, cwd=ROOT)
    assert {(o.spec, o.M, o.variant, o.optimum) for o in read_optima(table)} == {
        ("pyramid:h=3", 3, "one-shot", 11), ("pyramid:h=3", 4, "one-shot", 7), ("pyramid:h=3", 6, "one-shot", 5)}
