"""The solver: results, stages, budgets, errors, properties, interruption, the plain model, symmetry, the table.

Every solve here runs on deterministic budgets (one worker, a seed, CP-SAT's
deterministic time, state caps), with a wall-clock limit far above them.
"""

import os
import signal
import threading
import time

import pytest

import dags
from pebble import Schedule, verify
from pebble.moves import STORE
from pebble.rules import Rules
from pebble.solver import METHODS, SolverError, search
from pebble.solver import solve as _solve
from pebble.solver.budget import Budget, parse_bytes, rss
from pebble.solver.cpsat_model import PebblingModel, model_size
from pebble.solver.plain_model import plain_solve
from pebble.solver.portfolio import STAGES, Policy, trivial_bound
from pebble.solver.symmetry import canonical_schedule, stabiliser_chain
from pebble.solver.transition_search import generalise, reach
from pebble.strategies import heuristic_schedule
from proofs.optima import certify, read_optima
from proofs.optima import main as table_main

# Deterministic budgets: what stops a solve here is never the clock.
POLICY = Policy(ideals_max_states=200_000, steps_max_states=400_000, symmetry_seconds=60.0)
BUDGET = dict(workers=1, seed=0, deterministic_time=20.0, time_limit=600.0, policy=POLICY)


def solve(dag, M, **options):
    return _solve(dag, M, **{**BUDGET, **options})


def test_result_fields_and_verified_schedule():
    g = dags.build("pyramid:h=4")
    r = solve(g, 4, searches=False)
    assert (r.status, r.io, r.lower_bound) == ("optimal", 10, 10)
    assert r.report.valid and r.report.io == 10 == verify(g, r.schedule, 4).io
    assert r.M == 4 and r.variant == "base" and r.method == "cp-sat" and r.proved_by == "cp-sat" and r.seconds > 0
    assert "ideals" not in r.stats["stages"] and "steps" not in r.stats["stages"]
    s = solve(g, 4)  # the step search proves it first
    assert (s.status, s.io, s.method, s.proved_by, s.stats["stages"]["steps"]) == ("optimal", 10, "solve", "steps",
                                                                                   "optimal")
    d = r.to_dict()
    assert {"status", "io", "lower_bound", "proved_by"} <= set(d) and d["status"] == "optimal"


def test_one_shot_never_recomputes_and_nodel_stores_what_it_deletes():
    g = dags.build("tree:h=3")
    one = solve(g, 3, variant="one-shot")
    computes = [v for kind, v in one.schedule if kind == "compute"]
    assert len(computes) == len(set(computes)) == 7
    nodel = solve(g, 3, variant="nodel")
    assert nodel.io == 17 and verify(g, nodel.schedule, 3, variant="nodel").valid


def test_recomputation_found_and_proven():
    g = dags.DAG.from_edges(10, [(0, 1), (1, 2), (0, 3), (1, 4), (3, 5), (3, 6), (2, 8), (3, 8), (7, 8),
                                 (4, 9), (5, 9), (8, 9)])
    for searches in (True, False):
        base = solve(g, 4, searches=searches)
        assert (base.status, base.io, base.proved_by) == ("optimal", 5, "steps" if searches else "cp-sat")
        assert solve(g, 4, variant="one-shot", searches=searches).io == 6


def test_nothing_to_compute():
    g = dags.DAG.from_edges(2, [], name="two inputs")
    r = solve(g, 1)
    assert (r.status, r.io, len(r.schedule)) == ("optimal", 0, 0)


@pytest.mark.parametrize("spec, variants", [("pyramid:h=4", ("base", "one-shot")), ("tree:h=3", ("base",)),
                                            ("matvec:n=2", ("one-shot",))])
def test_optimum_never_increases_with_memory(spec, variants):
    g = dags.build(spec)
    for variant in variants:
        values = [solve(g, M, variant=variant).io for M in range(g.min_memory(), g.min_memory() + 4)]
        assert values == sorted(values, reverse=True), values


