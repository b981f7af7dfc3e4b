"""The table of certified optima: reading and regenerating it, every bound checked against it, the committed table."""

import sys

import numpy as np
import pytest

from dags import PebbleError, build, write_dag
from pebble import STORE, verify
from pebble.solver import search
from pebble.strategies import heuristic_schedule
from proofs.check import check_table, find_optimum, fingerprint, table_findings
from proofs.optima import TABLE, CertificationError, TableError, read_optima, table_row
from proofs.optima import main as optima_main

HEADER = "spec,M,variant,optimum,methods,solver,seconds\n"
INSTANCES = [("pyramid:h=3", 3, "base"), ("pyramid:h=3", 4, "base"), ("pyramid:h=3", 3, "one-shot"),
             ("tree:h=2", 3, "base"), ("matvec:n=2", 3, "one-shot"), ("attention:n=1,d=2", 3, "base")]


@pytest.fixture(scope="module")
def optima():
    """Optima of INSTANCES proved by A* search (computed, not typed in)."""
    out = {}
    for spec, M, variant in INSTANCES:
        result = search(build(spec), M, variant=variant)
        assert result.status == "optimal"
        out[spec, M, variant] = result.io
    return out


def write_table(path, optima, change=None, extra=""):
    lines = [HEADER, "# certified by A* search\n"]
    for (spec, M, variant), opt in optima.items():
        opt = change(spec, M, variant, opt) if change else opt
        lines.append(f'"{spec}",{M},{variant},{opt},astar,pebble.solver.config_search,0.1\n')
    path.write_text("".join(lines) + extra)
    return path


def test_read_optima(tmp_path, optima):
    rows = read_optima(write_table(tmp_path / "t.csv", optima))
    assert [(r.spec, r.M, r.variant) for r in rows] == INSTANCES
    assert rows[0].line == 3 and rows[0].methods == "astar" and rows[0].seconds == 0.1


@pytest.mark.parametrize("text,message", [
    ("", "empty file"),
    ("spec,M,optimum\n", "line 1: the header must be spec,M,variant,optimum,methods,solver,seconds"),
    (HEADER + "pyramid:h=3,three,base,11,a,s,1\n", "line 2: column 'M' must be an integer >= 1, got 'three'"),
    (HEADER + "pyramid:h=3,3,base,-1,a,s,1\n", "line 2: column 'optimum' must be an integer >= 0"),
    (HEADER + "\n# note\npyramid:h=3,3,fast,11,a,s,1\n", "line 4: column 'variant': .*unknown variant 'fast'"),
    (HEADER + "pyramid:h=3,3,base,11,a,s\n", "line 2: expected 7 columns, got 6"),
    (HEADER + "pyramid:h=3,3,base,11,a,s,soon\n", "line 2: column 'seconds' must be a number"),
    (HEADER + ",3,base,11,a,s,1\n", "line 2: column 'spec' is empty"),
    (HEADER + "pyramid:h=3,3,base,11,a,s,1\npyramid:h=3,3,base,12,a,s,1\n",
     "line 3: pyramid:h=3 M=3 base is already on line 2"),
])
def test_bad_tables_are_named_by_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(TableError, match=message):
        read_optima(path)


def test_missing_or_empty_table_fails(tmp_path):
    with pytest.raises(TableError, match="cannot read the table of optima"):
        check_table(tmp_path / "none.csv")
    (tmp_path / "empty.csv").write_text(HEADER)
    with pytest.raises(TableError, match="no rows; a regression over nothing would pass silently"):
        check_table(tmp_path / "empty.csv")


def test_check_passes_on_true_optima(tmp_path, optima):
    result = check_table(write_table(tmp_path / "t.csv", optima))
    assert result.ok and not result.findings and len(result.rows) == len(INSTANCES)
    assert all(r.status == "ok" and r.lower.value <= r.row.optimum <= r.upper.value for r in result.rows)


def test_a_bound_above_the_optimum_is_a_named_finding(tmp_path, optima):
    # a table claiming pyramid(3), M=3 costs 4 (below the 5 needed inputs and output) must fail the trivial bound
    bad = write_table(tmp_path / "t.csv", optima,
                      change=lambda spec, M, v, opt: 4 if (spec, M, v) == ("pyramid:h=3", 3, "base") else opt)
    result = check_table(bad)
    assert not result.ok
    lows = [f for f in result.findings if f.kind == "lower"]
    assert lows and all(f.instance == "pyramid:h=3 M=3 base" and f.optimum == 4 for f in lows)
    trivial = next(f for f in lows if f.bound == "trivial")
    assert trivial.value == 5 and "lower bound 'trivial' = 5 exceeds the certified optimum 4" in trivial.message


def test_an_optimum_above_a_verified_schedule_is_a_named_finding(tmp_path, optima):
    bad = write_table(tmp_path / "t.csv", optima,
                      change=lambda spec, M, v, opt: opt + 100 if spec == "tree:h=2" else opt)
    result = check_table(bad)
    ups = [f for f in result.findings if f.kind == "upper"]
    assert ups and ups[0].instance == "tree:h=2 M=3 base" and ups[0].bound == "schedule:heuristic"
    assert "is below the certified optimum" in ups[0].message


