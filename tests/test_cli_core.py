"""The command line: `pebble verify`, `pebble dag info`, `pebble demo`, exit codes, errors."""

import json
import subprocess
import sys

import pytest

from dags import pyramid_dag, write_dag
from pebble import write_schedule
from pebble.cli import main
from pebble.strategies import heuristic_schedule


@pytest.fixture
def files(tmp_path):
    g = pyramid_dag(4)
    write_dag(g, tmp_path / "p.json")
    write_schedule(tmp_path / "good.sched", heuristic_schedule(g, 3), g)
    write_schedule(tmp_path / "good.pbs", heuristic_schedule(g, 3), g)
    (tmp_path / "bad.sched").write_text("# broken\nload p0[0]\ncompute p1[0]\n")
    return tmp_path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_valid(files, capsys):
    code, out, err = run(["verify", str(files / "p.json"), str(files / "good.sched"), "-M", "3"], capsys)
    assert code == 0 and "valid" in out and "I/O       20  (13 loads + 7 stores; trivial lower bound 6)" in out
    code, out, _ = run(["verify", "pyramid:h=4", str(files / "good.pbs"), "-M", "3", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["valid"] and (d["loads"], d["stores"], d["io"], d["peak_red"]) == (13, 7, 20, 3)
    assert "violation" not in d and d["variant"] == "base" and d["trivial_lower_bound"] == 6


def test_verify_invalid(files, capsys):
    code, out, _ = run(["verify", "pyramid:h=4", str(files / "bad.sched"), "-M", "3"], capsys)
    assert code == 1 and "INVALID" in out
    assert f"{files / 'bad.sched'} line 3: move 1: compute p1[0]: predecessor p0[1] has no red pebble" in out
    code, out, _ = run(["verify", "pyramid:h=4", str(files / "bad.sched"), "-M", "3", "--json"], capsys)
    v = json.loads(out)["violation"]
    assert code == 1 and v == {"index": 1, "move": "compute p1[0]", "rule": "R3 compute", "line": 3,
                               "message": "move 1: compute p1[0]: predecessor p0[1] has no red pebble",
                               "reason": "predecessor p0[1] has no red pebble"}


def test_verify_variant_and_outputs(files, capsys):
    code, out, _ = run(["verify", "pyramid:h=4", str(files / "good.sched"), "-M", "3", "--variant", "one-shot",
                        "--json"], capsys)
    assert code == 0 and json.loads(out)["variant"] == "one-shot"
    code, out, _ = run(["verify", "pyramid:h=4", str(files / "good.sched"), "-M", "3", "--outputs",
                        "p4[0],p3[1]", "--json"], capsys)
    d = json.loads(out)
    assert code == 1 and d["violation"]["message"].endswith("output p3[1] has no blue pebble at the end")


@pytest.mark.parametrize("argv, message", [
    (["verify", "pyramid:h=4", "GOOD", "-M", "0"], "argument -M/--memory: must be a positive integer, got 0"),
    (["verify", "pyramid:h=4", "GOOD", "-M", "x"], "argument -M/--memory: must be a positive integer, got 'x'"),
    (["verify", "pyramid:h=4", "GOOD"], "the following arguments are required: -M/--memory"),
    (["verify", "pyramid:h=4", "GOOD", "-M", "3", "--variant", "no"], "unknown variant 'no'"),
    (["verify", "pyramid:h=4", "missing.sched", "-M", "3"], "missing.sched: no such file"),
    (["verify", "pyramid:q=4", "GOOD", "-M", "3"], "pyramid: unknown parameter 'q'; accepted: h"),
    (["verify", "nope.json", "GOOD", "-M", "3"], "nope.json: no such file"),
    (["verify", "pyramid:h=4", "GOOD", "-M", "3", "--outputs", "zz"], "argument '--outputs': unknown node 'zz'"),
    (["verify", "pyramid:h=2", "GOOD", "-M", "3"], "good.sched line 17: unknown node 'p0[3]'"),
    (["dag", "info", "circle:n=3"], "unknown DAG family 'circle'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_usage_and_input_errors(files, capsys, argv, message):
    argv = [str(files / "good.sched") if a == "GOOD" else a for a in argv]
    code, out, err = run(argv, capsys)
    assert code == 2 and message in err and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(("pebble: error:", "pebble verify: error:", "pebble dag info: error:")) or \
        last.startswith("pebble: error: argument COMMAND"), last


def test_dag_info(capsys):
    code, out, _ = run(["dag", "info", "pyramid:h=4", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and (d["nodes"], d["edges"], d["sources"], d["sinks"], d["max_in_degree"]) == (15, 20, 5, 1, 2)
    assert d["min_memory"] == 3 and d["min_memory_sliding"] == 2
    code, out, _ = run(["dag", "info", "tree:h=3"], capsys)
    assert code == 0 and "smallest M            3" in out


def test_dag_info_hyperdag(osp_tiny_dir, capsys):
    code, out, _ = run(["dag", "info", str(osp_tiny_dir / "instance_pregel.hdag"), "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and (d["nodes"], d["edges"], d["max_in_degree"], d["min_memory"]) == (57, 104, 6, 7)


def test_demo_runs_end_to_end(capsys):
    code, out, _ = run(["demo"], capsys)
    assert code == 0 and "valid" in out and "INVALID" not in out and "lower bound" in out


def test_python_dash_m():
    r = subprocess.run([sys.executable, "-m", "pebble", "dag", "info", "pyramid:h=2", "--json"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0 and json.loads(r.stdout)["nodes"] == 6
    r = subprocess.run([sys.executable, "-m", "pebble", "verify"], capture_output=True, text=True, check=False)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "the following arguments are required" in r.stderr and "'pebble verify --help'" in r.stderr


def test_violation_shown_with_state_around_it(tmp_path, capsys):
    p = tmp_path / "x.sched"
    p.write_text("load p0[0]\nload p0[1]\ncompute p1[0]\nload p0[2]\ncompute p1[1]\n")
    code, out, _ = run(["verify", "pyramid:h=3", str(p), "-M", "4"], capsys)
    assert code == 1
    assert "line 5: move 4: compute p1[1]: fast memory is full (M = 4 red pebbles)" in out
    assert "  >        4  compute p1[1]" in out and "           3  load p0[2]" in out
    assert "red pebbles before that move (4): p0[0], p0[1], p0[2], p1[0]" in out
