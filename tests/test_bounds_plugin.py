"""Bounds in a user's own CI: a table of one's own optima (DAG files beside it), the pytest plugin, the CLI."""

import pytest

from dags import pyramid_dag, write_dag
from pebble.cli import main
from proofs import check_table
from proofs.optima import TableError

pytest_plugins = ["pytester"]

# pyramid(2): optimum 6 at M=3 and 4 at M=4 (the certified table, proofs/data/optima.csv)
TABLE = "spec,M,variant,optimum,notes\nmydag.json,3,base,6,my kernel\nmydag.hdag,4,one-shot,4,\npyramid:h=2,4,base,4,\n"


def user_project(folder, table=TABLE):
    (folder / "graphs").mkdir(parents=True)
    write_dag(pyramid_dag(2), folder / "graphs" / "mydag.json")
    write_dag(pyramid_dag(2), folder / "graphs" / "mydag.hdag")
    path = folder / "graphs" / "mine.csv"
    path.write_text(table)
    return path


def test_check_table_on_a_table_of_ones_own(tmp_path):
    result = check_table(user_project(tmp_path))
    assert result.ok and len(result.rows) == 3
    assert [r.row.source for r in result.rows][:2] == [str(tmp_path / "graphs" / "mydag.json"),
                                                        str(tmp_path / "graphs" / "mydag.hdag")]
    assert result.rows[0].lower.value == 4  # trivial: 3 loads + 1 store


def test_check_table_on_rows(tmp_path, monkeypatch):
    user_project(tmp_path)
    monkeypatch.chdir(tmp_path / "graphs")
    assert check_table([{"spec": "mydag.json", "M": 3, "variant": "base", "optimum": 6}]).ok
    result = check_table([{"spec": "mydag.json", "M": 3, "variant": "base", "optimum": 3}])
    assert not result.ok
    assert result.findings[0].message.startswith("row 1: mydag.json M=3 base: lower bound 'trivial' = 4 exceeds")
    with pytest.raises(TableError, match="row 2: missing optimum"):
        check_table([{"spec": "mydag.json", "M": 3, "variant": "base", "optimum": 6},
                     {"spec": "mydag.json", "M": 4, "variant": "base"}])


@pytest.mark.parametrize("table, message", [
    ("spec,M,optimum\nmydag.json,3,6\n", "mine.csv line 1: the header must be"),
    ("spec,M,variant,optimum\nnone.json,3,base,6\n", "mine.csv line 2: column 'spec': "),
    ("spec,M,variant,optimum\nmydag.json,3,base\n", "mine.csv line 2: expected 4 columns, got 3"),
])
def test_bad_tables_of_ones_own_name_the_line(tmp_path, table, message):
    with pytest.raises(TableError, match=message):
        check_table(user_project(tmp_path, table))


def test_cli_bounds_check_takes_a_table_of_dag_files(tmp_path, capsys):
    assert main(["bounds", "check", "--table", str(user_project(tmp_path))]) == 0
    assert "3 instances checked, 0 violations" in capsys.readouterr().out
    bad = user_project(tmp_path / "b", "spec,M,variant,optimum\nmydag.json,3,base,3\n")
    assert main(["bounds", "check", "--table", str(bad)]) == 1
    assert "mine.csv line 2: mydag.json M=3 base: lower bound 'trivial' = 4 exceeds" in capsys.readouterr().out
    missing = user_project(tmp_path / "c", "spec,M,variant,optimum\nother.json,3,base,3\n")
    assert main(["bounds", "check", "--table", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "mine.csv line 2: column 'spec': " in err and "other.json: no such file" in err


def test_the_plugin_checks_a_user_suite_in_one_line(pytester):
    user_project(pytester.path)
    pytester.makeconftest('pytest_plugins = ["proofs.pytest_plugin"]')
    pytester.makepyfile(test_mine="""
        from proofs.pytest_plugin import assert_bounds_hold

        def test_bounds(pebble_bounds_check):
            pebble_bounds_check("graphs/mine.csv")

        def test_bounds_on_rows(pebble_bounds_check):
            pebble_bounds_check([{"spec": "pyramid:h=2", "M": 3, "variant": "base", "optimum": 6}])

        def test_too_small_an_optimum_fails():
            assert_bounds_hold([{"spec": "pyramid:h=2", "M": 3, "variant": "base", "optimum": 3}])
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*BoundsCheckFailed: 1 of the bounds fail on rows (1 rows checked):*",
                                 "*row 1: pyramid:h=2 M=3 base: lower bound * exceeds the certified optimum 3*"])
