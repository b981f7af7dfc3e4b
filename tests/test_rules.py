"""Hand-checked cases: every rule, every way to break it, the exact report text.

Each case runs through the compiled verifier, the reference verifier and the
interactive game, which must agree on the verdict and the words.
"""

import pytest

from dags import DAG, Labels, pyramid_dag
from pebble import Game, IllegalMove, Schedule, reference_verify, verify


def join():
    """a, b -> c (c = a + b), labelled x[0], x[1], y."""
    return DAG.from_edges(3, [(0, 2), (1, 2)], labels=Labels([("x", 0, (2,)), ("y", 2, ())]), name="join")


def chain():
    """x[0] -> x[1] -> x[2]."""
    return DAG.from_edges(3, [(0, 1), (1, 2)], labels=Labels([("x", 0, (3,))]), name="chain")


GOOD = ["load x[0]", "load x[1]", "compute y", "store y"]


def run_all(dag, moves, M, **kw):
    """Reports of both verifiers (asserted equal) and the game's first refusal."""
    s = Schedule.from_moves(moves, dag)
    fast = verify(dag, s, M, **kw)
    ref = reference_verify(dag, s, M, **kw)
    assert fast == ref
    game = Game(dag, M, **kw)
    refused = None
    for m in moves:
        try:
            game.apply(m)
        except IllegalMove as exc:
            refused = exc.violation
            break
    if fast.violation is not None and fast.violation.move is not None:
        assert refused == fast.violation
    else:
        assert refused is None
    return fast


def test_valid_schedule_counts():
    r = run_all(join(), GOOD, 3)
    assert r.valid and r.violation is None
    assert (r.moves, r.loads, r.stores, r.computes, r.deletes, r.io, r.peak_red) == (4, 2, 1, 1, 0, 3, 3)
    assert r.cost == 3


@pytest.mark.parametrize("moves, M, index, rule, message", [
    # R1 load
    (["load y"], 3, 0, "R1 load", "move 0: load y: y has no blue pebble"),
    (["load x[0]", "load x[0]"], 3, 1, "redundant", "move 1: load x[0]: x[0] already has a red pebble (a redundant load)"),
    (["load x[0]", "load x[1]"], 1, 1, "capacity", "move 1: load x[1]: fast memory is full (M = 1 red pebbles)"),
    # R2 store
    (["store y"], 3, 0, "R2 store", "move 0: store y: y has no red pebble"),
    (["store x[0]"], 3, 0, "R2 store", "move 0: store x[0]: x[0] has no red pebble"),
    (["load x[0]", "store x[0]"], 3, 1, "redundant", "move 1: store x[0]: x[0] already has a blue pebble (a redundant store)"),
    # R3 compute
    (["compute x[0]"], 3, 0, "R3 compute", "move 0: compute x[0]: x[0] is a source; inputs are loaded, never computed"),
    (["load x[0]", "compute y"], 3, 1, "R3 compute", "move 1: compute y: predecessor x[1] has no red pebble"),
    (["load x[1]", "compute y"], 3, 1, "R3 compute", "move 1: compute y: predecessor x[0] has no red pebble"),
    (["load x[0]", "load x[1]", "compute y"], 2, 2, "capacity", "move 2: compute y: fast memory is full (M = 2 red pebbles)"),
    (["load x[0]", "load x[1]", "compute y", "compute y"], 3, 3, "redundant",
     "move 3: compute y: y already has a red pebble (a redundant compute)"),
    # R4 delete
    (["delete x[0]"], 3, 0, "redundant", "move 0: delete x[0]: x[0] has no red pebble to delete (a redundant delete)"),
    # the goal
    (["load x[0]", "load x[1]", "compute y"], 3, 3, "goal", "end of schedule (3 moves): output y has no blue pebble at the end"),
    ([], 3, 0, "goal", "end of schedule (0 moves): output y has no blue pebble at the end"),
])
def test_each_rule_broken(moves, M, index, rule, message):
    r = run_all(join(), moves, M)
    assert not r.valid
    v = r.violation
    assert (v.index, v.rule, v.message) == (index, rule, message)
    assert r.moves == index  # counts stop before the failing move


def test_counts_before_violation():
    r = run_all(join(), ["load x[0]", "load x[1]", "compute y", "delete x[0]", "load y"], 3)
    assert (r.loads, r.computes, r.deletes, r.stores, r.peak_red) == (2, 1, 1, 0, 3)
    assert r.violation.message == "move 4: load y: y has no blue pebble"


