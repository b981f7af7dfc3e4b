"""Schedule generators: each returns a :class:`~pebble.moves.Schedule` the verifier accepts."""

from .common import StrategyError, require_memory
from .heuristic import depth_first_order, heuristic_schedule

__all__ = ["StrategyError", "depth_first_order", "heuristic_schedule", "require_memory"]
