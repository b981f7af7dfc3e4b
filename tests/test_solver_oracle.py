"""Every exact method held against a shortest path over the game that only pebble.rules plays.

The oracle knows no move of its own: from each state it tries every move
kind on every node, keeps those :func:`pebble.rules.check` accepts and plays
them with :func:`pebble.rules.apply`. A search whose own move generation
forbade a legal move would still return a valid schedule and call it
optimal; here it would return a larger optimum than the oracle's.
"""

import heapq
import itertools
import random

import pytest

import dags
from pebble import rules as R
from pebble import verify
from pebble.moves import COMPUTE, DELETE, LOAD, STORE, Schedule
from pebble.solver import ideal_search, search, solve, step_search

VARIANTS = ("base", "one-shot", "nodel", "one-shot+nodel")
ORACLE_MAX_STATES = 400_000


class OracleLimit(Exception):
    """The oracle saw more states than its cap (the case is too large for it)."""


def _copy(state):
    return R.State(red=set(state.red), blue=set(state.blue), computed=set(state.computed), pending=state.pending)


def _key(state, rules):
    # Every fact check() reads: red, blue, pending, and what was computed only where one-shot reads it.
    computed = frozenset(state.computed) if rules.one_shot else frozenset()
    return frozenset(state.red), frozenset(state.blue), computed, state.pending


def oracle(dag, rules):
    """``(cost, codes)`` of a cheapest valid schedule, by Dijkstra over the states pebble.rules reaches."""
    move_cost = {LOAD: 1, STORE: 1, COMPUTE: rules.compute_cost if rules.compcost else 0, DELETE: 0}
    start = R.State.initial(dag)
    best = {_key(start, rules): 0}
    parent = {_key(start, rules): None}
    tie = itertools.count()
    queue = [(0, next(tie), start)]
    outputs = dag.outputs.tolist()
    while queue:
        cost, _, state = heapq.heappop(queue)
        key = _key(state, rules)
        if cost > best[key]:
            continue
        if R.end_violation(dag, rules, state, [o in state.blue for o in outputs]) is None:
            codes = []
            while parent[key] is not None:
                key, code = parent[key]
                codes.append(code)
            return cost, codes[::-1]
        for kind in (LOAD, STORE, COMPUTE, DELETE):
            for v in range(dag.num_nodes):
                if R.check(dag, rules, state, kind, v) is not None:
                    continue
                nxt = _copy(state)
                R.apply(dag, rules, nxt, kind, v)
                nkey, ncost = _key(nxt, rules), cost + move_cost[kind]
                if ncost < best.get(nkey, ncost + 1):
                    best[nkey], parent[nkey] = ncost, (key, v << 2 | kind)
                    heapq.heappush(queue, (ncost, next(tie), nxt))
        if len(best) > ORACLE_MAX_STATES:
            raise OracleLimit(len(best))
    raise AssertionError("the oracle found no schedule")


def random_dag(rng, n):
    """A random DAG on ``n`` nodes with shuffled ids: 1 to 3 sources, then nodes of mostly two operands
    among the earlier ones (so that M = 3 is tight), outputs sometimes inner nodes."""
    g = dags.random_dag(n, operands=[1, 2, 2, 2, 3], sources=rng.randint(1, min(3, n - 1)), shuffle=True,
                        seed=rng.randrange(2 ** 32))
    inner = [v for v in range(n) if g.in_degree[v] > 0]
    if rng.random() < 0.3:
        g = g.with_outputs(sorted(rng.sample(inner, rng.randint(1, min(3, len(inner))))))
    return g


def instances(count, seed, sizes=(3, 6)):
    """``(index, dag, M)``: ``count`` DAGs, each at its smallest feasible M and one above."""
    rng = random.Random(seed)
    for i in range(count):
        g = random_dag(rng, rng.choice(range(sizes[0], sizes[1] + 1)))
        smallest = g.min_memory()
        for M in (smallest, smallest + 1):
            yield i, g, M


def optimum(dag, M, variant, **kw):
    """The oracle's optimum, after checking that its own schedule passes the verifier at that cost."""
    rules = R.Rules.make(M, variant, **kw)
    cost, codes = oracle(dag, rules)
    report = verify(dag, Schedule(codes), M, variant=variant, **kw)
    assert report.valid, report.violation
    assert report.cost == pytest.approx(cost)
    return cost


