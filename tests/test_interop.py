"""Graphs in and out: networkx graphs wherever a DAG goes, HyperDAG writing, edge lists and GML."""

import networkx as nx
import numpy as np
import pytest

import pebble
from dags import DAG, DAGError, DAGFileError, as_dag, evaluate, load_dag, pyramid_dag, read_dag, write_dag
from dags.io import WRITE_SUFFIXES
from pebble.cli import main
from pebble.solver import METHODS
from pebble.strategies import generate_verified, heuristic_schedule
from proofs import bounds_for


def _same_structure(a, b):
    return (a.num_nodes == b.num_nodes and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.outputs, b.outputs))


# -- networkx in ---------------------------------------------------------------

def diamond():
    """a, b -> c; c, a -> d: four nodes, four edges, one output."""
    return nx.DiGraph([("a", "c"), ("b", "c"), ("c", "d"), ("a", "d")])


def test_as_dag_keeps_a_dag_and_converts_a_digraph():
    g = pyramid_dag(2)
    assert as_dag(g) is g
    d = as_dag(diamond())
    assert (d.num_nodes, d.num_edges, [d.label(v) for v in d.outputs]) == (4, 4, ["d"])


def test_integer_nodes_other_than_0_to_n_minus_1_are_refused_with_the_fix():
    with pytest.raises(DAGError, match="integer nodes keep their ids only when they are 0..N-1"):
        as_dag(nx.DiGraph([(1, 2)]))


@pytest.mark.parametrize("obj, name", [([(0, 1)], "list"), (nx.Graph([(0, 1)]), "Graph"), (None, "NoneType"),
                                       (nx.MultiDiGraph([(0, 1)]), "MultiDiGraph")])
def test_as_dag_refuses_other_objects_naming_the_type(obj, name):
    with pytest.raises(DAGError, match=name):
        as_dag(obj)


def test_operand_order_from_the_edge_attribute_else_by_node_number():
    h = nx.DiGraph()
    h.add_node("s", op="sub")
    h.add_edge("x", "s", operand=1)
    h.add_edge("y", "s", operand=0)
    d = as_dag(h)
    assert [d.label(v) for v in d.predecessors(d.node("s"))] == ["y", "x"]
    assert evaluate(h, [5.0, 2.0]).tolist() == [2.0 - 5.0]  # sources x, y; s = y - x
    plain = nx.DiGraph()
    plain.add_edges_from([(2, 0), (1, 0)])  # inserted 2 first; the operands go by node number
    assert as_dag(plain).predecessors(0).tolist() == [1, 2]
    order = nx.DiGraph()
    order.add_edge(1, 0, order=1)
    order.add_edge(2, 0, order=0)
    assert as_dag(order).predecessors(0).tolist() == [2, 1]


def test_operand_attribute_must_be_distinct_integers():
    h = nx.DiGraph()
    h.add_edge("x", "s", operand=0)
    h.add_edge("y", "s", operand=0)
    with pytest.raises(DAGError, match="same 'operand' 0"):
        as_dag(h)
    h.edges["y", "s"]["operand"] = "first"
    with pytest.raises(DAGError, match="must be an integer"):
        as_dag(h)


def test_networkx_round_trip_keeps_a_non_sorted_operand_order():
    g = DAG.from_edges(3, [(1, 2), (0, 2)], ops=["input", "input", "sub"])
    back = as_dag(g.to_networkx())
    assert back.predecessors(2).tolist() == [1, 0]


def test_every_entry_point_takes_a_digraph():
    h = diamond()
    schedule = heuristic_schedule(h, 3)
    report = pebble.verify(h, schedule, 3)
    assert report.valid and report.io == 3  # load a, b; store d
    assert pebble.reference_verify(h, schedule, 3).io == 3
    assert pebble.Verifier(h, 3).check(schedule).io == 3
    assert generate_verified(heuristic_schedule, h, 3).io == 3
    game = pebble.Game(h, 3)
    game.load("a")
    assert game.red == {"a"}
    assert METHODS["search"](h, 3).io == 3
    assert [b.name for b in bounds_for(h, 3, kind="lower")] == ["trivial"]


def test_verify_refuses_a_non_dag_with_a_dag_error():
    with pytest.raises(DAGError, match="got dict"):
        pebble.verify({"a": "b"}, [], 3)


# -- files ---------------------------------------------------------------------

def test_hyperdag_round_trip_of_every_shipped_file(osp_tiny_dir, tmp_path):
    files = sorted(osp_tiny_dir.glob("*.hdag"))
    assert len(files) == 16
    for path in files:
        first = read_dag(path)
        write_dag(first, tmp_path / path.name)
        again = read_dag(tmp_path / path.name)
        assert _same_structure(first, again), path.name
        assert again.name == first.name


