"""`pebble dag build`, `eval` and `draw`, and builder specs on the command line."""

import json
import sys

import numpy as np
import pytest

from dags import read_dag
from pebble.cli import main

SPECS = ["attention:n=4,d=2", "approx:n=64,d=2,g=2", "matmul:n=4,k=4,m=4", "pyramid:h=5", "fft:k=3", "matvec:n=3",
         "stencil:n=8,t=4", "layered:layers=4,width=4,seed=0", "path:n=5", "tree:h=3"]


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("spec", SPECS)
def test_build_writes_what_the_spec_names(spec, tmp_path, capsys):
    from dags import build

    path = tmp_path / "g.json"
    code, out, _ = run(["dag", "build", spec, "-o", str(path)], capsys)
    g, back = build(spec), read_dag(path)
    assert code == 0 and out.startswith(f"wrote {path}: {g.num_nodes} nodes, {g.num_edges} edges")
    assert np.array_equal(back.indptr, g.indptr) and np.array_equal(back.indices, g.indices)
    assert np.array_equal(back.ops, g.ops) and np.array_equal(back.outputs, g.outputs) and back.meta == g.meta
    code, out, _ = run(["dag", "info", str(path), "--json"], capsys)
    assert code == 0 and json.loads(out)["nodes"] == g.num_nodes


def test_build_reports_the_polynomial(tmp_path, capsys):
    code, out, _ = run(["dag", "build", "approx:n=64,d=2,g=2", "-o", str(tmp_path / "a.json")], capsys)
    assert code == 0 and "R = 6, eps = 0.3828" in out and "coefficient_method = chebyshev" in out


