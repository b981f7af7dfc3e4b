"""Bounds on the I/O of the red-blue pebble game, with explicit constants.

``proofs`` bounds the game and may use both :mod:`dags` and :mod:`pebble`.
A :class:`Bound` carries its value, kind, method, formula, assumptions and
reference; :func:`register_bound` adds a bound function that
:func:`bounds_for` applies to every DAG and M it covers; :mod:`proofs.check`
holds every bound against the certified optima of ``proofs/data/optima.csv``.
"""

# The built-in bounds register themselves on import, in this order.
from . import approx, attention, generic, matmul, upper  # noqa: E402,F401,I001
from .bound import (
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
from .check import CheckResult, check_table
from .trivial import trivial_lower_bound

__all__ = ["Assumptions", "Bound", "BoundError", "CheckResult", "best_lower", "best_upper", "bounds_for",
           "check_table", "register_bound", "registered_bounds", "trivial_lower_bound", "unregister_bound"]
