"""The ``pebble`` command line: a thin layer over the library.

Each subcommand lives in its own module with ``register(subparsers)``, which
adds its parser and sets ``func(args) -> int``. Exit codes, each with one
meaning: 0 ok, 1 invalid schedule or failed check, 2 bad input or usage (one
line naming the file, line or argument), 3 an internal error of the toolkit,
130 interrupted, 141 output pipe closed (quietly, as after SIGPIPE).

Run as a command (``main()`` with no arguments), it first checks that ``dags``
and ``proofs`` are this toolkit's own (unrelated projects on PyPI share those
names), and says once on stderr when numba compiles the kernels because its
cache is cold, so the first run's 20-50 s of silence has a reason.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path

from dags.errors import PebbleError

__all__ = ["main", "CommandError", "INTERNAL_ERROR", "version"]

# Subcommand modules, in the order `pebble --help` lists them.
COMMANDS = ["demo", "verify", "dag", "schedule", "sweep", "bound", "bounds", "solve", "batch"]
USAGE_ERROR, INTERNAL_ERROR, INTERRUPTED, BROKEN_PIPE = 2, 3, 130, 141
# The toolkit's other import names; `pebble` is the one running this code.
SIBLINGS = ("dags", "proofs")
COMPILING = "pebble: compiling the toolkit's kernels once (about 30 s; cached afterwards)"


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
        return _main(argv)
    except KeyboardInterrupt:  # also while the subcommands' modules are being imported
        print("pebble: interrupted", file=sys.stderr)
        return INTERRUPTED


def _main(argv):
    as_command = argv is None
    if as_command and (foreign := foreign_package()) is not None:
        name, where = foreign
        print(f"pebble: error: the module '{name}' comes from {where}, not from pebble-io ({_home()}): another "
              f"project of that name is first on the import path (PYTHONPATH or the current directory); "
              f"remove or rename it, or run pebble from another directory", file=sys.stderr)
        return USAGE_ERROR
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) or usage error (2)
        return exc.code if isinstance(exc.code, int) else USAGE_ERROR
    debug = bool(os.environ.get("PEBBLE_DEBUG"))
    try:
        with compile_notice(sys.stderr) if as_command else contextlib.nullcontext():
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


def _home() -> Path:
    """The directory holding the toolkit's ``pebble``, ``dags`` and ``proofs`` (installed side by side)."""
    return Path(__file__).resolve().parents[2]


def foreign_package():
    """``(name, directory)`` of the first of ``dags``, ``proofs`` that would be imported from outside the toolkit.

    Found with ``importlib.util.find_spec``, so an unrelated package of the same
    name is located, never run. None when both are the toolkit's own.
    """
    for name in SIBLINGS:
        spec = importlib.util.find_spec(name)
        origin = None if spec is None or spec.origin is None else Path(spec.origin).resolve()
        if origin is None or origin != _home() / name / "__init__.py":
            return name, "nowhere" if spec is None else (origin.parent if origin else "a namespace package")
    return None


@contextlib.contextmanager
def compile_notice(stream):
    """Print :data:`COMPILING` on ``stream`` the first time numba compiles one of the toolkit's kernels in the block.

    numba's ``numba:compile`` event starts only when a kernel is not in the
    on-disk cache (``cache=True`` loads it silently), so the line appears on a
    cold cache and never on a warm one. numba's own helpers (``typed.List``)
    compile on every run, uncached and in well under a second: they are not counted.
    """
    from numba.core import event

    class Notice(event.Listener):
        said = False

        def on_start(self, ev):
            package = ev.data["dispatcher"].py_func.__module__.partition(".")[0]
            if not self.said and package in ("pebble", *SIBLINGS):
                print(COMPILING, file=stream, flush=True)
                self.said = True

        def on_end(self, ev):
            pass

    with event.install_listener("numba:compile", Notice()):
        yield


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
