"""`pebble bound` and `pebble bounds check|list|tightness`: output, JSON, exit codes, errors."""

import json

import pytest

from dags import build
from pebble.cli import main
from pebble.solver import search

HEADER = "spec,M,variant,optimum,methods,solver,seconds\n"


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("optima") / "optima.csv"
    rows = [HEADER]
    for spec, M, variant in (("pyramid:h=3", 3, "base"), ("attention:n=1,d=2", 3, "one-shot")):
        result = search(build(spec), M, variant=variant)
        rows.append(f'"{spec}",{M},{variant},{result.io},astar,pebble.solver.config_search,{result.seconds:.3f}\n')
    path.write_text("".join(rows))
    return path


def test_bound_table_side_by_side(capsys, table):
    code, out, _ = run(["bound", "pyramid:h=3", "-M", "3", "--table", str(table)], capsys)
    assert code == 0
    assert "optimum: certified: 11 (astar" in out
    cells = [line.split() for line in out.splitlines()]
    kinds = [c[0] for c in cells if c and c[0] in ("lower", "optimum", "upper")]
    assert kinds[0] == "lower" and kinds[-1] == "upper" and kinds.index("optimum") == kinds.count("lower")
    assert next(c for c in cells if c[:2] == ["lower", "trivial"])[2:4] == ["5", "1.000"]
    assert next(c for c in cells if c[:1] == ["optimum"])[2:4] == ["11", "2.200"]
    assert any(c[:2] == ["upper", "schedule:heuristic"] for c in cells)
    assert "best lower 5 (trivial), best upper" in out


def test_bound_json(capsys, table):
    code, out, _ = run(["bound", "attention:n=1,d=2", "-M", "3", "--variant", "one-shot", "--json",
                        "--table", str(table)], capsys)
    d = json.loads(out)
    assert code == 0 and d["variant"] == "one-shot" and d["M"] == 3
    names = {b["name"]: b for b in d["bounds"]}
    assert {"trivial", "spectral", "mincut", "saha-ye", "schedule:heuristic"} <= set(names)
    for b in d["bounds"]:
        assert {"name", "kind", "value", "assumptions", "method", "formula", "reference"} <= set(b)
        assert set(b["assumptions"]) == {"variant", "sliding", "regime", "family"}
    assert d["optimum"]["optimum"] >= d["best_lower"]["value"] == names["trivial"]["value"] == 8
    assert names["trivial"]["ratio_to_best_lower"] == 1.0


def test_bound_json_without_a_certified_optimum(capsys, table):
    code, out, _ = run(["bound", "tree:h=3", "-M", "3", "--json", "--table", str(table)], capsys)
    assert code == 0 and json.loads(out)["optimum"] is None
    code, out, _ = run(["bound", "tree:h=3", "-M", "3", "--only", "trivial", "--formulas",
                        "--table", str(table)], capsys)
    assert code == 0 and "not certified in" in out and "trivial: 8 needed inputs loaded once" in out


@pytest.mark.parametrize("argv,message", [
    (["bound", "pyramid:h=3", "-M", "2"], "M = 2 is below the smallest feasible M = 3 for pyramid(3)"),
    (["bound", "pyramid:h=3", "-M", "3", "--variant", "compcost"], "the 'compcost' variant"),
    (["bound", "pyramid:h=3", "-M", "3", "--only", "nope"], "unknown bound 'nope'"),
    (["bound", "pyramid:h=3", "-M", "3", "--table", "missing.csv"], "cannot read the table of optima missing.csv"),
    (["bound", "cube:n=3", "-M", "3"], "unknown DAG family 'cube'"),
])
def test_bound_errors(capsys, argv, message):
    code, _, err = run(argv, capsys)
    assert code == 2 and err.startswith("pebble: error:") and message in err