@pytest.mark.slow
def test_lower_bound_never_exceeds_any_schedule():
    g = dags.build("pyramid:h=6")
    r = solve(g, 4, deterministic_time=0.5, policy=Policy(ideals_max_states=2_000, steps_max_states=2_000))
    assert r.status == "feasible" and r.proved_by is None
    assert r.schedule is not None and r.report.valid
    assert r.lower_bound <= r.io <= verify(g, heuristic_schedule(g, 4), 4).io


def test_progress_reports_improvements():
    seen = []
    r = solve(dags.build("pyramid:h=5"), 5, variant="one-shot", progress=lambda io, lb, s: seen.append((io, lb, s)))
    assert seen and seen[-1][0] == r.io and seen[-1][1] == r.lower_bound
    bounds = [lb for _, lb, _ in seen]
    assert bounds == sorted(bounds)
    ios = [io for io, _, _ in seen if io is not None]
    assert ios == sorted(ios, reverse=True)


def test_hint_is_used_and_checked():
    g = dags.build("pyramid:h=3")
    good = heuristic_schedule(g, 4)
    assert solve(g, 4, hint=good).io == 7
    assert solve(g, 4, hint=False).io == 7
    with pytest.raises(SolverError, match="argument 'hint'.*move 0"):
        solve(g, 4, hint=Schedule.from_moves(["compute p1[0]"], g))


@pytest.mark.parametrize("kwargs, message", [
    (dict(M=2), r"M = 2 is below the smallest feasible M = 3 for pyramid\(3\)"),
    (dict(M=0), "argument 'M' must be a positive integer"),
    (dict(M=3, variant="compcost"), "argument 'variant'"),
    (dict(M=3, variant="bogus"), "unknown variant 'bogus'"),
    (dict(M=3, time_limit=0), "argument 'time_limit'"),
    (dict(M=3, workers=0), "argument 'workers'"),
    (dict(M=3, memory_limit=0), "argument 'memory_limit'"),
    (dict(M=3, deterministic_time=-1.0), "argument 'deterministic_time'"),
])
def test_bad_arguments_fail_at_once(kwargs, message):
    started = []
    with pytest.raises(ValueError, match=message):  # before any stage starts
        solve(dags.build("pyramid:h=3"), **{**kwargs, "notes": started.append})
    assert started == []


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to itself")
def test_ctrl_c_returns_the_best_so_far():
    g = dags.build("pyramid:h=7")
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))

    def progress(io, lower, seconds):  # interrupt once the search is under way
        if not timer.is_alive() and not timer.finished.is_set():
            timer.start()

    try:
        r = solve(g, 4, deterministic_time=None, time_limit=120, progress=progress)
    finally:
        timer.cancel()
    assert r.stats["interrupted"] and r.schedule is not None and r.report.valid
    assert r.lower_bound <= r.io


def test_plain_model_agrees_on_tiny_instances():
    for spec, M, variant in [("pyramid:h=2", 3, "base"), ("tree:h=2", 3, "one-shot"), ("path:n=4", 2, "base")]:
        g = dags.build(spec)
        plain = plain_solve(g, M, variant=variant, time_limit=600, workers=1)
        assert plain.status == "optimal" and plain.report.valid
        assert plain.io == solve(g, M, variant=variant).io == search(g, M, variant=variant).io


def test_symmetry_chain_and_canonical_schedules():
    g = dags.build("tree:h=3")
    chain = stabiliser_chain(g)
    assert [(v, orbit) for v, orbit, _ in chain] == [(8, [9, 10, 11]), (10, [11])]
    for v, orbit, maps in chain:
        for w in orbit:  # each map is an automorphism taking v to w
            m = maps[w]
            assert m[v] == w
            edges = {(int(u), x) for x in range(g.num_nodes) for u in g.predecessors(x)}
            assert {(m[u], m[x]) for u, x in edges} == edges
    # A schedule that computes the last leaf pair first is mapped to one that satisfies the chain.
    order = [11, 10, 13, 9, 8, 12, 14]
    s = heuristic_schedule(g, 4, order=order)
    c = canonical_schedule(s, chain)
    assert verify(g, c, 4).io == verify(g, s, 4).io
    first = [v for kind, v in c if kind == "compute"]
    for v, orbit, _ in chain:
        assert first.index(v) < min(first.index(w) for w in orbit)


