"""The compact DAG type: structure, labels, validation, networkx."""

import networkx as nx
import numpy as np
import pytest

from dags import DAG, DAGError, Labels, binary_tree_dag, path_dag, pyramid_dag


def test_csr_structure_and_defaults():
    g = DAG.from_edges(4, [(0, 2), (1, 2), (2, 3), (0, 3)], name="g")
    assert g.indptr.tolist() == [0, 0, 0, 2, 4]
    assert g.predecessors(3).tolist() == [2, 0]  # operand order kept
    assert g.successors(0).tolist() == [2, 3]
    assert g.sources.tolist() == [0, 1] and g.sinks.tolist() == [3] and g.outputs.tolist() == [3]
    assert g.max_in_degree == 2 and g.num_edges == 4
    assert [g.label(v) for v in range(4)] == ["0", "1", "2", "3"]
    assert g.levels.tolist() == [0, 0, 1, 2]
    assert list(g.topological_order[:2]) == [0, 1]
    assert g.ops.tolist() == [0, 0, 7, 7]  # input, input, opaque, opaque


def test_labels_blocks_roundtrip():
    lab = Labels([("Q", 0, (2, 3)), ("S", 6, (2, 2)), ("z", 10, ())])
    g = DAG.from_edges(12, [(0, 6), (5, 9), (9, 10)], labels=lab)
    assert g.label(1) == "Q[0,1]" and g.label(5) == "Q[1,2]" and g.label(9) == "S[1,1]"
    assert g.label(10) == "z" and g.label(11) == "11"
    assert g.node("Q[1,2]") == 5 and g.node(" S[0,1] ") == 7 and g.node("z") == 10 and g.node("11") == 11
    assert g.node(3) == 3
    for bad in ["Q[2,0]", "Q[0]", "Q[a,b]", "R[0,0]", "12", "-1", ""]:
        with pytest.raises(KeyError):
            g.node(bad)


def test_labels_reject_overlap_and_out_of_range():
    with pytest.raises(ValueError, match="overlaps"):
        Labels([("A", 0, (3,)), ("B", 2, (2,))])
    with pytest.raises(DAGError, match="label block 'A' covers nodes 0..4, outside the DAG's 3 nodes"):
        DAG.from_edges(3, [], labels=Labels([("A", 0, (5,))]))


def test_explicit_outputs():
    g = DAG.from_edges(3, [(0, 1), (1, 2)], outputs=[1, 2, 1])
    assert g.outputs.tolist() == [1, 2] and g.has_explicit_outputs
    with pytest.raises(DAGError, match="output 5 is not a node \\(the DAG has 3 nodes\\)"):
        DAG.from_edges(3, [(0, 1)], outputs=[5])


def test_cycle_is_named():
    lab = Labels([("a", 0, ()), ("b", 1, ()), ("c", 2, ()), ("s", 3, ())])
    with pytest.raises(DAGError, match="^DAG has a cycle: a -> b -> c -> a$"):
        DAG.from_edges(4, [(3, 0), (0, 1), (1, 2), (2, 0)], labels=lab)
    with pytest.raises(DAGError, match="^DAG has a cycle: 1 -> 2 -> 1$"):
        DAG.from_edges(3, [(0, 1), (1, 2), (2, 1)])


def test_self_loop_and_duplicate_edge():
    with pytest.raises(DAGError, match="^self-loop on node 1$"):
        DAG.from_edges(2, [(0, 1), (1, 1)])
    with pytest.raises(DAGError, match="^duplicate edge 0 -> 1$"):
        DAG.from_edges(2, [(0, 1), (0, 1)])


def test_bad_csr_and_ops():
    with pytest.raises(DAGError, match="indptr must start at 0"):
        DAG([0, 2, 1], [0])
    with pytest.raises(DAGError, match="edge from node 4, which is not a node"):
        DAG([0, 0, 1], [4])
    with pytest.raises(DAGError, match="edge endpoint 9 is not a node"):
        DAG.from_edges(2, [(0, 9)])
    with pytest.raises(DAGError, match="unknown operation 'pow'"):
        DAG.from_edges(2, [(0, 1)], ops=["input", "pow"])
    with pytest.raises(DAGError, match="node 1 has predecessors but operation 'input'"):
        DAG.from_edges(2, [(0, 1)], ops=["input", "input"])
    with pytest.raises(DAGError, match="node 0 has no predecessors but operation 'add'"):
        DAG.from_edges(2, [(0, 1)], ops=["add", "add"])
    with pytest.raises(DAGError, match="operation 'sub' needs 2 operand"):
        DAG.from_edges(2, [(0, 1)], ops=["input", "sub"])
    with pytest.raises(DAGError, match="ops has 1 entries for 2 nodes"):
        DAG.from_edges(2, [(0, 1)], ops=np.array([0], np.uint8))


def test_min_memory():
    g = pyramid_dag(3)
    assert g.min_memory() == 3 and g.min_memory(sliding=True) == 2
    # the wide node is not needed for the output, so it does not count
    wide = DAG.from_edges(6, [(0, 4), (1, 4), (2, 4), (3, 4), (0, 5)], outputs=[5])
    assert wide.min_memory() == 2
    assert DAG.from_edges(2, []).min_memory() == 1  # nothing to compute
    assert path_dag(4).min_memory() == 2


def test_needed_nodes():
    g = DAG.from_edges(5, [(0, 2), (1, 2), (1, 3), (3, 4)], outputs=[2])
    assert g.needed.tolist() == [True, True, True, False, False]


def test_networkx_roundtrip():
    g = pyramid_dag(3)
    h = g.to_networkx()
    assert h.number_of_nodes() == 10 and h.number_of_edges() == 12
    assert h.nodes[9]["label"] == "p3[0]" and h.nodes[9]["output"] and h.nodes[0]["op"] == "input"
    back = DAG.from_networkx(h)
    assert back.num_nodes == g.num_nodes and np.array_equal(back.indptr, g.indptr)
    assert np.array_equal(back.indices, g.indices) and back.label(9) == "p3[0]"
    assert back.outputs.tolist() == [9]


def test_from_networkx_arbitrary_names():
    h = nx.DiGraph()
    h.add_edges_from([("a", "c"), ("b", "c"), ("c", "d")])
    g = DAG.from_networkx(h, outputs=["c", "d"])
    assert g.label(g.node("c")) == "c" and [g.label(v) for v in g.outputs] == ["c", "d"]
    h.add_edge("d", "a")
    with pytest.raises(DAGError, match="cycle"):
        DAG.from_networkx(h)


@pytest.mark.parametrize("h", [0, 1, 2, 5])
def test_builtin_families_sizes(h):
    p = pyramid_dag(h)
    assert (p.num_nodes, p.num_edges) == ((h + 1) * (h + 2) // 2, h * (h + 1))
    t = binary_tree_dag(h)
    assert (t.num_nodes, t.num_edges, t.sources.size) == (2 ** (h + 1) - 1, 2 ** (h + 1) - 2, 2 ** h)
    assert path_dag(h + 1).num_edges == h
