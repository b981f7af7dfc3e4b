"""Lower bounds on the I/O of the red-blue pebble game, with explicit constants.

``proofs`` bounds the game and may use both :mod:`dags` and :mod:`pebble`.
"""

from .trivial import trivial_lower_bound

__all__ = ["trivial_lower_bound"]