def test_table_rows():
    rows = read_optima()  # checks the header, every cell and duplicates
    assert rows, "the certified table is empty"
    for row in rows:
        assert row.variant in ("base", "one-shot")
        assert set(row.methods.split("+")) <= {"cp-sat", "ideals", "steps", "search"}
        assert bool(row.solver) == ("cp-sat" in row.methods)
        assert row.M >= dags.build(row.spec).min_memory()


def test_certify_proves_base_rows_twice_and_more():
    row = certify("pyramid:h=3", dags.build("pyramid:h=3"), 4, "base", time_limit=600)
    assert (row["optimum"], row["methods"]) == (7, "cp-sat+steps+search") and row["solver"].startswith("ortools-")
    row = certify("pyramid:h=3", dags.build("pyramid:h=3"), 4, "one-shot", time_limit=600)
    assert (row["optimum"], row["methods"], row["solver"]) == (7, "ideals+search", "")


def _sample(rows, count):
    """Rows spread over the table, among the quick CP-SAT proofs."""
    fast = sorted((r for r in rows if "cp-sat" in r.methods and r.seconds <= 2),
                  key=lambda r: (r.spec, r.M, r.variant))
    step = max(1, len(fast) // count)
    return fast[::step][:count]


@pytest.mark.slow
@pytest.mark.parametrize("row", _sample(read_optima(), 12), ids=lambda r: f"{r.spec}-M{r.M}-{r.variant}")
def test_solver_reproduces_the_table(row):
    r = solve(dags.build(row.spec), row.M, variant=row.variant, searches=False)
    assert (r.status, r.io, r.method) == ("optimal", row.optimum, "cp-sat")


def _replay(preds, start, moves, M):
    """The red set after ``moves`` from ``start``, checking operands and capacity."""
    red = set(start)
    for code in moves:
        kind, v = code & 3, code >> 2
        if kind == 3:
            red.discard(v)
            continue
        if kind == 2:
            assert set(preds[v]) <= red
        red.add(v)
        assert len(red) <= M
    return red


def test_transition_search_counts_reloads():
    # Sources a, b, c (0, 1, 2); p = f(a, b) (3); q = f(p, c) (4). With M = 3, making both q and a
    # red needs a loaded twice: held through q's compute it would be a fourth value.
    preds = {0: [], 1: [], 2: [], 3: [0, 1], 4: [3, 2]}
    args = (preds, set(), {0, 1, 2}, {3, 4}, {0, 4}, 3)
    assert reach(*args, reloads=0) == (False, None)
    found, moves = reach(*args, reloads=1)
    assert found and [c >> 2 for c in moves if c & 3 == 0].count(0) == 2
    assert {0, 4} <= _replay(preds, set(), moves, 3)
    assert reach(*args)[0] is True
    assert reach(*args[:5], 4, reloads=0)[0] is True  # with room for a throughout
    start, loads, computable, target = generalise(*args, set(preds), reloads=0)
    assert target == {0, 4} and loads >= {0, 1, 2} and computable >= {3, 4}
    assert reach(preds, start, loads, computable, target, 3, reloads=0)[0] is False


def test_transition_search_finds_impossible_targets():
    g = dags.build("pyramid:h=2")  # p0[0..2] = 0..2, p1[0] = 3, p1[1] = 4, p2[0] = 5
    preds = {v: [int(u) for u in g.predecessors(v)] for v in range(6)}
    # p1[0] is red; making p1[1] too needs p0[1], p0[2], p1[1] and p1[0]: 4 values.
    assert reach(preds, {3}, {0, 1, 2}, {3, 4}, {3, 4}, 3)[0] is False
    found, moves = reach(preds, {3}, {0, 1, 2}, {3, 4}, {3, 4}, 4)
    assert found and {3, 4} <= _replay(preds, {3}, moves, 4)


def test_transition_search_stops_at_its_deadline():
    g = dags.build("pyramid:h=4")
    preds = {v: [int(u) for u in g.predecessors(v)] for v in range(g.num_nodes)}
    everything = set(range(g.num_nodes))
    sources = {int(v) for v in g.sources}
    args = (preds, set(), sources, everything - sources, {g.num_nodes - 1}, 6)
    assert reach(*args, deadline=time.perf_counter() - 1) == (None, None)  # undecided, not "impossible"
    assert reach(*args)[0] is True
    # generalise treats an undecided check as possible: the sets stay as given.
    impossible = (preds, set(), sources, everything - sources, {g.num_nodes - 1}, 5)
    assert generalise(*impossible, everything, deadline=time.perf_counter() - 1)[3] == {g.num_nodes - 1}


def _benchmark_results(tmp_path, spec, M, variant, *, io=None, schedule=None):
    """A results file of benchmarks/exact.py with one CP-SAT optimum and its saved schedule."""
    import json

    from pebble.schedule_io import write_schedule

    dag = dags.build(spec)
    r = solve(dag, M, variant=variant)
    assert r.status == "optimal"
    (tmp_path / "optima").mkdir(exist_ok=True)
    write_schedule(tmp_path / "optima" / "s.sched", r.schedule if schedule is None else schedule, dag)
    row = {"instance": spec, "nodes": dag.num_nodes, "M": M, "variant": variant, "method": "cp-sat",
           "status": "optimal", "io": r.io if io is None else io, "lower_bound": r.io if io is None else io,
           "seconds": 0.5, "time_limit": 60.0, "workers": 2, "load_average": 0.0,
           "solver": "ortools 9", "schedule": "optima/s.sched", "proved_by": r.proved_by}
    results = tmp_path / "exact.jsonl"
    results.write_text(json.dumps({"instance": spec, "method": "plain", "status": "feasible"}) + "\n"
                       + json.dumps(row) + "\n")
    return results, r


def test_benchmark_optima_are_verified_again_and_added_to_the_table(tmp_path, capsys):
    table = tmp_path / "optima.csv"
    table.write_text("spec,M,variant,optimum,methods,solver,seconds\npath:n=4,2,base,2,cp-sat,ortools-9,0.01\n")
    results, r = _benchmark_results(tmp_path, "pyramid:h=3", 4, "one-shot")
    assert table_main(["--add-proven", str(results), "-o", str(table)]) == 0
    rows = {(o.spec, o.M, o.variant): o for o in read_optima(table)}
    assert rows[("pyramid:h=3", 4, "one-shot")].optimum == r.io == 7
    assert rows[("pyramid:h=3", 4, "one-shot")].methods == r.proved_by == "ideals"  # what proved it inside solve
    assert rows[("pyramid:h=3", 4, "one-shot")].solver == ""  # no OR-tools in that proof
    assert ("path:n=4", 2, "base") in rows  # the rows already there are kept
    assert table_main(["--add-proven", str(results), "-o", str(table)]) == 0  # adding again changes nothing
    assert len(read_optima(table)) == 2


def test_benchmark_optima_that_do_not_verify_are_refused(tmp_path, capsys):
    table = tmp_path / "optima.csv"
    table.write_text("spec,M,variant,optimum,methods,solver,seconds\n")
    # A schedule of I/O 7 recorded as an optimum of 6: refused, the results line named.
    results, r = _benchmark_results(tmp_path, "pyramid:h=3", 4, "one-shot", io=6)
    assert table_main(["--add-proven", str(results), "-o", str(table)]) == 2
    err = capsys.readouterr().err
    assert f"{results}:2:" in err and "does not realise the recorded optimum 6" in err
    # A schedule that does not store the output is not valid.
    codes = [int(c) for c in r.schedule.codes]
    store = max(i for i, c in enumerate(codes) if c & 3 == STORE)
    assert dags.build("pyramid:h=3").outputs.tolist() == [codes[store] >> 2]
    results, r = _benchmark_results(tmp_path, "pyramid:h=3", 4, "one-shot",
                                    schedule=Schedule(codes[:store] + codes[store + 1:]))
    assert table_main(["--add-proven", str(results), "-o", str(table)]) == 2
    assert "valid False" in capsys.readouterr().err
    # A saved schedule that is not a schedule, and a row without its schedule.
    (tmp_path / "optima" / "s.sched").write_text("load\n")
    assert table_main(["--add-proven", str(results), "-o", str(table)]) == 2
    err = capsys.readouterr().err
    assert f"{results}:2:" in err and "s.sched line 1: 'load' needs a node" in err
    results.write_text(results.read_text().replace('"schedule": "optima/s.sched", ', ""))
    assert table_main(["--add-proven", str(results), "-o", str(table)]) == 2
    assert f"{results}:2: the row has no 'schedule'" in capsys.readouterr().err
    # A table that disagrees with the benchmark.
    table.write_text("spec,M,variant,optimum,methods,solver,seconds\npyramid:h=3,4,one-shot,8,cp-sat,ortools-9,0.01\n")
    results, r = _benchmark_results(tmp_path, "pyramid:h=3", 4, "one-shot")
    assert table_main(["--add-proven", str(results), "-o", str(table)]) == 2
    assert "the table has optimum 8, the benchmark proved 7" in capsys.readouterr().err


# The stages each variant runs, as the table of pebble.solver.portfolio says, on instances each stage settles.
@pytest.mark.parametrize("spec, M, variant, policy, stages, proved_by", [
    ("pyramid:h=4", 4, "one-shot", POLICY, ["start", "ideals"], "ideals"),
    ("pyramid:h=4", 4, "base", POLICY, ["start", "ideals", "steps"], "steps"),  # ideals: the one-shot optimum
    ("pyramid:h=4", 4, "base", Policy(ideals_max_states=5, symmetry_seconds=60.0),
     ["start", "ideals", "no-recompute", "steps"], "steps"),
    ("pyramid:h=4", 4, "base", Policy(ideals_max_states=5, steps_max_states=50, symmetry_seconds=60.0),
     ["start", "ideals", "no-recompute", "steps", "model"], "cp-sat"),
    ("tree:h=3", 3, "nodel", POLICY, ["start", "no-recompute", "model"], "cp-sat"),
    ("tree:h=3", 3, "one-shot+nodel", POLICY, ["start", "model"], "cp-sat"),
    ("tree:h=3", 3, "one-shot", Policy(ideals_max_states=5, symmetry_seconds=60.0), ["start", "ideals", "model"],
     "cp-sat"),
])
def test_each_variant_runs_the_stages_of_the_table(spec, M, variant, policy, stages, proved_by):
    g = dags.build(spec)
    started = []
    r = solve(g, M, variant=variant, policy=policy, notes=started.append)
    assert list(r.stats["stages"]) == stages
    assert [n.split(":")[0] for n in started] == stages  # a line as each stage starts
    assert (r.status, r.proved_by) == ("optimal", proved_by) and r.report.valid
    assert r.io == search(g, M, variant=variant).io
    assert [name for name, _, _ in STAGES] == ["ideals", "no-recompute", "steps", "model", "fallback"]


def test_trivial_bound_proves_what_meets_it():
    g = dags.build("path:n=4")  # one load, one store
    r = solve(g, 2)
    assert (r.status, r.io, r.proved_by, list(r.stats["stages"])) == ("optimal", 2, "trivial", ["start"])
    assert trivial_bound(dags.build("pyramid:h=3")) == 4 + 1


def test_a_model_too_large_for_the_memory_budget_falls_back_at_once():
    g = dags.build("pyramid:h=12")
    _, terms = model_size(g, Rules.make(3, "one-shot"))
    limit = rss() + terms * 150 // 2  # half what the smallest model needs
    notes = []
    r = solve(g, 3, searches=False, memory_limit=limit, notes=notes.append)
    assert r.status == "feasible" and r.proved_by is None and r.report.valid
    assert r.io == verify(g, heuristic_schedule(g, 3), 3).io and r.lower_bound == trivial_bound(g)
    assert r.stats["stages"] == {"start": "done", "no-recompute": "too large", "model": "too large",
                                 "fallback": "done"}
    assert "variables" not in r.stats  # no model was built
    assert any("does not fit" in n for n in notes)


def test_searches_are_capped_to_the_memory_budget():
    g = dags.build("pyramid:h=8")
    r = solve(g, 3, variant="one-shot", memory_limit=rss() + 400 * 1000, searches=True)
    assert r.stats["ideals_states"] <= 1000 + 64 and r.stats["stages"]["ideals"] == "unknown"
    assert r.lower_bound <= r.io and r.report.valid


def test_model_building_stops_when_its_budget_is_spent():
    g = dags.build("pyramid:h=6")
    rules = Rules.make(3, "base")
    spent = Budget(time.perf_counter() - 1.0, 1 << 40)  # a deadline already past: a deterministic stop
    pm = PebblingModel(g, rules, budget=spent)
    assert not pm.complete and spent.reason == "time"
    full = Budget(time.perf_counter() + 600, 1)  # a memory limit the process is already over
    assert not PebblingModel(g, rules, budget=full).complete and full.reason == "memory"
    assert PebblingModel(g, rules, budget=Budget(time.perf_counter() + 600, 1 << 40)).complete
    variables, _ = model_size(g, Rules.make(3, "one-shot"))
    assert variables == len(PebblingModel(g, Rules.make(3, "one-shot")).model.proto.variables)


def test_deterministic_time_stops_the_model_not_the_clock():
    g = dags.build("pyramid:h=6")
    first = solve(g, 4, searches=False, deterministic_time=0.02)
    again = solve(g, 4, searches=False, deterministic_time=0.02)
    assert first.status == "feasible" and first.stats["stages"]["model"] in ("feasible", "unknown")
    assert (first.io, first.lower_bound) == (again.io, again.lower_bound)
    assert first.lower_bound <= first.io


@pytest.mark.parametrize("name, variant", [("solve", "base"), ("cp-sat", "base"), ("ideals", "one-shot"),
                                           ("steps", "base"), ("search", "base"), ("plain", "base")])
def test_every_method_takes_the_same_arguments(name, variant):
    g = dags.build("pyramid:h=2")
    seen = []
    r = METHODS[name](g, 3, variant=variant, time_limit=600.0, max_states=100_000, memory_limit=4 << 30,
                      progress=lambda *a: seen.append(a), workers=1, seed=0)
    assert (r.status, r.io, r.lower_bound) == ("optimal", 6, 6) and r.report.valid
    assert r.proved_by in ({name} | ({"ideals", "steps", "cp-sat", "trivial"} if name == "solve" else set()))
    assert name in ("search", "plain") or seen


def test_memory_sizes_parse():
    assert parse_bytes("4G") == 4 << 30 and parse_bytes("512M") == 512 << 20 and parse_bytes("1000") == 1000
    assert parse_bytes("2GiB") == 2 << 30
    for bad in ("", "x", "-1G", "0"):
        with pytest.raises(ValueError, match="size"):
            parse_bytes(bad)


def test_one_memory_check_for_the_solver_the_strategies_and_the_bounds():
    import pebble.strategies
    from pebble import PebbleError
    from pebble.rules import MemoryTooSmall, check_memory
    from proofs import bounds_for

    assert pebble.strategies.MemoryTooSmall is MemoryTooSmall and issubclass(MemoryTooSmall, (PebbleError, ValueError))
    g = dags.build("pyramid:h=3")
    assert check_memory(g, 3) == 3 and check_memory(g, 2, sliding=True) == 2
    for call, what in [(lambda: _solve(g, 2), ""), (lambda: heuristic_schedule(g, 2), "strategy 'heuristic': "),
                       (lambda: bounds_for(g, 2), "argument 'M': ")]:
        with pytest.raises(MemoryTooSmall, match=f"^{what}M = 2 is below the smallest feasible M = 3") as caught:
            call()
        assert caught.value.smallest == 3
