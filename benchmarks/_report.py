"""Results files for the benchmark scripts: each measured table with when, where and how it was measured.

Every script in ``benchmarks/`` writes its Markdown table to
``benchmarks/results/<name>.md`` through :func:`write_report`, which puts the
date (UTC), the machine (platform, CPU model, cores, RAM, load average), the
versions of Python and of the numeric libraries, and the command line above
the table, so that a figure quoted in the docs can be traced to one run.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import platform
import shlex
import sys
from importlib import metadata

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
LIBRARIES = ("numpy", "numba", "ortools")


def _first_field(path, key):
    """The value of the first ``key: value`` line of a /proc file, or None where there is none."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        return None
    return None


def machine_description():
    """One line: platform, CPU model, cores, RAM and the load average when measured."""
    cpu = _first_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown CPU"
    mem_kb = _first_field("/proc/meminfo", "MemTotal")
    ram = f"{int(mem_kb.split()[0]) / 2**20:.1f} GiB RAM" if mem_kb else "RAM unknown"
    load = f", load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    return f"{platform.platform()}; {cpu}; {os.cpu_count()} cores; {ram}{load}"


def versions():
    """``Python x.y.z, numpy a.b, ...`` for the libraries that are installed."""
    found = [f"Python {platform.python_version()}"]
    for name in LIBRARIES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


def write_report(path, title, markdown_table, *, command=None, notes="", measured=None):
    """Write ``markdown_table`` under ``title`` and the run's provenance to ``path``; return the path.

    ``command`` defaults to the running script's command line; ``notes`` (Markdown)
    follows the table. ``measured`` says when the figures were measured where that
    is not now (a table summarised from earlier runs); the date written is then
    the summary's. A relative ``path`` is taken inside ``benchmarks/results/``.
    """
    path = pathlib.Path(path)
    if not path.is_absolute():
        path = RESULTS / path
    if command is None:
        command = shlex.join(["python", os.path.relpath(sys.argv[0]), *sys.argv[1:]])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (f"# {title}\n\n"
            f"- measured: {now if measured is None else f'{measured} (summarised {now})'}\n"
            f"- machine: {machine_description()}\n"
            f"- software: {versions()}\n"
            f"- command: `{command}`\n\n"
            f"{markdown_table.rstrip()}\n")
    if notes:
        text += f"\n{notes.rstrip()}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def markdown_table(header, rows):
    """A Markdown table from a header and rows of cells; a cell that is a number is right-aligned."""
    aligns = ["---:" if rows and all(isinstance(r[i], (int, float)) for r in rows) else "---"
              for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(aligns) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