def test_node_out_of_range_in_raw_codes():
    r = verify(join(), [7 << 2], 3)
    assert r.violation.rule == "node"
    assert r.violation.message == "move 0: load 7: node id 7 is not a node (the DAG has 3 nodes)"
    assert reference_verify(join(), [7 << 2], 3) == r


def test_several_outputs_missing_are_counted():
    g = DAG.from_edges(4, [(0, 1), (0, 2), (0, 3)], labels=Labels([("s", 0, ()), ("o", 1, (3,))]))
    r = run_all(g, ["load s", "compute o[1]", "store o[1]"], 3)
    assert r.violation.message == "end of schedule (3 moves): output o[0] has no blue pebble at the end (nor have 1 more outputs)"


def test_recomputation_allowed_in_base_game():
    moves = ["load x[0]", "compute x[1]", "delete x[1]", "compute x[1]", "compute x[2]", "store x[2]"]
    r = run_all(chain(), moves, 3)
    assert r.valid and r.computes == 3 and r.io == 2


def test_one_shot_forbids_recomputation():
    moves = ["load x[0]", "compute x[1]", "delete x[1]", "compute x[1]", "compute x[2]", "store x[2]"]
    r = run_all(chain(), moves, 3, variant="one-shot")
    assert r.violation.rule == "one-shot"
    assert r.violation.message == "move 3: compute x[1]: x[1] was computed before; the one-shot game forbids recomputation"
    ok = ["load x[0]", "compute x[1]", "compute x[2]", "store x[2]"]
    assert run_all(chain(), ok, 3, variant="one-shot").valid


def test_nodel_needs_blue_before_delete():
    moves = ["load x[0]", "compute x[1]", "delete x[0]", "delete x[1]"]
    r = run_all(chain(), moves, 2, variant="nodel")
    assert r.violation.rule == "nodel"
    assert r.violation.message == ("move 3: delete x[1]: x[1] has no blue pebble; the nodel game removes a red pebble "
                                   "only from a node with a blue pebble")
    ok = ["load x[0]", "compute x[1]", "delete x[0]", "store x[1]", "delete x[1]", "load x[1]", "compute x[2]",
          "store x[2]"]
    assert run_all(chain(), ok, 2, variant="nodel").valid
    assert run_all(chain(), moves + ["store x[2]"], 2).violation.rule == "R2 store"  # base: delete is free


def test_compcost_adds_eps_per_compute():
    moves = ["load x[0]", "compute x[1]", "delete x[1]", "compute x[1]", "compute x[2]", "store x[2]"]
    r = run_all(chain(), moves, 3, variant="compcost", compute_cost=0.25)
    assert r.valid and r.io == 2 and r.cost == pytest.approx(2.75)
    assert run_all(chain(), moves, 3, variant="compcost").cost == pytest.approx(2.003)
    assert run_all(chain(), moves, 3).cost == 2


def test_variants_combine():
    r = run_all(chain(), ["load x[0]", "compute x[1]", "delete x[0]", "delete x[1]"], 3, variant="one-shot+nodel")
    assert r.rules.one_shot and r.rules.nodel and r.violation.rule == "nodel"
    assert r.variant == "one-shot+nodel"


def test_sliding_moves_a_pebble_onto_the_result():
    # M = 2 = in-degree: only legal with sliding, and only if an operand is deleted right after.
    moves = ["load x[0]", "load x[1]", "compute y", "delete x[0]", "store y"]
    assert run_all(join(), moves, 2).violation.rule == "capacity"
    r = run_all(join(), moves, 2, sliding=True)
    assert r.valid and r.peak_red == 2 and r.io == 3


def test_sliding_requires_the_delete_next():
    r = run_all(join(), ["load x[0]", "load x[1]", "compute y", "store y"], 2, sliding=True)
    assert r.violation.rule == "sliding"
    assert r.violation.message == ("move 3: store y: compute y found fast memory full, so this move must delete a red "
                                   "predecessor of y (sliding)")
    r = run_all(join(), ["load x[0]", "load x[1]", "compute y"], 2, sliding=True)
    assert r.violation.message == ("end of schedule (3 moves): the schedule ends right after compute y found fast "
                                   "memory full; a red predecessor of y must be deleted next (sliding)")


def test_sliding_not_needed_when_memory_has_room():
    r = run_all(join(), GOOD, 3, sliding=True)
    assert r.valid and r.peak_red == 3