def test_hyperdag_writer_gives_operands_in_node_order(tmp_path):
    g = pyramid_dag(3)
    write_dag(g, tmp_path / "p.hdag")
    back = read_dag(tmp_path / "p.hdag")
    assert _same_structure(g, back)  # pyramid operands are in node order already
    header = [line for line in (tmp_path / "p.hdag").read_text().splitlines() if not line.startswith("%")][0]
    assert header == f"{g.num_nodes - 1} {g.num_nodes} {g.num_edges + g.num_nodes - 1}"


def test_writers_refuse_unknown_suffixes(tmp_path):
    assert ".hdag" in WRITE_SUFFIXES
    with pytest.raises(DAGFileError, match=r"x\.gml: cannot write this file type; supported: .json, .hdag"):
        write_dag(pyramid_dag(1), tmp_path / "x.gml")


def test_edge_list_with_comments_and_operand_order(tmp_path):
    path = tmp_path / "mine.edgelist"
    path.write_text("# my DAG\nx s  # first operand\n\ny s\ns t\n")
    g = read_dag(path)
    assert (g.num_nodes, g.num_edges, g.name) == (4, 3, "mine")
    assert [g.label(v) for v in g.predecessors(g.node("s"))] == ["x", "y"]
    assert [g.label(v) for v in g.outputs] == ["t"]


def test_integer_edge_list_keeps_ids_and_txt_is_told_from_hyperdag(tmp_path, osp_tiny_dir):
    path = tmp_path / "ints.txt"
    path.write_text("0 2\n1 2\n2 3\n")
    g = load_dag(str(path))
    assert g.predecessors(2).tolist() == [0, 1] and g.outputs.tolist() == [3] and g.label(3) == "3"
    hdag = tmp_path / "k.txt"
    hdag.write_text((osp_tiny_dir / "instance_k-means.hdag").read_text())
    assert read_dag(hdag).num_nodes == 40


@pytest.mark.parametrize("text, message", [
    ("0 1\n1 2 3\n", "line 2: expected an edge 'u v', got '1 2 3'"),
    ("0 1\n1 1\n", "line 2: self-loop on node 1"),
    ("0 1\n# again\n0 1\n", "line 3: duplicate edge 0 -> 1 (first on line 1)"),
    ("# nothing\n", "no edges"),
    ("a b\nb a\n", "DAG has a cycle"),
    ("1 2\n2 3\n", "integer node ids must be 0..N-1 (they would be node numbers), found 3 nodes numbered 1..3"),
])
def test_bad_edge_lists_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.edgelist"
    path.write_text(text)
    with pytest.raises(DAGFileError, match="bad.edgelist") as info:
        read_dag(path)
    assert message in str(info.value)


def test_gml_in(tmp_path):
    h = nx.DiGraph(name="mine")
    h.add_node("s", op="sub")
    h.add_edge("x", "s", operand=1)
    h.add_edge("y", "s", operand=0)
    nx.write_gml(h, tmp_path / "mine.gml")
    g = load_dag(str(tmp_path / "mine.gml"))
    assert g.name == "mine" and [g.label(v) for v in g.predecessors(g.node("s"))] == ["y", "x"]
    assert g.ops[g.node("s")] == 3  # sub


@pytest.mark.parametrize("text, message", [
    ('graph [\n directed 1\n node [ id 0 ]\n node [ id 1\n]\n', "bad.gml line 6: not a GML graph"),
    ('graph [\n node [ id 0 ]\n node [ id 1 ]\n edge [ source 0 target 1 ]\n]\n', "bad.gml: the GML graph is undirected"),
    ('graph [\n directed 1\n node [ id 0 ]\n node [ id 1 ]\n edge [ source 0 target 1 ]\n'
     ' edge [ source 1 target 0 ]\n]\n', "bad.gml: DAG has a cycle: 0 -> 1 -> 0"),
])
def test_bad_gml_names_the_file(tmp_path, text, message):
    path = tmp_path / "bad.gml"
    path.write_text(text)
    with pytest.raises(DAGFileError) as info:
        read_dag(path)
    assert message in str(info.value)


