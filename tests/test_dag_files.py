"""DAG files: JSON round trips, the 16 osp-tiny HyperDAG files, malformed input."""


import numpy as np
import pytest

from dags import (
    DAG,
    DAGFileError,
    Labels,
    SpecError,
    build,
    families,
    load_dag,
    osp_tiny_names,
    osp_tiny_path,
    pyramid_dag,
    read_dag,
    write_dag,
)
from dags.errors import SizeError

# (file, nodes, edges); edges counted independently as pins minus hyperedges with a pin
OSP_TINY = [
    ("instance_CG_N2_K2_nzP0d75.hdag", 65, 108),
    ("instance_CG_N3_K1_nzP0d5.hdag", 60, 92),
    ("instance_CG_N4_K1_nzP0d35.hdag", 78, 120),
    ("instance_bicgstab.hdag", 54, 62),
    ("instance_exp_N4_K2_nzP0d5.hdag", 45, 66),
    ("instance_exp_N5_K3_nzP0d4.hdag", 63, 102),
    ("instance_exp_N6_K4_nzP0d25.hdag", 70, 105),
    ("instance_k-NN_3_gyro_m.hdag", 60, 93),
    ("instance_k-means.hdag", 40, 45),
    ("instance_kNN_N4_K3_nzP0d5.hdag", 48, 72),
    ("instance_kNN_N5_K3_nzP0d3.hdag", 57, 84),
    ("instance_kNN_N6_K4_nzP0d2.hdag", 71, 117),
    ("instance_pregel.hdag", 57, 104),
    ("instance_spmv_N10_nzP0d25.hdag", 78, 87),
    ("instance_spmv_N6_nzP0d4.hdag", 48, 54),
    ("instance_spmv_N7_nzP0d35.hdag", 54, 60),
]


def test_all_osp_tiny_files_are_covered(osp_tiny_dir):
    assert sorted(p.name for p in osp_tiny_dir.glob("*.hdag")) == sorted(f for f, _, _ in OSP_TINY)


@pytest.mark.parametrize("name, nodes, edges", OSP_TINY)
def test_osp_tiny_loads(osp_tiny_dir, name, nodes, edges):
    g = read_dag(osp_tiny_dir / name)
    assert (g.num_nodes, g.num_edges) == (nodes, edges)
    assert g.name == name[:-5]
    assert g.sources.size > 0 and g.outputs.size > 0


def test_osp_tiny_specs_name_the_shipped_files(osp_tiny_dir):
    names = [f[len("instance_"):-len(".hdag")] for f, _, _ in OSP_TINY]
    assert osp_tiny_names() == sorted(names)
    assert "osp" in families() and families()["osp"][1] == "osp:k-means"
    for (file, nodes, edges), name in zip(OSP_TINY, names):
        assert str(osp_tiny_path(name)) == str(osp_tiny_dir / file)
        spec, path = build(f"osp:{name}"), read_dag(osp_tiny_dir / file)
        assert (spec.num_nodes, spec.num_edges) == (nodes, edges)
        assert np.array_equal(spec.indptr, path.indptr) and np.array_equal(spec.indices, path.indices)
    assert load_dag("osp:k-means").num_nodes == 40  # a spec wherever a DAG is taken


@pytest.mark.parametrize("spec, message", [
    ("osp:k_means", "osp: unknown osp-tiny DAG 'k_means'; known: CG_N2_K2_nzP0d75, .*, k-means, "),
    ("osp:instance_k-means", "unknown osp-tiny DAG 'instance_k-means'"),
    ("osp", "osp: missing the argument after 'osp:' .example: osp:k-means."),
])
def test_osp_tiny_bad_names_list_the_known_ones(spec, message):
    with pytest.raises(SpecError, match=message):
        build(spec)


def test_hyperdag_first_pin_is_source(tmp_path):
    p = tmp_path / "t.hdag"
    p.write_text("% comment\n2 4 5\n0 1 1\n1 1 1\n0 1\n1 1\n2 1\n3 1\n"
                 "% pins\n0 0\n1 1\n0 2\n0 3\n1 3\n")
    g = read_dag(p)
    assert g.num_edges == 3
    assert g.predecessors(2).tolist() == [0] and sorted(g.predecessors(3).tolist()) == [0, 1]


@pytest.mark.parametrize("text, message", [
    ("", "t.hdag: empty file: no 'hyperedges nodes pins' header"),
    ("2 3\n", "t.hdag line 1: bad header '2 3'"),
    ("a b c\n", "t.hdag line 1: expected integers, got 'a b c'"),
    ("1 2 -2\n", "t.hdag line 1: bad header '1 2 -2': counts must be non-negative"),
    ("1 2 2\n0 1 1\n0 1\n1 1\n0 0\n0 5\n", "t.hdag line 6: pin names node 5, out of range 0..1"),
    ("1 2 2\n0 1 1\n0 1\n1 1\n3 0\n", "t.hdag line 5: pin names hyperedge 3, out of range 0..0"),
    ("1 2 2\n0 1 1\n0 1\n1 1\n0 0\n", "t.hdag: header declares 2 pins but the file ends after 1 (line 5)"),
    ("1 2 1\n0 1 1\n0 1\n1 1\n0 0\n0 1\n", "t.hdag line 6: unexpected line after the 1 pins"),
    ("1 2 2\n0 1 1\n0 1\n", "t.hdag: header declares 2 nodes but the file ends after 1"),
    ("1 2 3\n0 1 1\n0 1\n1 1\n0 0\n0 1\n0 1\n", "t.hdag: duplicate edge 0 -> 1"),
    ("1 2 2\n0 1 1\n0 1\n1 1\n0 1\n0 1\n", "t.hdag: self-loop on node 1"),
    ("2 2 4\n0 1 1\n1 1 1\n0 1\n1 1\n0 0\n0 1\n1 1\n1 0\n", "t.hdag: DAG has a cycle: 0 -> 1 -> 0"),
])
def test_hyperdag_errors(tmp_path, text, message):
    p = tmp_path / "t.hdag"
    p.write_text(text)
    with pytest.raises(DAGFileError) as exc:
        read_dag(p)
    assert message in str(exc.value).replace(str(tmp_path) + "/", "")