def test_sliding_cannot_be_used_on_a_non_operand():
    g = DAG.from_edges(4, [(0, 2), (1, 2)], labels=Labels([("x", 0, (2,)), ("y", 2, ()), ("z", 3, ())]),
                       outputs=[2])
    r = run_all(g, ["load z", "load x[0]", "load x[1]", "compute y", "delete z", "store y"], 3, sliding=True)
    assert r.violation.rule == "sliding" and r.violation.index == 4


def test_explicit_output_set():
    g = chain()
    moves = ["load x[0]", "compute x[1]", "store x[1]"]
    assert not run_all(g, moves, 2).valid
    r = run_all(g, moves, 2, outputs=["x[1]"])
    assert r.valid
    r = run_all(g, moves, 2, outputs=["x[1]", "x[2]"])
    assert r.violation.message.endswith("output x[2] has no blue pebble at the end")


def test_lenient_accepts_and_counts_redundant_moves():
    moves = ["load x[0]", "load x[0]", "load x[1]", "compute y", "compute y", "store y", "store y", "delete y",
             "delete y"]
    assert run_all(join(), moves, 3).violation.rule == "redundant"
    r = run_all(join(), moves, 3, strict=False)
    assert r.valid and (r.loads, r.computes, r.stores, r.deletes, r.io) == (3, 2, 2, 2, 5)


def test_recompute_keeps_blue_pebble():
    moves = ["load x[0]", "load x[1]", "compute y", "store y", "delete y", "compute y"]
    r = run_all(join(), moves, 3)
    assert r.valid and r.stores == 1


def test_peak_red():
    g = pyramid_dag(2)
    moves = ["load p0[0]", "load p0[1]", "load p0[2]", "compute p1[0]", "delete p0[0]", "compute p1[1]",
             "delete p0[1]", "delete p0[2]", "compute p2[0]", "store p2[0]"]
    r = run_all(g, moves, 4)
    assert r.valid and r.peak_red == 4 and r.io == 4


@pytest.mark.parametrize("M, err", [(0, "got 0"), (-3, "got -3"), (2.5, "got 2.5"), ("x", "got 'x'"), (True, "got True")])
def test_bad_memory(M, err):
    with pytest.raises(ValueError, match=f"argument 'M' must be a positive integer, {err}"):
        verify(join(), GOOD, M)


def test_bad_variant():
    with pytest.raises(ValueError, match="unknown variant 'two-shot'; accepted: base, one-shot, nodel, compcost"):
        verify(join(), GOOD, 3, variant="two-shot")


def test_game_inspection_and_undo():
    game = Game(join(), 3)
    assert game.blue == {"x[0]", "x[1]"} and game.red == set()
    game.load("x[0]")
    game.load(1)
    game.compute("y")
    assert game.red == {"x[0]", "x[1]", "y"} and game.red_ids == {0, 1, 2}
    assert "store y" in game.legal_moves() and "load y" not in game.legal_moves()
    assert not game.done
    game.store("y")
    assert game.done and game.io == 3 and game.report().valid
    assert game.undo() == "store y"
    assert not game.done and game.io == 2 and game.blue == {"x[0]", "x[1]"}
    game.undo()
    game.undo()
    assert game.red == {"x[0]"} and len(game) == 1
    with pytest.raises(IllegalMove, match="move 1: compute y: predecessor x\\[1\\] has no red pebble"):
        game.compute("y")
    assert game.red == {"x[0]"} and len(game) == 1  # a refused move changes nothing


def test_game_undo_restores_one_shot_and_sliding_state():
    game = Game(join(), 2, sliding=True)
    game.load("x[0]")
    game.load("x[1]")
    game.compute("y")
    with pytest.raises(IllegalMove, match="sliding"):
        game.store("y")
    game.undo()
    assert game.state.pending == -1 and game.red == {"x[0]", "x[1]"}
    g1 = Game(chain(), 3, variant="one-shot")
    g1.load("x[0]")
    g1.compute("x[1]")
    g1.undo()
    g1.compute("x[1]")  # undone computes may be played again
    with pytest.raises(IndexError):
        Game(chain(), 3).undo()


def test_game_rejects_unknown_nodes_and_moves():
    game = Game(join(), 3)
    with pytest.raises(ValueError, match="unknown node 'q'"):
        game.load("q")
    with pytest.raises(ValueError, match="unknown move 'fetch'"):
        game.apply("fetch x[0]")
