"""The red-blue pebble game: rules, verifier, schedule files, strategies and CLI.

``pebble`` plays and checks the game on any :class:`dags.DAG`.
"""

from dags.errors import PebbleError

__version__ = "0.1.0"  # matches pyproject.toml; the installed metadata wins (pebble --version)

from .engine import Verifier, reference_verify, verify
from .game import Game, IllegalMove
from .moves import COMPUTE, DELETE, KINDS, LOAD, STORE, Schedule
from .rules import MemoryTooSmall, Report, Rules, Violation, check_memory
from .schedule_io import ScheduleFileError, read_schedule, read_schedule_chunks, write_schedule

__all__ = [
    "COMPUTE", "DELETE", "Game", "IllegalMove", "KINDS", "LOAD", "MemoryTooSmall", "PebbleError", "Report", "Rules",
    "STORE", "Schedule",
    "ScheduleFileError", "Verifier", "Violation", "read_schedule", "read_schedule_chunks", "reference_verify",
    "check_memory", "verify", "write_schedule",
]
