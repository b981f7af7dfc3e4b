"""An interactive red-blue pebble game for notebooks and teaching.

>>> from dags import pyramid_dag
>>> g = Game(pyramid_dag(1), M=3)
>>> g.load("p0[0]"); g.load("p0[1]"); g.compute("p1[0]")
>>> sorted(g.red)
['p0[0]', 'p0[1]', 'p1[0]']
>>> g.store("p1[0]"); g.done, g.io
(True, 3)
>>> g.undo()
'store p1[0]'
>>> g.done
False
>>> g.compute("p1[0]")
Traceback (most recent call last):
...
pebble.game.IllegalMove: move 3: compute p1[0]: p1[0] already has a red pebble (a redundant compute)
"""

from __future__ import annotations

import numpy as np

from dags.core import as_dag
from dags.errors import PebbleError

from . import rules as R
from .engine import verify
from .moves import COMPUTE, DELETE, KIND_CODES, KINDS, LOAD, STORE, Schedule

__all__ = ["Game", "IllegalMove"]


class IllegalMove(PebbleError, ValueError):
    """A move the rules forbid; ``violation`` says which rule and why."""

    def __init__(self, violation: R.Violation):
        super().__init__(violation.message)
        self.violation = violation


class Game:
    """Play moves one at a time, inspect the pebbles, take moves back.

    An illegal move raises :class:`IllegalMove` and leaves the game as it was.
    Nodes may be given by label or id; :attr:`red` and :attr:`blue` list labels
    (:attr:`red_ids`, :attr:`blue_ids` the ids).
    """

    def __init__(self, dag, M, *, variant="base", sliding=False, strict=True, outputs=None,
                 compute_cost=R.DEFAULT_COMPUTE_COST):
        self.rules = R.Rules.make(M, variant, sliding=sliding, strict=strict, compute_cost=compute_cost)
        dag = as_dag(dag)
        self.dag = dag if outputs is None else dag.with_outputs([dag.node(o) for o in outputs])
        self.state = R.State.initial(self.dag)
        self._history = []  # (code, undo record)

    # -- moves -----------------------------------------------------------
    def play(self, kind, node) -> None:
        """Play one move; ``kind`` is a name or a code, ``node`` a label or id."""
        kind = KIND_CODES[kind] if isinstance(kind, str) else int(kind)
        try:
            v = self.dag.node(node)
        except KeyError:
            raise ValueError(f"unknown node {node!r}") from None
        bad = R.check(self.dag, self.rules, self.state, kind, v)
        code = (v << 2) | kind
        if bad is not None:
            raise IllegalMove(R.make_violation(self.dag, self.rules, len(self._history), code, bad[0], v, bad[1]))
        self._history.append((code, R.apply(self.dag, self.rules, self.state, kind, v)))

    def load(self, node):
        self.play(LOAD, node)

    def store(self, node):
        self.play(STORE, node)

    def compute(self, node):
        self.play(COMPUTE, node)

    def delete(self, node):
        self.play(DELETE, node)

    def apply(self, move) -> None:
        """Play a move given as ``'load Q[0,1]'`` or ``(kind, node)``."""
        if isinstance(move, str):
            kind, _, node = move.strip().partition(" ")
            if kind not in KIND_CODES:
                raise ValueError(f"unknown move {kind!r}; expected one of: load, store, compute, delete")
            self.play(kind, node.strip())
        else:
            self.play(*move)

    def undo(self) -> str:
        """Take back the last move; returns it as text."""
        if not self._history:
            raise IndexError("no move to undo")
        code, record = self._history.pop()
        R.undo(self.state, record)
        return f"{KINDS[code & 3]} {self.dag.label(code >> 2)}"

    # -- inspection ------------------------------------------------------
    @property
    def red_ids(self) -> set:
        return set(self.state.red)

    @property
    def blue_ids(self) -> set:
        return set(self.state.blue)

    @property
    def red(self) -> set:
        return {self.dag.label(v) for v in self.state.red}

    @property
    def blue(self) -> set:
        return {self.dag.label(v) for v in self.state.blue}

    @property
    def io(self) -> int:
        return self.state.loads + self.state.stores

    @property
    def done(self) -> bool:
        """Every output blue and no slide outstanding."""
        blue = np.array([int(o) in self.state.blue for o in self.dag.outputs], dtype=bool)
        return R.end_violation(self.dag, self.rules, self.state, blue) is None

    def legal_moves(self) -> list[str]:
        """Every move the rules allow now, as text."""
        out = []
        for v in range(self.dag.num_nodes):
            for kind in (LOAD, STORE, COMPUTE, DELETE):
                if R.check(self.dag, self.rules, self.state, kind, v) is None:
                    out.append(f"{KINDS[kind]} {self.dag.label(v)}")
        return out

    @property
    def schedule(self) -> Schedule:
        """The moves played so far."""
        return Schedule([c for c, _ in self._history])

    def report(self) -> R.Report:
        """The verifier's report on the moves so far (it re-checks them from scratch)."""
        return verify(self.dag, self.schedule, self.rules.M, variant=self.rules.variant,
                      sliding=self.rules.sliding, strict=self.rules.strict, compute_cost=self.rules.compute_cost)

    def __len__(self):
        return len(self._history)

    def __repr__(self):
        s = self.state
        return (f"<Game {self.dag.name or 'dag'} ({self.rules.describe()}): {len(self)} moves, "
                f"{len(s.red)} red, I/O {self.io}, {'done' if self.done else 'not done'}>")
