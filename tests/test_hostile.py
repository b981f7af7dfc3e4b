"""Hostile input through the command line: every case ends with its documented exit code and message.

The corpus is ``tests/data/hostile/``; ``cases.csv`` lists for each case the
arguments (``{d}`` is the corpus folder, ``{tmp}`` a scratch folder), the
exit code and a fragment of the output. Exit 2 must be one line on stderr;
no case may print a traceback or report an internal error. Large inputs (a
1 GiB line, deeply nested JSON, huge specs) are made at test time and the
memory-sensitive ones run in a subprocess under an address-space limit.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pebble.cli import main

DATA = Path(__file__).parent / "data" / "hostile"
with open(DATA / "cases.csv", newline="", encoding="utf-8") as _f:
    CASES = list(csv.DictReader(_f))
ADDRESS_SPACE = 1_500_000_000  # bytes: far below what any refused input would need


def run_cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def check_clean(code, err):
    """No traceback or internal error; a usage or input error is one line on stderr."""
    assert "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert err.endswith("\n") and err.count("\n") == 1 and err.startswith("pebble"), err


def test_corpus_is_large_and_every_file_is_used():
    files = {p.name for p in DATA.iterdir()} - {"cases.csv"}
    used = {name for c in CASES for name in files if f"{{d}}/{name}" in c["argv"]}
    assert len(files) >= 60 and len(CASES) >= 60
    assert files == used, sorted(files - used)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_case(case, tmp_path, capsys):
    fill = {"d": str(DATA), "tmp": str(tmp_path)}
    argv = [a.format(**fill) for a in shlex.split(case["argv"])]
    code, out, err = run_cli(argv, capsys)
    check_clean(code, err)
    assert code == int(case["exit"]), (out, err)
    assert case["fragment"].format(**fill) in out + err, (out, err)


def test_writer_refused_leaves_no_file(tmp_path, capsys):
    for name in ("p.gml", "x.graphml", "x.png"):
        code, _, err = run_cli(["dag", "build", "pyramid:h=2", "-o", str(tmp_path / name)], capsys)
        assert code == 2 and not (tmp_path / name).exists()


def test_deeply_nested_json(tmp_path, capsys):
    p = tmp_path / "nested.json"
    p.write_text("[" * 100_000)
    code, _, err = run_cli(["dag", "info", str(p)], capsys)
    check_clean(code, err)
    assert code == 2 and "nested too deeply" in err


def test_sweep_plot_without_matplotlib_fails_before_the_sweep(tmp_path, capsys, monkeypatch):
    import pebble.experiments

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setattr(pebble.experiments, "sweep", lambda *a, **k: pytest.fail("the sweep ran"))
    code, _, err = run_cli(["sweep", "--plot", str(tmp_path / "x.png")], capsys)
    check_clean(code, err)
    assert code == 2 and "argument '--plot' needs matplotlib: pip install 'pebble-io[plot]'" in err


def test_internal_error_is_exit_3_with_one_line(monkeypatch, capsys):
    import pebble.cli.dag

    def broken(dag):
        raise KeyError("oops")

    monkeypatch.setattr(pebble.cli.dag, "dag_info", broken)
    code, _, err = run_cli(["dag", "info", "pyramid:h=1"], capsys)
    assert code == 3
    assert err == "pebble: internal error: KeyError: 'oops' (set PEBBLE_DEBUG=1 for the traceback)\n"


def test_defect_raised_on_purpose_is_exit_3_and_debug_shows_the_traceback(monkeypatch, capsys):
    import pebble.cli.dag
    from pebble.experiments import ExperimentError

    def rejected(dag):
        raise ExperimentError("the verifier rejects a generated schedule")

    monkeypatch.setattr(pebble.cli.dag, "dag_info", rejected)
    code, _, err = run_cli(["dag", "info", "pyramid:h=1"], capsys)
    assert code == 3 and err.startswith("pebble: internal error: ExperimentError: the verifier rejects")
    monkeypatch.setenv("PEBBLE_DEBUG", "1")
    with pytest.raises(ExperimentError):
        main(["dag", "info", "pyramid:h=1"])


def test_keyboard_interrupt_is_130(monkeypatch, capsys):
    import pebble.cli.dag

    def interrupted(dag):
        raise KeyboardInterrupt

    monkeypatch.setattr(pebble.cli.dag, "dag_info", interrupted)
    assert run_cli(["dag", "info", "pyramid:h=1"], capsys)[0] == 130


def test_json_output_is_strict(capsys):
    import numpy as np

    from pebble.cli.common import print_json

    print_json({"a": float("inf"), "b": [np.float64("nan"), 1.5], "c": np.array([np.inf, 2.0]), "d": np.int64(3)})
    assert json.loads(capsys.readouterr().out, parse_constant=pytest.fail) == {"a": None, "b": [None, 1.5],
                                                                               "c": [None, 2.0], "d": 3}


def test_evaluation_bound_is_refused_beyond_what_numpy_draws(capsys):
    code, _, err = run_cli(["dag", "eval", "tree:h=3", "--bound", "1e308", "--json"], capsys)
    check_clean(code, err)
    assert code == 2 and "argument '--bound' must be a positive number at most 1e+100, got 1e+308" in err


# -- in a subprocess, under an address-space limit ----------------------------

LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from pebble.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run_limited(argv, **env):
    proc = subprocess.run([sys.executable, "-c", LIMITED.format(limit=ADDRESS_SPACE), *argv],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def valid_schedule(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("load p0[0]\nload p0[1]\ncompute p1[0]\nstore p1[0]\n")
    return str(p)


def sparse_file(path, head: bytes, size: int):
    """A file of ``size`` bytes that starts with ``head`` and takes no disk space for the rest (NUL bytes)."""
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return str(path)


@pytest.mark.parametrize("argv,message", [
    (["verify", "pyramid:h=100000", "{s}", "-M", "3"], "pyramid:h=100000 would have 5.0e+09 nodes"),
    (["verify", "pyramid:h=1", "{line}", "-M", "3"], "line 1: longer than 4096 bytes"),
    (["dag", "info", "{hdag}"], "the header would have"),
    (["dag", "info", "{json}"], "a JSON DAG file of 1073741824 bytes would take about"),
    (["dag", "info", "approx:n=100000,d=4,g=3"], "the limit is"),
])
def test_memory_bounded_refusals(argv, message, tmp_path, valid_schedule):
    files = {"s": valid_schedule,
             "line": sparse_file(tmp_path / "line.txt", b"load ", 1 << 30),
             "hdag": str(tmp_path / "big.hdag"),
             "json": sparse_file(tmp_path / "big.json", b'{"format": "pebble-dag", "preds": [', 1 << 30)}
    Path(files["hdag"]).write_text("100000000 100000000 100000000\n")
    code, _, err = run_limited([a.format(**files) for a in argv])
    check_clean(code, err)
    assert code == 2 and message in err, err


def test_broken_pipe_is_quiet(valid_schedule):
    """``pebble verify ... | head -c0``: no message, the conventional SIGPIPE code, nothing at exit."""
    script = ("import sys, os\nfrom pebble.cli import main\nr, w = os.pipe()\nos.close(r)\n"
              "os.dup2(w, 1)\nsys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.run([sys.executable, "-c", script, "verify", "pyramid:h=1", valid_schedule, "-M", "3"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 141 and proc.stderr == ""


def test_python_dash_m_and_version():
    proc = subprocess.run([sys.executable, "-m", "pebble", "--version"], capture_output=True, text=True, timeout=600)
    import pebble

    assert proc.returncode == 0 and proc.stdout.strip().startswith("pebble-io ")
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert f'version = "{pebble.__version__}"' in pyproject
    assert proc.stdout.strip() == f"pebble-io {pebble.__version__}"


def test_license_matches_pyproject():
    root = Path(__file__).parents[1]
    text = (root / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    pyproject = (root / "pyproject.toml").read_text()
    assert 'license = "Apache-2.0"' in pyproject and 'license-files = ["LICENSE"]' in pyproject


# -- the library, at the source of each defect --------------------------------

def test_labels_that_a_schedule_file_cannot_hold_are_refused():
    from dags import DAG, Labels
    from dags.labels import LabelError

    for names, message in [(["a", "b", "x", "x#1"], "contains '#'"), (["a", "a", "c", "d"], "used twice"),
                           (["a", "b", "c", "0"], "looks like node id 0"), (["a", "b ", "c", "d"], "whitespace"),
                           (["a", "b\n", "c", "d"], "line break")]:
        with pytest.raises(LabelError, match=message):
            DAG.from_edges(4, [(0, 2), (1, 2), (2, 3)], labels=Labels(names=names))
    # a name equal to its own id is harmless (networkx graphs on 0..N-1)
    g = DAG.from_edges(3, [(0, 2), (1, 2)], labels=Labels(names=["0", "b", "c"]))
    assert g.node("0") == 0 and g.node("c") == 2


def test_text_schedule_round_trips_through_labels(tmp_path):
    from dags import DAG, Labels
    from pebble import read_schedule, verify, write_schedule

    g = DAG.from_edges(4, [(0, 2), (1, 2), (2, 3)], labels=Labels(names=["a", "b", "x", "x+1"]), outputs=[2])
    moves = ["load a", "load b", "compute x", "store x"]
    path = tmp_path / "s.txt"
    write_schedule(path, moves, g)
    back = read_schedule(path, g)
    assert verify(g, back, 3).valid and back.codes.tolist() == verify_codes(g, moves)
    wrong = ["load a", "load b", "compute x", "store x+1"]
    write_schedule(path, wrong, g)
    assert not verify(g, path, 3).valid and not verify(g, wrong, 3).valid


def verify_codes(g, moves):
    from pebble import Schedule

    return Schedule.from_moves(moves, g).codes.tolist()


def test_api_arguments():
    from dags import pyramid_dag
    from dags.errors import ArgumentError
    from pebble import reference_verify, verify

    g = pyramid_dag(1)
    moves = ["load p0[0]", "load p0[1]", "compute p1[0]", "store p1[0]"]
    assert verify(g, moves, 3, compute_cost=0).valid  # the cost is ignored outside compcost
    with pytest.raises(ArgumentError, match="compute_cost"):
        verify(g, moves, 3, variant="compcost", compute_cost=0)
    with pytest.raises(ArgumentError, match="compute_cost"):
        verify(g, moves, 3, variant="compcost", compute_cost=float("inf"))
    for check in (verify, reference_verify):
        big = check(g, moves, 2 ** 70)  # more pebbles than nodes never bind; the report keeps M as given
        assert big.valid and big.M == 2 ** 70 and big.io == 3
        with pytest.raises(ArgumentError, match="'outputs' is empty"):
            check(g, moves, 3, outputs=[])
        with pytest.raises(ArgumentError, match="unknown node 'zz'"):
            check(g, moves, 3, outputs=["zz"])
    assert not verify(g, moves[:2], 2 ** 70).valid


def test_memory_limit_setting(monkeypatch):
    from dags import build
    from dags.budget import memory_limit
    from dags.errors import ArgumentError, SizeError

    monkeypatch.setenv("PEBBLE_MEMORY_LIMIT", "1M")
    assert memory_limit() == 1 << 20
    with pytest.raises(SizeError, match=r"pyramid:h=300 would have 4.5e\+04 nodes \(about 5.82 MB\); the limit is 1.05 MB"):
        build("pyramid:h=300")
    with pytest.raises(SizeError, match="at block"):  # no closed form: the builder checks block by block
        build("approx:n=256,d=2,g=2")
    assert build("pyramid:h=10").num_nodes == 66
    monkeypatch.setenv("PEBBLE_MEMORY_LIMIT", "lots")
    with pytest.raises(ArgumentError, match="PEBBLE_MEMORY_LIMIT"):
        memory_limit()
