"""`pebble schedule`, `pebble run`, `pebble sweep` and `pebble demo`."""

import csv
import json

import pytest

from pebble.cli import main


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    return code, json.loads(capsys.readouterr().out)


def test_run_flash_json(capsys):
    code, out = run_json(capsys, ["run", "flash", "attention:n=8,d=2", "-M", "17"])
    assert code == 0
    assert out["valid"] is True
    assert (out["loads"], out["stores"], out["io"]) == (144, 16, 160)
    assert out["trivial_lower_bound"] == 4 * 8 * 2
    assert out["strategy"] == "flash" and out["dag"] == "attention(n=8,d=2)"


def test_run_text(capsys):
    assert main(["run", "heuristic", "pyramid:h=4", "-M", "3"]) == 0
    text = capsys.readouterr().out
    assert "valid" in text and "I/O" in text and "20" in text and "trivial lower bound" in text


@pytest.mark.parametrize("suffix", [".sched", ".pbs"])
def test_schedule_writes_a_file_the_verifier_accepts(tmp_path, capsys, suffix):
    path = tmp_path / f"s{suffix}"
    code, out = run_json(capsys, ["schedule", "naive", "attention:n=3,d=2", "-M", "8", "-o", str(path)])
    assert code == 0 and out["valid"] and out["io"] == 2 * 9 * 2 + 2 * 9 + 2 * 3 * 2
    code, checked = run_json(capsys, ["verify", "attention:n=3,d=2", str(path), "-M", "8"])
    assert code == 0 and checked["io"] == out["io"] and checked["moves"] == out["moves"]


def test_run_options_and_variant(capsys):
    code, out = run_json(capsys, ["run", "approx", "approx:n=16,d=4,g=2", "-M", "100", "--mode", "column-blocked",
                                  "--block", "2"])
    assert code == 0 and out["io"] == 2 * 16 * 4 + 2 * 16 * 4 * 2
    # More than one column block recomputes features: the one-shot game rejects it (exit 1).
    code, out = run_json(capsys, ["run", "approx", "approx:n=16,d=4,g=2", "-M", "100", "--mode", "column-blocked",
                                  "--block", "2", "--variant", "one-shot"])
    assert code == 1 and out["valid"] is False and "one-shot" in out["violation"]["message"]
    code, out = run_json(capsys, ["run", "tiling", "attention:n=6,d=4", "-M", "13", "--variant", "one-shot"])
    assert code == 0 and out["valid"]


@pytest.mark.parametrize("argv, message", [
    (["run", "flash", "attention:n=16,d=4", "-M", "10"], "strategy 'flash' needs M >= 20"),
    (["run", "approx", "approx:n=8,d=2,g=2", "-M", "4"], "needs M >= "),
    (["run", "flash", "pyramid:h=3", "-M", "10"], "needs an exact attention DAG"),
    (["run", "flash", "attention:n=16,d=4", "-M", "40", "--block", "9"], "argument 'block'"),
    (["run", "approx", "approx:n=8,d=2,g=2", "-M", "40", "--mode", "fast"], "argument 'mode'"),
    (["schedule", "heuristic", "nosuch:n=3", "-M", "4", "-o", "x.sched"], "unknown DAG family"),
])
def test_errors(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("pebble: error: ") and message in err


def test_unknown_strategy(capsys):
    assert main(["run", "fastest", "pyramid:h=3", "-M", "4"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_sweep(tmp_path, capsys):
    csv_path, png = tmp_path / "s.csv", tmp_path / "s.png"
    code, out = run_json(capsys, ["sweep", "-d", "2", "-g", "3", "-M", "32", "--max-n-exact", "64",
                                  "--max-n-approx", "128", "--csv", str(csv_path), "--plot", str(png)])
    assert code == 0
    rows = list(csv.DictReader(open(csv_path)))
    assert [int(r["n"]) for r in rows] == [16, 32, 64, 16, 32, 64, 128]
    assert all(r["io"] == r["formula_io"] for r in rows)
    assert all(float(r["max_error"]) < float(r["error_bound"]) for r in rows if r["strategy"] != "flash")
    assert 1.8 < out["exponents"]["flash"] < 2.1 and abs(out["exponents"]["approx"] - 1) < 1e-9
    assert out["crossover"] == 11
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_sweep_on_two_workers_gives_the_sequential_output(tmp_path, capsys):
    argv = ["sweep", "-d", "2", "-g", "3", "-M", "32", "--max-n-exact", "32", "--max-n-approx", "64"]
    outputs = {}
    for workers in (1, 2):
        path = tmp_path / f"w{workers}.csv"
        code, out = run_json(capsys, argv + ["--workers", str(workers), "--csv", str(path)])
        assert code == 0
        rows = list(csv.DictReader(open(path)))
        for point in [*out["points"], *rows]:  # the one figure a run cannot repeat: its wall time
            assert float(point.pop("seconds")) >= 0
        outputs[workers] = out, rows
    assert outputs[1] == outputs[2]
    out, rows = outputs[2]
    assert [(r["strategy"][:6], int(r["n"])) for r in rows] == [("flash", 16), ("flash", 32), ("approx", 16),
                                                                 ("approx", 32), ("approx", 64)]
    assert all(r["io"] == r["formula_io"] for r in rows) and out["crossover"] == 11


def test_sweep_bad_parameters(capsys):
    assert main(["sweep", "-d", "4", "-M", "10"]) == 2
    assert "needs M >= 20" in capsys.readouterr().err


def test_demo(capsys):
    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    for name in ("naive", "flash", "tiling", "heuristic"):
        assert name in text
    assert "INVALID" not in text
