"""The Bound type, the games a bound holds in, and the registry."""

import pytest

from dags import build, pyramid_dag
from pebble import MemoryTooSmall
from proofs import (
    Assumptions,
    Bound,
    BoundError,
    best_lower,
    best_upper,
    bounds_for,
    register_bound,
    registered_bounds,
    unregister_bound,
)
from proofs.bound import game_flags, normalize_variant


def lower(variant="base", sliding=False, value=3):
    return Bound("x", "lower", value, "m", "f", Assumptions(variant, sliding=sliding))


def upper(variant="base", sliding=False, value=9):
    return Bound("y", "upper", value, "m", "f", Assumptions(variant, sliding=sliding))


def test_lower_bound_holds_in_every_more_restricted_game():
    assert all(lower("base").holds_in(v) for v in ("base", "one-shot", "nodel", "one-shot+nodel"))
    assert not lower("one-shot").holds_in("base") and not lower("one-shot").holds_in("nodel")
    assert lower("one-shot").holds_in("one-shot") and lower("one-shot").holds_in("nodel+one-shot")
    # proven without sliding: says nothing when sliding is allowed; proven with it: holds either way
    assert not lower("base").holds_in("base", sliding=True)
    assert lower("base", sliding=True).holds_in("base", sliding=True) and lower("base", sliding=True).holds_in("base")


def test_upper_bound_holds_in_every_more_relaxed_game():
    assert upper("one-shot").holds_in("base") and upper("one-shot").holds_in("one-shot")
    assert not upper("one-shot").holds_in("nodel") and not upper("base").holds_in("one-shot")
    assert upper("one-shot+nodel").holds_in("nodel") and upper("base").holds_in("base", sliding=True)
    assert not upper("base", sliding=True).holds_in("base")  # a schedule that needs sliding


def test_variant_names_and_errors():
    assert normalize_variant("nodel+one-shot") == "one-shot+nodel" and game_flags("base") == frozenset()
    assert Assumptions("nodel+one-shot").variant == "one-shot+nodel"
    with pytest.raises(BoundError, match="compcost"):
        game_flags("compcost")
    with pytest.raises(ValueError, match="unknown variant 'fast'"):
        game_flags("fast")


def test_bound_checks_its_fields():
    with pytest.raises(BoundError, match="kind must be 'lower' or 'upper'"):
        Bound("x", "exact", 1, "m", "f")
    with pytest.raises(BoundError, match="value must be a number"):
        Bound("x", "lower", "7", "m", "f")
    d = lower().to_dict()
    assert d["assumptions"] == {"variant": "base", "sliding": False, "regime": "any M", "family": "any DAG"}
    assert str(lower(value=3)).startswith("Q >= 3")


def test_best_of_each_kind():
    bounds = [lower(value=3), lower(value=5), upper(value=9), upper(value=7)]
    assert best_lower(bounds).value == 5 and best_upper(bounds).value == 7
    assert best_lower([]) is None and best_upper([lower()]) is None


def test_registered_function_is_applied_where_it_claims_to_cover():
    calls = []

    @register_bound("test-pyramid-rows", covers=lambda dag, M: dag.name.startswith("pyramid") and M >= 4)
    def rows(dag, M):
        """One I/O per row of the pyramid (a made-up bound for this test)."""
        calls.append((dag.name, M))
        return Bound("test-pyramid-rows", "lower", 1, "test", "made up", Assumptions("one-shot"))

    try:
        assert "test-pyramid-rows" in registered_bounds()
        assert registered_bounds()["test-pyramid-rows"].summary.startswith("One I/O per row")
        assert "test-pyramid-rows" not in [b.name for b in bounds_for(pyramid_dag(3), 3, variant="one-shot")]
        assert "test-pyramid-rows" in [b.name for b in bounds_for(pyramid_dag(3), 4, variant="one-shot")]
        # covered, but proven for one-shot only: computed, then left out of the base game
        assert "test-pyramid-rows" not in [b.name for b in bounds_for(pyramid_dag(3), 4)]
        assert "test-pyramid-rows" not in [b.name for b in bounds_for(build("tree:h=2"), 4, variant="one-shot")]
        assert calls == [("pyramid(3)", 4), ("pyramid(3)", 4)]
    finally:
        unregister_bound("test-pyramid-rows")
    assert "test-pyramid-rows" not in registered_bounds()


def test_a_fixed_game_skips_the_function_where_it_cannot_hold():
    calls = []

    @register_bound("test-one-shot-only", variant="one-shot")
    def only(dag, M):
        calls.append(M)
        return Bound("test-one-shot-only", "lower", 0, "test", "", Assumptions("one-shot"))

    try:
        bounds_for(pyramid_dag(2), 3)
        assert calls == []
        bounds_for(pyramid_dag(2), 3, variant="one-shot")
        assert calls == [3]
    finally:
        unregister_bound("test-one-shot-only")


def test_registry_rejects_bad_functions_and_names():
    @register_bound("test-wrong-kind")
    def wrong(dag, M):
        return Bound("test-wrong-kind", "upper", 1, "test", "")

    try:
        with pytest.raises(BoundError, match="returned .* expected a lower Bound"):
            bounds_for(pyramid_dag(2), 3)
        with pytest.raises(BoundError, match="already registered"):
            register_bound("test-wrong-kind")(lambda dag, M: None)
    finally:
        unregister_bound("test-wrong-kind")
    with pytest.raises(BoundError, match="no bound named"):
        unregister_bound("test-wrong-kind")
    with pytest.raises(BoundError, match="argument 'kind'"):
        register_bound("x", kind="exact")


def test_bounds_for_names_bad_arguments():
    g = pyramid_dag(3)
    with pytest.raises(MemoryTooSmall, match=r"argument 'M': M = 2 is below the smallest feasible M = 3 for pyr"):
        bounds_for(g, 2)
    with pytest.raises(ValueError, match="argument 'M' must be a positive integer, got 0"):
        bounds_for(g, 0)
    with pytest.raises(ValueError, match="argument 'M' must be a positive integer, got 'x'"):
        bounds_for(g, "x")
    with pytest.raises(BoundError, match="unknown bound 'nope'; registered: approx-partition, matmul-partition, mincut, saha-ye, schedules, "
                                            "spectral, trivial"):
        bounds_for(g, 3, names=["nope"])
    assert [b.name for b in bounds_for(g, 3, names=["trivial"])] == ["trivial"]
    assert [b.kind for b in bounds_for(g, 3, kind="upper")] == ["upper"]


def test_every_builtin_bound_is_registered_with_a_statement():
    registry = registered_bounds()
    for name in ("trivial", "spectral", "mincut", "matmul-partition", "saha-ye", "approx-partition", "schedules"):
        assert name in registry and registry[name].summary
        assert registry[name].func.__doc__.count("\n") > 3 or name == "schedules"  # a proof sketch, not a label


def test_the_documented_example_adds_a_bound():
    from pathlib import Path

    from pebble.solver import search

    page = (Path(__file__).resolve().parents[1] / "docs" / "bounds.md").read_text()
    section = page[page.index("## Adding a bound"):]
    start = section.index("```python") + len("```python")
    exec(section[start:section.index("```", start)], {})
    try:
        g = build("tree:h=3")
        found = [b for b in bounds_for(g, 3) if b.name == "in-tree-leaves"]
        assert [b.value for b in found] == [9] and 9 <= search(g, 3).io
        assert not [b for b in bounds_for(pyramid_dag(3), 3) if b.name == "in-tree-leaves"]
    finally:
        unregister_bound("in-tree-leaves")