def test_bounds_check_exit_codes(capsys, table, tmp_path):
    code, out, _ = run(["bounds", "check", "--table", str(table)], capsys)
    assert code == 0 and "2 instances checked, 0 violations" in out
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "pyramid:h=3,3,base,4,made-up,none,0\n")
    code, out, _ = run(["bounds", "check", "--table", str(bad)], capsys)
    assert code == 1 and "bad.csv line 2: pyramid:h=3 M=3 base: lower bound 'trivial' = 5 exceeds the certified optimum 4" in out
    code, out, _ = run(["bounds", "check", "--table", str(bad), "--json"], capsys)
    d = json.loads(out)
    assert code == 1 and not d["ok"] and d["findings"][0]["instance"] == "pyramid:h=3 M=3 base"
    code, _, err = run(["bounds", "check", "--table", str(tmp_path / "none.csv")], capsys)
    assert code == 2 and "cannot read the table of optima" in err


def test_bounds_list(capsys):
    code, out, _ = run(["bounds", "list"], capsys)
    assert code == 0 and "saha-ye" in out and "one-shot+sliding" in out
    code, out, _ = run(["bounds", "list", "--json"], capsys)
    entries = {e["name"]: e for e in json.loads(out)}
    assert entries["schedules"]["kind"] == "upper" and entries["schedules"]["game"] is None
    assert entries["mincut"]["game"]["variant"] == "one-shot"


def test_tightness_rows_and_markdown(table):
    from proofs.tightness import certified_summary_markdown, tightness_markdown, tightness_rows

    rows = tightness_rows({"matmul": [("matmul:n=8,k=8,m=8", (3, 32))]}, table=table)
    # families in grid order, then the others; certified rows of the variant first within a family
    assert [(r.family, r.optimum is None) for r in rows] == [("matmul", True), ("matmul", True), ("pyramid", False)]
    certified = rows[-1]
    assert certified.optimum == 11 and certified.optimum_ratio == pytest.approx(11 / 5)
    assert certified.gap == pytest.approx(certified.upper.value / 5)
    grid = rows[0]
    assert grid.lower.name == "matmul-partition" and grid.gap >= 1 and grid.optimum is None
    text = tightness_markdown(rows)
    assert text.splitlines()[0].startswith("| family | instance | M |") and "optimum / lower" in text
    assert "| pyramid | `pyramid:h=3` | 3 | 5 (trivial) |" in text
    assert "optimum" not in tightness_markdown(rows[:2])  # no certified row, no optimum columns
    summary = certified_summary_markdown(rows).splitlines()
    over = f"{certified.upper.value / 11:.2f}"
    assert summary[2] == f"| pyramid | 1 | 2.20 - 2.20 | {over} - {over} | 0 |"


def test_default_grid_of_the_tightness_report():
    from proofs.tightness import GRID, tightness_rows

    rows = tightness_rows(certified=False)
    assert len(rows) == sum(len(Ms) for entries in GRID.values() for _, Ms in entries)
    for r in rows:
        assert r.lower is not None and r.upper is not None and r.lower.value <= r.upper.value, r.to_dict()
    # where W, Z and W0 fit, the streaming schedule attains the trivial bound 4nd: a certified optimum
    streaming = {(r.spec, r.M): r for r in rows if r.family == "approx" and r.gap == 1}
    assert set(streaming) == {("approx:n=64,d=2,g=2", 32), ("approx:n=256,d=4,g=3", 256)}
    assert all(r.lower.name == "trivial" and r.upper.name == "schedule:approx" for r in streaming.values())


def test_bound_with_sliding(capsys, table):
    # with sliding, M = max in-degree suffices; only bounds proven with sliding are shown, and no optimum
    code, out, _ = run(["bound", "pyramid:h=3", "-M", "2", "--sliding", "--json", "--table", str(table)], capsys)
    d = json.loads(out)
    assert code == 0 and d["sliding"] and d["optimum"] is None
    assert [b["name"] for b in d["bounds"]] == ["trivial"]  # the heuristic needs M = 3
    code, out, _ = run(["bound", "pyramid:h=3", "-M", "3", "--sliding", "--table", str(table)], capsys)
    assert code == 0 and "not certified (the table of optima holds games without sliding)" in out