def test_specs_work_where_a_dag_is_taken(capsys):
    code, out, _ = run(["dag", "info", "attention:n=4,d=2", "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and (info["nodes"], info["edges"], info["sources"], info["outputs"]) == (164, 264, 24, 8)


def test_eval_exact_attention(capsys):
    code, out, _ = run(["dag", "eval", "attention:n=4,d=2", "--seed", "0"], capsys)
    assert code == 0 and "numpy softmax attention" in out and "ok" in out
    code, out, _ = run(["dag", "eval", "attention:n=5,d=3,sums=tree,softmax=safe", "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and result["ok"] and result["checks"][0]["rel_error"] < 1e-12


def test_eval_approx_reports_both_errors(capsys):
    code, out, _ = run(["dag", "eval", "approx:n=64,d=2,g=5,coefficients=chebyshev", "--seed", "1", "--json"], capsys)
    result = json.loads(out)
    poly, exact = result["checks"]
    assert code == 0 and result["ok"] and result["bound"] == 1.0
    assert poly["reference"] == "numpy polynomial-kernel attention" and poly["rel_error"] < 1e-12
    assert exact["reference"] == "numpy softmax attention" and 0 < exact["max_abs_error"] <= exact["tolerance"]
    code, out, _ = run(["dag", "eval", "approx:n=64,d=2,g=2,coefficients=taylor"], capsys)
    assert code == 0 and "no bound: eps >= 1" in out and "R = 6, eps = 1.409" in out


def test_eval_uses_the_dags_bound(capsys):
    code, out, _ = run(["dag", "eval", "approx:n=8,d=2,g=4,bound_B=0.5", "--json"], capsys)
    assert code == 0 and json.loads(out)["bound"] == 0.5
    code, out, _ = run(["dag", "eval", "approx:n=8,d=2,g=4,bound_B=0.5", "--bound", "2", "--json"], capsys)
    result = json.loads(out)  # entries beyond B: the polynomial's error bound no longer applies
    assert code == 0 and result["bound"] == 2.0 and result["checks"][1]["ok"] is None
    assert result["checks"][1]["no_tolerance_because"] == "scores may leave [-0.3536, 0.3536]"


def test_eval_catches_a_wrong_dag(tmp_path, capsys):
    run(["dag", "build", "attention:n=3,d=2", "-o", str(tmp_path / "a.json")], capsys)
    obj = json.loads((tmp_path / "a.json").read_text())
    obj["coef"][obj["labels"]["blocks"][6]["start"]] = 0.5  # one exp node of block E with the wrong scale
    (tmp_path / "bad.json").write_text(json.dumps(obj))
    code, out, _ = run(["dag", "eval", str(tmp_path / "bad.json")], capsys)
    assert code == 1 and "FAILED" in out


def test_eval_other_families(capsys):
    code, out, _ = run(["dag", "eval", "matvec:n=3", "--json"], capsys)
    result = json.loads(out)
    assert code == 0 and list(result["outputs"]) == ["y[0]", "y[1]", "y[2]"]
    code, out, _ = run(["dag", "eval", "fft:k=4"], capsys)
    assert code == 0 and "x4[0]" in out and "6 more outputs" in out


@pytest.mark.parametrize("suffix", ["png", "svg"])
def test_draw(suffix, tmp_path, capsys):
    path = tmp_path / f"g.{suffix}"
    code, out, _ = run(["dag", "draw", "attention:n=2,d=2", "-o", str(path)], capsys)
    assert code == 0 and out.startswith(f"wrote {path}: 46 nodes")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == "png" else b"<svg" in data[:2000]


def test_drawing_shows_every_label_and_kind(tmp_path):
    from dags import build
    from dags.draw import draw_dag

    g = build("matvec:n=2")
    ax = draw_dag(g, tmp_path / "m.png").axes[0]
    assert sorted(t.get_text() for t in ax.texts if t.get_text()) == sorted(g.label(v) for v in range(g.num_nodes))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["source", "computed", "output"]


def test_draw_layout_is_layered():
    from dags import build
    from dags.draw import layered_layout

    g = build("attention:n=2,d=2")
    pos = layered_layout(g)
    assert np.array_equal(pos[:, 1], g.levels)
    rows = np.repeat(np.arange(g.num_nodes), g.in_degree)
    assert (pos[rows, 1] > pos[g.indices, 1]).all()
    for level in np.unique(g.levels):  # distinct places within a level
        xs = pos[g.levels == level, 0]
        assert np.unique(xs).size == xs.size


@pytest.mark.parametrize("argv,message", [
    (["dag", "draw", "attention:n=8,d=4", "-o", "x.png"], "has 1176 nodes; drawing is for at most 400"),
    (["dag", "draw", "pyramid:h=3", "-o", "x.txt"], "argument '-o/--output': cannot write 'x.txt'; supported: .png, .svg, .pdf"),
    (["dag", "eval", "attention:n=0,d=2"], "argument 'n' must be an integer >= 1, got 0"),
    (["dag", "build", "approx:n=4,d=1,g=-1", "-o", "x.json"], "argument 'g' must be an integer >= 0, got -1"),
    (["dag", "build", "attention:n=4,d=2,sums=foo", "-o", "x.json"], "argument 'sums' must be one of 'chain', 'tree'"),
    (["dag", "build", "attention:n=4,d=2,heads=2", "-o", "x.json"],
     "unknown parameter 'heads'; accepted: n, d, scale, sums, softmax"),
    (["dag", "build", "mamba:n=4", "-o", "x.json"], "unknown DAG family 'mamba'; known: approx, attention"),
    (["dag", "eval", "pyramid:h=2", "--bound", "0"], "argument '--bound' must be a positive number"),
])
def test_errors_name_the_argument(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(argv, capsys)
    assert code == 2 and err.startswith("pebble: error: ") and message in err


def test_draw_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, _, err = run(["dag", "draw", "pyramid:h=2", "-o", str(tmp_path / "p.png")], capsys)
    assert code == 2 and "drawing needs matplotlib: pip install 'pebble-io[plot]'" in err


def test_eval_of_a_dag_without_numbers(tmp_path, capsys):
    (tmp_path / "g.json").write_text(json.dumps({"format": "pebble-dag", "version": 1, "num_nodes": 3,
                                                 "preds": [[], [], [0, 1]]}))
    code, _, err = run(["dag", "eval", str(tmp_path / "g.json")], capsys)
    assert code == 2 and "operation 'opaque'" in err
