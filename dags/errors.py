"""The root of every exception the toolkit raises on purpose.

``PebbleError`` sits in the lowest layer (``dags``) so that every package can
derive from it; ``pebble.PebbleError`` is the same class. Errors about input
the caller can fix also derive from ``ValueError``. ``exit_code`` is what the
command line returns for such an error: 2 for bad input or usage, 1 for a
failed check (a certification that does not hold), 3 for a defect of the
toolkit itself (a generated schedule the verifier rejected).
"""

from __future__ import annotations

__all__ = ["PebbleError", "ArgumentError", "SizeError"]


class PebbleError(Exception):
    """An error the toolkit raises on purpose; its message names what is wrong and where."""

    exit_code = 2


class ArgumentError(PebbleError, ValueError):
    """An argument outside its domain (``M``, a cost, an output set); the message names it."""


class SizeError(PebbleError, ValueError):
    """A DAG or file too large for the memory budget; the message gives the estimate and the limit."""