def test_cli_converts_an_edge_list_to_hyperdag(tmp_path, capsys):
    src = tmp_path / "mine.edgelist"
    src.write_text("a c\nb c\nc d\n")
    out = tmp_path / "mine.hdag"
    assert main(["dag", "convert", str(src), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert _same_structure(read_dag(src), read_dag(out))
    assert main(["dag", "convert", str(src), "-o", str(tmp_path / "mine.xyz")]) == 2
    assert ".hdag" in capsys.readouterr().err


# -- schedules out -------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_schedule_json_and_csv_round_trip(tmp_path, suffix):
    g = pyramid_dag(5)
    s = heuristic_schedule(g, 4)
    path = tmp_path / f"s{suffix}"
    assert pebble.write_schedule(path, s, g) == len(s)
    assert pebble.read_schedule(path, g) == s
    assert pebble.verify(g, path, 4) == pebble.verify(g, s, 4)
    chunks = list(pebble.read_schedule_chunks(path, g, chunk_moves=7))
    assert max(c.size for c in chunks) == 7 and _schedule_of(chunks) == s
    bare = tmp_path / f"ids{suffix}"
    pebble.write_schedule(bare, s)  # no DAG: node ids
    assert pebble.read_schedule(bare) == s


def _schedule_of(chunks):
    return pebble.Schedule(np.concatenate(chunks))


def test_schedule_json_and_csv_layout(tmp_path):
    g = pyramid_dag(1)
    s = pebble.Schedule.from_moves(["load p0[0]", "load p0[1]", "compute p1[0]", "store p1[0]"], g)
    pebble.write_schedule(tmp_path / "s.json", s, g)
    import json
    obj = json.loads((tmp_path / "s.json").read_text())
    assert obj == {"format": "pebble-schedule", "version": 1,
                   "moves": [["load", "p0[0]"], ["load", "p0[1]"], ["compute", "p1[0]"], ["store", "p1[0]"]]}
    pebble.write_schedule(tmp_path / "s.csv", s, g)
    assert (tmp_path / "s.csv").read_text().splitlines() == [
        "index,move,node,label", "0,load,0,p0[0]", "1,load,1,p0[1]", "2,compute,2,p1[0]", "3,store,2,p1[0]"]


@pytest.mark.parametrize("name, text, message", [
    ("s.json", '{"format": "pebble-schedule", "version": 1, "moves": [\n["load", "p0[0]"],\n["lift", "p0[1]"]\n]}',
     "s.json line 3: unknown move 'lift'"),
    ("s.json", '{"format": "pebble-schedule", "version": 1, "moves": [\n["load", "p0[0]"],\n["load", "q"]\n]}',
     "s.json line 3: unknown node 'q'"),
    ("s.json", '{"format": "pebble-schedule", "version": 1, "moves": [["load"]]}', "s.json: move 0: a move is a pair"),
    ("s.json", '{"format": "pebble-schedule", "version": 1,\n "moves": [\n', "s.json line 3: not valid JSON"),
    ("s.json", '{"format": "other"}', "s.json: not a pebble-schedule JSON file"),
    ("s.csv", "index,move,node,label\n0,load,0,p0[0]\n1,load,7,\n", "s.csv line 3: unknown node 7"),
    ("s.csv", "index,move,node,label\n0,load,0,p0[0]\n2,load,1,p0[1]\n", "s.csv line 3: column 'index' must be 1"),
    ("s.csv", "index,move,node,label\n0,load,1,p0[0]\n", "s.csv line 2: node 1 is 'p0[1]' in this DAG, but the file says 'p0[0]'"),
    ("s.csv", "index,move,node,label\n0,load,x,\n", "s.csv line 2: column 'node' must be an integer node id"),
    ("s.csv", "move,node\n", "s.csv line 1: the header must be index,move,node,label"),
    ("s.csv", "index,move,node,label\n0,load\n", "s.csv line 2: expected 4 columns, got 2"),
])
def test_bad_json_and_csv_schedules_name_file_and_line(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(pebble.ScheduleFileError) as info:
        pebble.read_schedule(path, pyramid_dag(1))
    assert message in str(info.value)


def test_csv_label_column_alone_names_the_node(tmp_path):
    g = pyramid_dag(1)
    (tmp_path / "s.csv").write_text("index,move,node,label\n0,load,,p0[0]\n1,load,,p0[1]\n2,compute,,p1[0]\n"
                                    "3,store,2,p1[0]\n")
    assert pebble.verify(g, tmp_path / "s.csv", 3).io == 3


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_cli_schedule_writes_json_and_csv_and_verify_reads_them(tmp_path, capsys, suffix):
    out = tmp_path / f"s{suffix}"
    assert main(["schedule", "heuristic", "pyramid:h=4", "-M", "3", "-o", str(out)]) == 0
    assert main(["verify", "pyramid:h=4", str(out), "-M", "3", "--json"]) == 0
    assert '"io": 20' in capsys.readouterr().out
    bad = tmp_path / f"bad{suffix}"
    bad.write_text("index,move,node,label\n0,jump,0,\n" if suffix == ".csv" else '{"format": "pebble-schedule"')
    assert main(["verify", "pyramid:h=4", str(bad), "-M", "3"]) == 2
    err = capsys.readouterr().err
    assert f"bad{suffix} line" in err and "Traceback" not in err