def test_the_table_is_checked_against_itself(tmp_path, optima):
    # more pebbles never cost more; the one-shot game never costs less than the base game
    rows = read_optima(write_table(tmp_path / "t.csv", optima, change=lambda spec, M, v, opt:
                                   opt + 20 if (spec, M, v) == ("pyramid:h=3", 4, "base") else opt))
    found = table_findings(rows)
    assert [f.bound for f in found] == ["monotone in M"] and "at M=4 (line 4) exceeds" in found[0].message
    rows = read_optima(write_table(tmp_path / "t.csv", optima, change=lambda spec, M, v, opt:
                                   opt - 1 if (spec, M, v) == ("pyramid:h=3", 3, "one-shot") else opt))
    found = table_findings(rows)
    assert [f.bound for f in found] == ["base <= one-shot"]


def test_benchmark_rows_are_checked_from_the_shipped_files(tmp_path, optima):
    # osp:pregel M=7 one-shot: 48 (proven by CP-SAT); the DAG comes from the package data
    path = write_table(tmp_path / "t.csv", optima, extra="osp:pregel,7,one-shot,48,cp-sat,s,1\n")
    result = check_table(path)
    assert result.ok and len(result.rows) == len(INSTANCES) + 1
    row = result.rows[-1]
    assert row.row.spec == "osp:pregel" and row.status == "ok" and row.lower.value <= 48 <= row.upper.value


def test_a_spec_that_cannot_be_built_names_the_line(tmp_path, optima):
    path = write_table(tmp_path / "t.csv", optima, extra="osp:pregal,7,one-shot,48,cp-sat,s,1\n")
    with pytest.raises(TableError, match=r"t.csv line 9: column 'spec': osp: unknown osp-tiny DAG 'pregal'; "
                                         r"known: .*pregel"):
        check_table(path)


def test_one_table_error_for_input_and_the_toolkit():
    assert issubclass(TableError, PebbleError) and issubclass(TableError, ValueError)


def test_regenerating_needs_an_output(capsys):
    with pytest.raises(SystemExit) as exc:
        optima_main(["--time-limit", "1"])
    assert exc.value.code == 2 and "the following arguments are required: -o/--output" in capsys.readouterr().err


def test_regenerating_on_one_and_two_workers_writes_the_same_rows(tmp_path, capsys):
    tables = {}
    for workers in (1, 2):
        path = tmp_path / f"w{workers}.csv"
        assert optima_main(["-o", str(path), "--only", "path:n=4", "--workers", str(workers)]) == 0
        # The rows but their wall time, in the order of the grid.
        tables[workers] = [(o.spec, o.M, o.variant, o.optimum, o.methods, o.solver) for o in read_optima(path)]
    assert tables[1] == tables[2]
    assert [row[1:4] for row in tables[1]] == [(M, v, 2) for M in (2, 3, 4) for v in ("base", "one-shot")]
    assert all("search" in row[4].split("+") for row in tables[1])  # the A* search is a second proof
    assert capsys.readouterr().err.count("path:n=4 M=") == 12


def test_a_proof_is_verified_before_its_row_is_made():
    dag = build("pyramid:h=3")
    codes = heuristic_schedule(dag, 4).codes
    io = verify(dag, codes, 4).io
    proof = {"method": "search", "io": io, "lower_bound": io, "seconds": 0.5, "solver": "", "codes": codes}
    assert table_row("pyramid:h=3", dag, 4, "base", [proof])["optimum"] == io
    cut = np.delete(codes, np.flatnonzero((codes & 3) == STORE)[-1])  # the output never stored
    with pytest.raises(CertificationError, match="pyramid:h=3 M=4 base: the proof of search: the verifier rejects"):
        table_row("pyramid:h=3", dag, 4, "base", [proof, {**proof, "codes": cut}])
    with pytest.raises(CertificationError, match="reported I/O"):
        table_row("pyramid:h=3", dag, 4, "base", [{**proof, "io": io - 1, "lower_bound": io - 1}])


def test_regenerating_with_bad_options_exits_2(tmp_path, capsys, monkeypatch):
    assert optima_main(["-o", str(tmp_path / "t.csv"), "--only", "nosuch"]) == 2
    assert "argument '--only': no spec of the grid contains 'nosuch'" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    assert optima_main(["-o", str(tmp_path / "t.csv"), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "pebble-io[dask]" in capsys.readouterr().err
    assert not (tmp_path / "t.csv").exists()


def test_find_optimum_matches_by_structure(tmp_path, optima):
    path = write_table(tmp_path / "t.csv", optima)
    g = build("pyramid:h=3")
    write_dag(g, tmp_path / "p.json")
    from dags import read_dag

    again = read_dag(tmp_path / "p.json")
    assert fingerprint(again) == fingerprint(g)
    row = find_optimum(again, 3, "one-shot", table=path)
    assert row is not None and row.optimum == optima["pyramid:h=3", 3, "one-shot"]
    assert find_optimum(g, 5, "base", table=path) is None
    assert find_optimum(build("pyramid:h=2"), 3, "base", table=path) is None


def test_the_committed_table_of_optima():
    """Every bound against every certified optimum of proofs/data/optima.csv (missing or empty fails)."""
    result = check_table(TABLE)
    assert result.ok, "\n".join(f.message for f in result.findings)
    assert len(result.rows) == len(read_optima(TABLE)) > 0
    assert any(r.row.spec.startswith("osp:") for r in result.rows)
