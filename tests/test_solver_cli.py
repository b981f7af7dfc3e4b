"""``pebble solve``, on deterministic budgets (one worker; CP-SAT's deterministic time)."""

import json

import dags
from pebble import verify
from pebble.cli import main


def test_solve_json(capsys):
    assert main(["solve", "pyramid:h=3", "-M", "4", "--json", "--workers", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["status"], out["io"], out["lower_bound"]) == ("optimal", 7, 7)
    assert out["dag"] == "pyramid(3)" and out["variant"] == "base" and out["method"] == "solve"
    assert out["proved_by"] in ("ideals", "steps", "cp-sat")


def test_solve_writes_a_schedule_the_verifier_accepts(tmp_path, capsys):
    path = tmp_path / "opt.sched"
    assert main(["solve", "tree:h=3", "-M", "3", "--variant", "one-shot", "-o", str(path), "--workers", "1"]) == 0
    text = capsys.readouterr()
    assert "optimal" in text.out and "15" in text.out
    assert "lower bound" in text.err  # progress
    assert text.err.splitlines()[0].startswith("  start:") and "  ideals: from" in text.err  # a line per stage
    assert verify(dags.build("tree:h=3"), str(path), 3, variant="one-shot").io == 15
    assert main(["verify", "tree:h=3", str(path), "-M", "3", "--variant", "one-shot"]) == 0


def test_solve_by_search(capsys):
    assert main(["solve", "pyramid:h=2", "-M", "3", "--method", "search", "--json", "--quiet"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert (out["status"], out["io"], out["method"]) == ("optimal", 6, "search")
    assert captured.err == ""


def test_solve_by_each_search(capsys):
    assert main(["solve", "pyramid:h=4", "-M", "4", "--method", "steps", "--json", "--memory-limit", "2G"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert (out["status"], out["io"], out["lower_bound"], out["method"]) == ("optimal", 10, 10, "steps")
    assert "lower bound 10" in captured.err
    assert main(["solve", "pyramid:h=4", "-M", "4", "--variant", "one-shot", "--method", "ideals", "--json",
                 "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "ideals"
    assert main(["solve", "pyramid:h=4", "-M", "4", "--variant", "one-shot", "--method", "steps"]) == 2
    assert "the step search takes only 'base'" in capsys.readouterr().err


def test_solve_time_limit_gives_best_so_far(capsys):
    assert main(["solve", "pyramid:h=7", "-M", "4", "--method", "cp-sat", "--deterministic-time", "0.05",
                 "--workers", "1", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "feasible" and out["lower_bound"] <= out["io"] and out["proved_by"] is None


def test_solve_memory_limit_falls_back_to_the_heuristic(capsys):
    assert main(["solve", "pyramid:h=12", "-M", "3", "--method", "cp-sat", "--memory-limit", "1M", "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["status"] == "feasible" and out["stages"]["model"] == "too large"
    assert "does not fit in the" in captured.err and "fallback: keeping the best verified schedule" in captured.err
    assert main(["solve", "pyramid:h=3", "-M", "3", "--memory-limit", "lots"]) == 2
    assert "--memory-limit: must be a positive size" in capsys.readouterr().err


def test_solve_memory_too_small_is_a_usage_error(capsys):
    assert main(["solve", "pyramid:h=3", "-M", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pebble: error: M = 2 is below the smallest feasible M = 3")


def test_solve_bad_arguments(capsys):
    assert main(["solve", "pyramid:h=3", "-M", "3", "--variant", "compcost"]) == 2
    assert "argument 'variant'" in capsys.readouterr().err
    assert main(["solve", "pyramid:h=3", "-M", "3", "--time-limit", "0"]) == 2
    assert "--time-limit" in capsys.readouterr().err
    assert main(["solve", "nosuch:h=3", "-M", "3"]) == 2
    assert "unknown DAG family 'nosuch'" in capsys.readouterr().err