def test_hyperdag_huge_claim_allocates_nothing(tmp_path):
    p = tmp_path / "big.hdag"
    p.write_text("1000000000000 1000000000000 1000000000000\n0 1 1\n")
    with pytest.raises(SizeError, match="big.hdag line 1: the header would have 1.0e\\+12 nodes .* the limit is"):
        read_dag(p)
    p.write_text("1000000 1000000 1000000\n0 1 1\n")
    with pytest.raises(DAGFileError, match="header declares 1000000 hyperedges but the file ends after 1"):
        read_dag(p)


def test_binary_garbage_is_rejected(tmp_path):
    p = tmp_path / "g.hdag"
    p.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(DAGFileError, match="g.hdag"):
        read_dag(p)


def test_json_roundtrip(tmp_path):
    g = pyramid_dag(3).with_outputs([7, 9])
    g.coef = np.linspace(1, 2, g.num_nodes)
    g.meta["h"] = 3
    path = tmp_path / "p.json"
    write_dag(g, path)
    back = read_dag(path)
    assert np.array_equal(back.indptr, g.indptr) and np.array_equal(back.indices, g.indices)
    assert np.array_equal(back.ops, g.ops) and back.outputs.tolist() == [7, 9]
    assert np.allclose(back.coef, g.coef) and back.meta == {"h": 3} and back.name == "pyramid(3)"
    assert back.label(9) == "p3[0]" and back.node("p1[2]") == g.node("p1[2]")


def test_json_explicit_names(tmp_path):
    g = DAG.from_edges(3, [(0, 2), (1, 2)], labels=Labels(names=["a", "b", "a+b"]))
    write_dag(g, tmp_path / "n.json")
    assert read_dag(tmp_path / "n.json").node("a+b") == 2


@pytest.mark.parametrize("content, message", [
    ("{\"format\": \"pebble-dag\",\n \"version\": 1, \"preds\": [[], [0]],,}", "line 2: not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ("{\"format\": \"other\", \"version\": 1, \"preds\": []}", "not a pebble-dag file"),
    ("{\"format\": \"pebble-dag\", \"version\": 9, \"preds\": []}", "unsupported version 9"),
    ("{\"format\": \"pebble-dag\", \"version\": 1, \"preds\": [[], [0]], \"num_nodes\": 5}",
     "'num_nodes' is 5 but 'preds' has 2 entries"),
    ("{\"format\": \"pebble-dag\", \"version\": 1, \"preds\": [[], [\"x\"]]}", "preds[1] must be a list of node ids in 0..1"),
    ("{\"format\": \"pebble-dag\", \"version\": 1, \"preds\": [[1], [0]]}", "DAG has a cycle: 0 -> 1 -> 0"),
    ("{\"format\": \"pebble-dag\", \"version\": 1, \"preds\": [[], [0]], \"outputs\": [4]}", "output 4 is not a node"),
    ("{\"format\": \"pebble-dag\", \"version\": 1, \"preds\": [[], [7]]}", "preds[1] must be a list of node ids in 0..1"),
])
def test_json_errors(tmp_path, content, message):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(DAGFileError) as exc:
        read_dag(p)
    assert str(exc.value).startswith(str(p)) and message in str(exc.value)


def test_dot_output(tmp_path):
    write_dag(pyramid_dag(1), tmp_path / "p.dot")
    text = (tmp_path / "p.dot").read_text()
    assert text.startswith('digraph "pyramid(1)"') and '2 [label="p1[0]", shape=doublecircle]' in text
    assert "0 -> 2;" in text and "1 -> 2;" in text and 'shape=box' in text


def test_specs_and_paths(tmp_path):
    assert build("pyramid:h=2").num_nodes == 6
    write_dag(build("tree:h=2"), tmp_path / "t.json")
    assert load_dag(str(tmp_path / "t.json")).num_nodes == 7
    with pytest.raises(SpecError, match="unknown DAG family 'pyramidd'; known: .*pyramid"):
        build("pyramidd:h=2")
    with pytest.raises(SpecError, match="pyramid: unknown parameter 'n'; accepted: h"):
        build("pyramid:n=2")
    with pytest.raises(SpecError, match="pyramid: missing parameter 'h'"):
        build("pyramid")
    with pytest.raises(SpecError, match="pyramid: parameter 'h' must be int, got '2.5'"):
        build("pyramid:h=2.5")
    with pytest.raises(SpecError, match="argument 'h' must be an integer >= 0, got -1"):
        build("pyramid:h=-1")
    with pytest.raises(SpecError, match="expected key=value"):
        build("pyramid:4")
    with pytest.raises(DAGFileError, match="nope.json: no such file"):
        load_dag("nope.json")