# The exact methods and the variants each is exact for.
METHODS = {
    "search": (VARIANTS, lambda g, M, v: search(g, M, variant=v, max_states=2_000_000)),
    "ideal_search": (("one-shot",), lambda g, M, v: ideal_search(g, M, variant=v, max_states=2_000_000)),
    "step_search": (("base",), lambda g, M, v: step_search(g, M, variant=v, max_states=2_000_000)),
}


def mismatches(cases, methods=None, variants=VARIANTS):
    """The ``(case, M, method, variant, status, found, oracle)`` where an exact method misses the oracle's
    optimum."""
    methods = METHODS if methods is None else methods
    wrong = []
    for i, g, M in cases:
        for variant in variants:
            exact = optimum(g, M, variant)
            for name, (takes, run) in methods.items():
                if variant in takes:
                    r = run(g, M, variant)
                    if (r.status, r.io) != ("optimal", exact):
                        wrong.append((i, M, name, variant, r.status, r.io, exact))
    return wrong


def test_hand_checked_oracle():
    # pyramid(2), M = 3: 3 loads and the output's store, plus one middle value out and back (or recomputed).
    assert optimum(dags.build("pyramid:h=2"), 3, "base") == 6
    assert optimum(dags.build("pyramid:h=2"), 4, "base") == 4
    assert optimum(dags.build("path:n=5"), 2, "one-shot") == 2
    assert optimum(dags.build("pyramid:h=3"), 3, "nodel") == 12


@pytest.mark.parametrize("seed", range(4))
def test_exact_searches_match_the_oracle(seed):
    assert mismatches(instances(40, seed=seed)) == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2))
def test_exact_searches_match_the_oracle_on_seven_nodes(seed):
    assert mismatches(instances(40, seed=100 + seed, sizes=(7, 7))) == []


def test_sliding_and_compcost_oracle_schedules_verify():
    # No exact method takes these options; the oracle's schedules must still verify at its cost, and
    # sliding (a compute into a full memory, paid for by the next delete) never costs more.
    for i, g, M in instances(25, seed=99, sizes=(3, 5)):
        for variant in VARIANTS:
            assert optimum(g, M, variant, sliding=True) <= optimum(g, M, variant), (i, M, variant)
        io_part = optimum(g, M, "compcost")
        assert optimum(g, M, "base") <= io_part < optimum(g, M, "base") + 1, (i, M)


def test_oracle_catches_a_forbidden_legal_move(monkeypatch):
    # Forbid the A* search to delete a red pebble that has no blue one (the nodel rule, in the base game).
    # It still returns valid schedules and calls them optimal; the oracle must show some cost more.
    from pebble.solver import config_search

    generate = config_search._ConfigGame.moves

    def no_dirty_deletes(game, red, blue, done):
        for move in generate(game, red, blue, done):
            if not any(c & 3 == DELETE and not blue >> (c >> 2) & 1 for c in move[-1]):
                yield move

    only_search = {"search": METHODS["search"]}
    cases = list(instances(20, seed=1))
    assert mismatches(cases, only_search, ("base",)) == []
    monkeypatch.setattr(config_search._ConfigGame, "moves", no_dirty_deletes)
    wrong = mismatches(cases, only_search, ("base",))
    assert wrong and all(status == "optimal" and found > exact for *_, status, found, exact in wrong)


def test_solve_matches_the_oracle(exact_budget):
    wrong = []
    for i, g, M in instances(25, seed=17):
        for variant in VARIANTS:
            exact = optimum(g, M, variant)
            r = solve(g, M, variant=variant, **exact_budget)
            if (r.status, r.io) != ("optimal", exact):
                wrong.append((i, M, variant, r.status, r.io, exact))
    assert wrong == []


def reachable(dag, start, loadable, computable, target, M):
    """Whether pebble.rules' base game takes fast memory from ``start`` to a red set holding ``target``,
    with blue pebbles on ``loadable`` alone, computing only nodes of ``computable`` and storing nothing."""
    rules = R.Rules.make(M, "base")
    first = R.State(red=set(start), blue=set(loadable))
    seen, todo = {frozenset(first.red)}, [first]
    while todo:
        state = todo.pop()
        if set(target) <= state.red:
            return True
        for kind in (LOAD, COMPUTE, DELETE):
            for v in range(dag.num_nodes):
                if (kind == COMPUTE and v not in computable) or R.check(dag, rules, state, kind, v) is not None:
                    continue
                nxt = _copy(state)
                R.apply(dag, rules, nxt, kind, v)
                if frozenset(nxt.red) not in seen:
                    seen.add(frozenset(nxt.red))
                    todo.append(nxt)
    return False


def test_transition_search_matches_the_oracle():
    from pebble.solver.transition_search import reach

    rng = random.Random(8)
    answers = set()
    for i in range(150):
        g = random_dag(rng, rng.randint(3, 6))
        n, M = g.num_nodes, g.min_memory() + rng.randint(0, 1)
        nodes = list(range(n))
        start = rng.sample(nodes, rng.randint(0, min(M, n)))
        loadable = set(rng.sample(nodes, rng.randint(0, n)))
        computable = {v for v in rng.sample(nodes, rng.randint(0, n)) if g.in_degree[v] > 0}
        target = rng.sample(nodes, rng.randint(1, min(M, n)))
        preds = [g.predecessors(v).tolist() for v in nodes]
        found, codes = reach(preds, start, loadable, computable, target, M)
        expected = reachable(g, start, loadable, computable, target, M)
        assert found == expected, (i, start, loadable, computable, target, M)
        answers.add(found)
        if found:  # the moves play by the rules from the start
            state = R.State(red=set(start), blue=set(loadable))
            for code in codes:
                assert R.check(g, R.Rules.make(M, "base"), state, code & 3, code >> 2) is None, (i, code)
                R.apply(g, R.Rules.make(M, "base"), state, code & 3, code >> 2)
            assert set(target) <= state.red
    assert answers == {True, False}


def compiled_successors(game, red, blue):
    """``{(red, blue): (cost, node computed, evicted, stored)}`` of one expansion of the compiled step
    search from (red, blue): its table after one expansion holds exactly the states reached."""
    import numpy as np
    from numba import types
    from numba.typed import List

    from pebble.solver import steps

    keys, values = np.full((1 << 10, 2), -1, np.int64), np.empty((1 << 10, 7), np.int64)
    queue, sizes = List.empty_list(types.ListType(steps._STACK)), List.empty_list(types.int64)
    i = steps._slot(keys, red, blue)
    keys[i], values[i] = (red, blue), (0, -1, -1, -1, -1, 0, 0)
    steps._push(queue, sizes, 0, 0, red, blue)
    out = np.array([steps._GOING, 0, 0, 0, 0, 0, 1], np.int64)
    keys, values = steps._run(queue, sizes, keys, values, game.of_use_cache, game.preds, game.net, game.ancestors,
                              game.sources, game.outputs, game.computable, game.M, 1 << 40, 1, 1 << 30, out)
    assert out[1] == 1  # one state expanded
    return {(int(k[0]), int(k[1])): (int(v[0]), int(v[4]), int(v[5]), int(v[6]))
            for k, v in zip(keys, values) if k[1] != -1 and (k[0], k[1]) != (red, blue)}


def test_compiled_step_expansion_matches_the_python_steps():
    # The compiled search's steps from random states, state for state and at the same cost, against
    # bitmask.base_steps (the Python statement of the normal-form step, from the DAG's masks).
    from pebble.solver.bitmask import DagMasks, base_steps
    from pebble.solver.steps import _StepGame

    rng = random.Random(21)
    compared = 0
    for i in range(60):
        g = random_dag(rng, rng.randint(4, 8))
        M = g.min_memory() + rng.randint(0, 1)
        game, masks = _StepGame(g, M), DagMasks.of(g)
        for _ in range(5):
            blue = masks.sources | mask_sample(rng, masks.computable)
            keep = game.of_use(blue)
            if not masks.outputs & ~blue:  # a goal: not expanded
                continue
            red = mask_sample(rng, keep, M)
            blue &= keep | masks.outputs
            expected = {}
            for w, e, stored, cost, red2, blue2 in base_steps(masks, M, red, blue):
                if (red2, blue2) not in expected or cost < expected[red2, blue2][0]:
                    expected[red2, blue2] = (cost, w, e, stored)
            found = compiled_successors(game, red, blue)
            assert {s: v[0] for s, v in found.items()} == {s: v[0] for s, v in expected.items()}, (i, red, blue)
            assert found == expected, (i, red, blue)  # the same first step to each state
            compared += len(found)
    assert compared > 500


def mask_sample(rng, pool, most=None):
    """A random subset of the mask ``pool``, of at most ``most`` nodes."""
    from pebble.solver.bitmask import bits

    chosen = [v for v in bits(pool) if rng.random() < 0.5]
    return sum(1 << v for v in chosen[:most])
