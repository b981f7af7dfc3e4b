"""The ``pebble`` command line: a thin layer over the library.

Each subcommand lives in its own module with ``register(subparsers)``, which
adds its parser and sets ``func(args) -> int``. Exit codes: 0 ok, 1 invalid
schedule or failed check, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from dags.errors import PebbleError

__all__ = ["main", "CommandError"]

# Subcommand modules, in the order `pebble --help` lists them.
COMMANDS = ["demo", "verify", "dag", "schedule", "sweep", "bound", "bounds", "solve", "batch"]


class CommandError(PebbleError, ValueError):
    """A usage or input error to print as ``pebble: error: ...`` with exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pebble",
        description="The red-blue pebble game: build DAGs, verify schedules, count I/O, bound it.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or usage error (2)
        return int(exc.code or 0)
    try:
        return int(args.func(args) or 0)
    except (CommandError, ValueError, OSError) as exc:
        # The library reports bad input as ValueError subclasses whose message names the
        # argument, file or line. PEBBLE_DEBUG=1 shows the traceback instead.
        if os.environ.get("PEBBLE_DEBUG"):
            raise
        print(f"pebble: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pebble: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
