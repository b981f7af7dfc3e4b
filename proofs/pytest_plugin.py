"""A pytest plugin: check the toolkit's bounds against your own optima in your own test suite.

A suite opts in with one line in its ``conftest.py``,
``pytest_plugins = ["proofs.pytest_plugin"]`` (opt-in, so that other suites
in the same environment never import the toolkit), and gets the fixture
``pebble_bounds_check``; the same check is :func:`assert_bounds_hold` for
suites that import it. One line does it::

    def test_bounds_hold_on_my_dags(pebble_bounds_check):
        pebble_bounds_check("optima.csv")  # relative to this test file

The table has the columns ``spec,M,variant,optimum`` (see
:mod:`proofs.optima`); a spec may name a DAG file relative to the table. A
test fails with every finding listed, each naming its row. See
docs/your-own-dag.md.
"""

from __future__ import annotations

import os
import pathlib

import pytest

__all__ = ["BoundsCheckFailed", "assert_bounds_hold", "pebble_bounds_check"]


class BoundsCheckFailed(AssertionError):
    """A registered bound that does not hold against an optimum of the table; the message lists every finding."""


def assert_bounds_hold(table, *, base=None):
    """Fail unless every registered lower bound <= optimum <= every upper bound holds on every row of ``table``.

    ``table`` is a CSV path (relative to ``base`` if given and the path is
    relative) or an iterable of row mappings, as :func:`proofs.check.check_table`
    takes. Returns the :class:`~proofs.check.CheckResult` when all holds;
    raises :class:`BoundsCheckFailed` naming every finding otherwise.
    """
    from .check import check_table  # the bounds load only when a test asks for them

    if isinstance(table, (str, os.PathLike)) and base is not None:
        table = pathlib.Path(base) / table
    result = check_table(table)
    if not result.ok:
        lines = "\n".join(f"  {f.message}" for f in result.findings)
        raise BoundsCheckFailed(f"{len(result.findings)} of the bounds fail on {result.table} "
                                f"({len(result.rows)} rows checked):\n{lines}")
    return result


@pytest.fixture
def pebble_bounds_check(request):
    """:func:`assert_bounds_hold` with relative table paths taken from the folder of the requesting test file."""
    folder = pathlib.Path(request.path).parent

    def check(table):
        return assert_bounds_hold(table, base=folder)

    return check
