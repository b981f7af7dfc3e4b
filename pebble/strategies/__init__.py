"""Schedule generators: each takes ``(dag, M, **options)`` and returns a :class:`~pebble.moves.Schedule`.

:data:`STRATEGIES` maps the names the command line knows to the generators.
Generators built for large DAGs also take ``stream=True`` and then return an
iterator of ``int64`` code chunks, which :func:`pebble.verify` and
:func:`pebble.write_schedule` accept as they come.
"""

from .approx import approx_schedule, column_blocked_schedule, small_cache_schedule, streaming_schedule
from .attention import flash_schedule, naive_schedule, tiling_schedule
from .common import MemoryTooSmall, StrategyError, generate_verified, require_memory, schedule_chunks
from .heuristic import depth_first_order, heuristic_schedule
from .matmul import tiled_matmul_schedule

__all__ = [
    "MemoryTooSmall", "STRATEGIES", "StrategyError", "approx_schedule", "column_blocked_schedule", "depth_first_order",
    "flash_schedule", "generate_verified", "heuristic_schedule", "naive_schedule", "require_memory",
    "schedule_chunks", "small_cache_schedule", "streaming_schedule", "tiled_matmul_schedule", "tiling_schedule",
]

#: Strategy name -> generator.
STRATEGIES = {
    "naive": naive_schedule,
    "flash": flash_schedule,
    "tiling": tiling_schedule,
    "approx": approx_schedule,
    "matmul-tiled": tiled_matmul_schedule,
    "heuristic": heuristic_schedule,
}
