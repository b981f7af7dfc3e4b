"""The ``pebble`` command line: a thin layer over the library.

Each subcommand lives in its own module with ``register(subparsers)``, which
adds its parser and sets ``func(args) -> int``. Exit codes, each with one
meaning: 0 ok, 1 invalid schedule or failed check, 2 bad input or usage (one
line naming the file, line or argument), 3 an internal error of the toolkit,
130 interrupted, 141 output pipe closed (quietly, as after SIGPIPE).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from dags.errors import PebbleError

__all__ = ["main", "CommandError", "INTERNAL_ERROR", "version"]

# Subcommand modules, in the order `pebble --help` lists them.
COMMANDS = ["demo", "verify", "dag", "schedule", "sweep", "bound", "bounds", "solve", "batch"]
USAGE_ERROR, INTERNAL_ERROR, INTERRUPTED, BROKEN_PIPE = 2, 3, 130, 141


class CommandError(PebbleError, ValueError):
    """A usage or input error to print as ``pebble: error: ...`` with exit code 2."""


def version() -> str:
    """The installed distribution's version, else the source tree's ``pebble.__version__``."""
    from importlib import metadata

    try:
        return metadata.version("pebble-io")
    except metadata.PackageNotFoundError:
        from pebble import __version__

        return __version__


class Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line (the full usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(USAGE_ERROR, f"{self.prog}: error: {' '.join(message.split())} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="pebble",
        description="The red-blue pebble game: build DAGs, verify schedules, count I/O, bound it.",
    )
    parser.add_argument("--version", action="version", version=f"pebble-io {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or usage error (2)
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    debug = bool(os.environ.get("PEBBLE_DEBUG"))
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # an EPIPE surfaces here, not at interpreter exit
        return code
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE
    except KeyboardInterrupt:
        print("pebble: interrupted", file=sys.stderr)
        return INTERRUPTED
    except PebbleError as exc:
        if debug:
            raise
        if exc.exit_code == INTERNAL_ERROR:  # raised on purpose, but a defect of the toolkit all the same
            return _internal_error(exc)
        print(f"pebble: error: {_one_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"pebble: error: {where}{_one_line(exc.strerror or exc)}", file=sys.stderr)
        return USAGE_ERROR
    except Exception as exc:  # a defect of the toolkit: say so, never as a failed check
        if debug:
            raise
        return _internal_error(exc)


def _internal_error(exc) -> int:
    print(f"pebble: internal error: {type(exc).__name__}: {_one_line(exc)} (set PEBBLE_DEBUG=1 for the traceback)",
          file=sys.stderr)
    return INTERNAL_ERROR


def _one_line(exc) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _silence_stdout():
    """Point stdout at /dev/null so the flush at interpreter exit cannot raise EPIPE again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass
