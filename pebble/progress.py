"""Progress on a stream: one line redrawn in place on a terminal, plain periodic lines elsewhere.

A ``\\r`` redraw is only readable on a terminal; in a file, a pipe or a CI log it
leaves one long line of overwritten text. :class:`StatusLine` decides once, from
``stream.isatty()``, and every progress writer of the toolkit goes through it.
"""

from __future__ import annotations

import math
import shutil
import sys
import time

__all__ = ["StatusLine"]


class StatusLine:
    """One line of progress on ``stream`` (default stderr).

    On a terminal each :meth:`show` redraws the line with ``\\r`` (cut to the
    terminal's width); :meth:`clear` erases it, and ``final=True`` keeps it and
    ends it with a newline. Elsewhere :meth:`show` prints a plain line, at most
    one every ``every`` seconds of ``now`` (default: the monotonic clock), and
    always the ``final`` one. ``enabled=False`` prints nothing. As a context
    manager it clears the line on exit.
    """

    def __init__(self, stream=None, *, every=10.0, enabled=True):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = every
        self.enabled = enabled
        self.last = -math.inf
        self.drawn = 0  # length of the line on screen, to erase what a shorter one leaves

    def show(self, text, *, final=False, now=None):
        if not self.enabled:
            return
        if self.tty:
            text = text[:max(shutil.get_terminal_size().columns - 1, 20)]
            print("\r" + text.ljust(self.drawn), end="\n" if final else "", file=self.stream, flush=True)
            self.drawn = 0 if final else len(text)
            return
        now = time.monotonic() if now is None else now
        if final or now - self.last >= self.every:
            print(text, file=self.stream, flush=True)
            self.last = now

    __call__ = show

    def clear(self):
        if self.drawn:
            print("\r" + " " * self.drawn + "\r", end="", file=self.stream, flush=True)
            self.drawn = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.clear()
