"""Optimal red-blue pebbling with OR-tools CP-SAT.

The model
---------
Time is indexed by the *first computes*: the needed non-source nodes
(those with a path to an output) are each computed for the first time at one
of ``K`` steps, one per step, so a step is a position in a topological
order. Everything else happens in the *transition* before a step: stores,
deletes, loads and (base game) recomputations. Per step ``t`` and node ``v``:

``x[t,v]``   v is computed for the first time at step t;
``r[t,v]``   v is red at the moment of step t's compute (besides the result);
``ld[t,v]``  v is loaded in the transition before step t;
``rc[t,v]``  v is recomputed in the transition before step t (base game);
``s[v]``     v is stored, right after its first compute.

The objective is the I/O, ``sum(ld) + sum(s)``. A plain time-expanded model
(one move per step, red and blue per node and step: :mod:`.plain_model`) spends
most of its effort ordering loads, stores and deletes that commute; here a
step has no such freedom, and the rest of the model removes more of it:

* **Store early.** Blue pebbles are never removed, so a store can always be
  moved to right after the node's first compute: one Boolean per node, and
  ``v`` is blue at step ``t`` iff ``s[v]`` and it was computed before ``t``.
  Every output that is not a source is stored (``s = 1``).
* **Load late, delete early.** A load can be delayed to the transition right
  before the compute that reads the value, and a red pebble removed right
  after its last read, without breaking a rule or changing the I/O. So a
  load at ``t`` is read at ``t`` (``ld <= used``) and a value red at ``t``
  is read at ``t`` or stays red to a later read (``r[t] <= used[t] + r[t+1]``).
  These dominance rules cut the red sets to those of normalised schedules.
* **Capacity** only matters at computes: with deletes before loads, a
  transition never holds more than the larger of its two ends, so
  ``sum_v r[t,v] <= M - 1`` (the result needs the M-th pebble) is exact.
* **Windows.** A node has at least as many computes before it as it has
  non-source ancestors, and as many after as it has descendants, so ``x`` and
  ``pos`` live in windows; a value is red only between its first possible
  compute and its last possible read.
* **Valid inequalities**: each needed source is loaded at least once, each
  output stored; ``pos[u] < pos[v]`` on edges (implied; it helps propagation).
* **Symmetry breaking.** For each automorphism of the needed sub-DAG that keeps
  the outputs, mapping a schedule through it gives one of the same I/O. Along
  a stabiliser chain (nodes ``v1, v2, ...``, each orbit taken among the
  automorphisms fixing the earlier ones), ``v_i`` is computed first among its
  orbit. Orbits come from colour refinement, each member confirmed by an
  explicit automorphism (networkx's matcher).
* **Warm start and horizon.** The general heuristic's schedule, mapped
  through the same automorphisms and projected to the model's variables, is
  a complete hint, and its I/O caps the objective.

One-shot and nodel
^^^^^^^^^^^^^^^^^^
In the one-shot game the ``K`` steps are every compute, and the model is
exact. In the nodel game a red pebble leaves only a blue node, so a node not
stored stays red from its first compute to the end; loads and stores keep
their normal form, deletes are early only for blue nodes.

Recomputation (base game)
^^^^^^^^^^^^^^^^^^^^^^^^^
A base-game schedule may compute a node again, and the number of such
computes in an optimal schedule has no useful bound, so no horizon of compute
steps would make a proof. Instead the model is a *relaxation* of the base
game with no horizon: it keeps the first computes as steps and lets a value
become red in a transition by ``rc`` when its operands are red when the
transition begins, loaded, or recomputed in it. Every base schedule projects
onto a solution of no larger I/O, so the model's bound is a lower bound on
the base optimum. Windows grow accordingly: a value may be read by a
recompute of a successor, so it stays loadable up to the successor's window
end. Room at the recomputes is checked at moments every real schedule has:

* at each recompute, besides its operands and result, every value held
  through the whole transition (red at both ends, neither loaded nor
  recomputed in it);
* at the last of the last computes of the recomputed values (after it come
  only loads), every value red at the next step and not loaded;
* at the first of them, every value red when the transition began, neither
  loaded nor recomputed, and still needed.

The rest is settled exactly, transition by transition, by a search over red
sets (:mod:`.transition_search`), on the solutions that need it:

* **Decoding.** A transition with recomputes is sequenced by that search,
  each load once as the model counts it (else with reloads); the decoded
  schedule goes to the verifier. One that the verifier accepts, of I/O equal
  to the proven bound, is a proven optimum. Solutions without ``rc`` always
  decode (loads late, deletes early).
* **Cuts.** A transition that no sequence can make is impossible at any
  step with sets no larger (start, loads, recomputable values) and a target
  no smaller: a no-good over all steps. One that needs b reloads is charged
  b extra loads wherever such sets match (the largest charge per step, so
  the objective stays a lower bound). The sets are first enlarged, and the
  target shrunk, as far as the transition stays impossible.

Solving
-------
Before the model, the one-shot optimum is looked for by an exact search of a
different kind (:mod:`.ideals`: A* over the ideals of the DAG, with the red
and dirty values), which is fast on narrow DAGs and gives up on wide ones at
its limits (half the time, a cap on states; a fifth of the time in the base
game). In the one-shot game its proof is the answer and its bound is kept
when it stops; in the base game its schedule replaces the first stage below
as the incumbent. In the base game a second search then runs
(:mod:`.steps`: A* over red and blue sets in steps of one compute, exact
with recomputation) for schedules below that incumbent (the one-shot
optimum, or the best schedule of the first stage below when the ideal
search gave up), until 90% of the time limit (it proves far more than the
relaxation, which has the rest): if none exists the incumbent is optimal,
and its bound, as it rises, is kept with the relaxation's (the larger
counts). The result's
``method`` names what proved the lower bound: ``cp-sat``, ``ideals`` or
``steps``.

CP-SAT runs with core-guided search as its first worker (it raises the bound
on a sum of Booleans far faster than LP-based branching does here) and
max_lp as its second. Games with recomputation run in two stages: first the
exact model without recomputation (one-shot), whose optimum is a real
incumbent and caps the second stage, the relaxation, which proves the bound.
When the relaxation's optimum does not decode, its transitions are cut or
charged and it is solved again (every cut is valid, so every bound found
is). When no cut applies, a last phase looks among the relaxation's optimal
solutions for one that decodes. If none does in time, the result is
``feasible``: the best verified schedule and the relaxation's bound.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict

import numpy as np
import ortools
from ortools.sat.python import cp_model

from ..engine import verify
from ..moves import COMPUTE, DELETE, LOAD, STORE, Schedule, as_codes
from ..rules import Rules
from ..strategies import heuristic_schedule
from .results import SolveResult, SolverError, checked_report, game_rules
from .ideals import ideal_search
from .steps import MAX_NODES as STEPS_MAX_NODES, step_search
from .symmetry import canonical_schedule, stabiliser_chain
from .transition_search import generalise, reach

__all__ = ["solve", "PebblingModel"]

SOLVER_VERSION = ortools.__version__


class _Instance:
    """The needed part of the DAG, with compute windows and successor lists."""

    def __init__(self, dag, rules: Rules):
        self.dag = dag
        self.rules = rules
        needed = dag.needed
        self.is_source = dag.in_degree == 0
        self.n = dag.num_nodes
        order = [int(v) for v in dag.topological_order if needed[v]]
        self.computes = [v for v in order if not self.is_source[v]]
        self.K = len(self.computes)
        self.preds = {v: [int(u) for u in dag.predecessors(v)] for v in order}  # sources: []
        succ = defaultdict(list)
        for v in self.computes:
            for u in self.preds[v]:
                succ[u].append(v)
        self.succ = dict(succ)
        self.outputs = {int(v) for v in dag.outputs}
        # Windows: ancestors before, descendants after (as bit sets over compute indices).
        index = {v: i for i, v in enumerate(self.computes)}
        anc = {}
        for v in self.computes:
            a = 0
            for u in self.preds[v]:
                if u in index:
                    a |= anc[u] | (1 << index[u])
            anc[v] = a
        desc = {}
        for v in reversed(self.computes):
            d = 0
            for w in self.succ.get(v, ()):
                d |= desc[w] | (1 << index[w])
            desc[v] = d
        self.lo = {v: anc[v].bit_count() for v in self.computes}
        self.hi = {v: self.K - 1 - desc[v].bit_count() for v in self.computes}
        # Red window: from the step after the value can first exist to its last possible read,
        # by a first compute or (with recomputation) by a recompute in a successor's window.
        self.red_window = {}
        for v in reversed(order):
            ws = self.succ.get(v)
            if not ws:
                continue
            first = min(self.lo[w] for w in ws) if self.is_source[v] else self.lo[v] + 1
            last = max(self.hi[w] for w in ws)
            if not rules.one_shot:
                last = max([last] + [self.red_window[w][1] for w in ws if w in self.red_window])
            if rules.nodel and not self.is_source[v]:
                last = self.K - 1
            self.red_window[v] = (first, last)


class PebblingModel:
    """The CP-SAT model of one instance; see the module docstring.

    Each ``_add_*`` method adds one family of constraints; ``add_cut`` adds
    a cut found on a solution (``transition`` gives its sets). ``decode``
    turns variable values into moves; ``project`` maps a schedule onto a
    (hint) assignment.
    """

    def __init__(self, dag, rules: Rules, *, upper_bound=None, chain=()):
        self.inst = inst = _Instance(dag, rules)
        self.rules = rules
        self.recompute = not rules.one_shot
        m = self.model = cp_model.CpModel()
        K = inst.K
        self.x, self.r, self.ld, self.rc, self.s = {}, {}, {}, {}, {}
        for v in inst.computes:
            for t in range(inst.lo[v], inst.hi[v] + 1):
                self.x[t, v] = m.new_bool_var(f"x[{t},{v}]")
            self.s[v] = m.new_bool_var(f"s[{v}]")
        for v, (a, b) in inst.red_window.items():
            for t in range(a, b + 1):
                self.r[t, v] = m.new_bool_var(f"r[{t},{v}]")
                self.ld[t, v] = m.new_bool_var(f"ld[{t},{v}]")
                if self.recompute and not inst.is_source[v]:
                    self.rc[t, v] = m.new_bool_var(f"rc[{t},{v}]")
        self.pos = {v: m.new_int_var(inst.lo[v], inst.hi[v], f"pos[{v}]") for v in inst.computes}
        self._add_order(chain)
        self._add_operands()
        self._add_supply()
        self._add_capacity()
        self._add_blue()
        self._add_dominance()
        if self.recompute:
            self._add_recompute()
        if rules.nodel:
            self._add_nodel()
        self.io = sum(self.ld.values()) + sum(self.s.values())
        self.extra = {}  # step -> reloads charged by cuts (see add_cut)
        for v in inst.succ:
            if inst.is_source[v]:
                m.add(sum(self._at(self.ld, t, v) for t in range(K)) >= 1)
        if upper_bound is not None:
            m.add(self.io <= upper_bound)
        m.minimize(self.io)
        self.num_steps = K

    # -- helpers ---------------------------------------------------------
    @staticmethod
    def _at(table, t, v):
        return table.get((t, v), 0)

    def _computed_before(self, t, v):
        """1 if v's first compute is before step t (0 for sources, which are not computed)."""
        return sum(self._at(self.x, u, v) for u in range(self.inst.lo[v], t))

    def _used(self, t, v):
        return sum(self._at(self.x, t, w) for w in self.inst.succ.get(v, ()))

    def _used_by_rc(self, t, v):
        return sum(self._at(self.rc, t, w) for w in self.inst.succ.get(v, ()))

    def _red_after(self, t, v):
        """v red right after step t's compute (the start of transition t+1)."""
        return self._at(self.r, t, v) + self._at(self.x, t, v)

    # -- constraint families ---------------------------------------------
    def _add_order(self, chain):
        """One first compute per step and per node; positions; precedences; symmetry."""
        m, inst = self.model, self.inst
        by_step = defaultdict(list)
        for (t, v), var in self.x.items():
            by_step[t].append(var)
        for t in range(inst.K):
            m.add_exactly_one(by_step[t])
        for v in inst.computes:
            lits = [self.x[t, v] for t in range(inst.lo[v], inst.hi[v] + 1)]
            m.add_exactly_one(lits)
            m.add(self.pos[v] == sum(t * self.x[t, v] for t in range(inst.lo[v], inst.hi[v] + 1)))
        m.add_all_different(list(self.pos.values()))
        for v in inst.computes:
            for u in inst.preds[v]:
                if u in self.pos:
                    m.add(self.pos[u] < self.pos[v])
        for v, orbit in chain:
            for w in orbit:
                m.add(self.pos[v] < self.pos[w])

    def _add_operands(self):
        """A first compute needs every operand red."""
        for (t, v), var in self.x.items():
            for u in self.inst.preds[v]:
                self.model.add_implication(var, self.r[t, u])

    def _add_supply(self):
        """A value red at step t was red after step t-1, or was loaded or recomputed since."""
        for (t, v), var in self.r.items():
            self.model.add(var <= self._red_after(t - 1, v) + self._at(self.ld, t, v) + self._at(self.rc, t, v))

    def _add_capacity(self):
        """At each compute, at most M - 1 red values besides the result."""
        steps = defaultdict(list)
        for (t, v), var in self.r.items():
            steps[t].append(var)
        for t, lits in steps.items():
            if len(lits) > self.rules.M - 1:
                self.model.add(sum(lits) <= self.rules.M - 1)

    def _add_blue(self):
        """Outputs are stored; only a stored, computed value is loaded; recomputes follow the first."""
        m, inst = self.model, self.inst
        for v in inst.computes:
            if v in inst.outputs:
                m.add(self.s[v] == 1)
        for (t, v), var in self.ld.items():
            if not inst.is_source[v]:
                m.add_implication(var, self.s[v])
                m.add(var <= self._computed_before(t, v))
        for (t, v), var in self.rc.items():
            m.add(var <= self._computed_before(t, v))

    def _add_dominance(self):
        """Loads just before a read, deletes right after the last read, stores only if loaded later."""
        m, inst, rules = self.model, self.inst, self.rules
        for (t, v), var in self.ld.items():
            m.add(var <= self._used(t, v) + self._used_by_rc(t, v))
        for (t, v), var in self.r.items():
            keep = self._used(t, v) + self._at(self.r, t + 1, v) + self._used_by_rc(t + 1, v)
            c = m.add(var <= keep)
            if rules.nodel and not inst.is_source[v]:
                c.only_enforce_if(self.s[v])  # an unstored value cannot be deleted
        if not rules.nodel:  # in nodel a store may be needed just to allow a delete
            for v in inst.computes:
                if v not in inst.outputs:
                    m.add(self.s[v] <= sum(self._at(self.ld, t, v) for t in range(inst.K)))

    def _add_recompute(self):
        """Recomputes in a transition: operands at hand, a use for the result, room at each."""
        m, inst = self.model, self.inst
        for (t, v), var in self.rc.items():
            m.add(var <= self._at(self.r, t, v) + self._used_by_rc(t, v))
            for u in inst.preds[v]:
                m.add(var <= self._red_after(t - 1, u) + self._at(self.ld, t, u) + self._at(self.rc, t, u))
        for t in range(1, inst.K):
            if any((t, v) in self.rc for v in inst.computes):
                self._add_transition_room(t)

    def _needs(self, t, u):
        """Literals of which one is true if u is still needed in transition t: red at t, or read by a recompute."""
        return ([self.r[t, u]] if (t, u) in self.r else []) + \
            [self.rc[t, d] for d in self.inst.succ.get(u, ()) if (t, d) in self.rc]

    def _room(self, at_hand, reds, enforce):
        """If ``enforce``: the values ``at_hand`` and those of ``reds`` (Booleans) fit in M."""
        if len(at_hand) + len(reds) > self.rules.M:
            self.model.add(sum(reds) <= self.rules.M - len(at_hand)).only_enforce_if(enforce)

    def _add_transition_room(self, t):
        """Room at the recomputes of transition t, at moments every schedule has.

        At each recompute: the values held through the transition (red at both
        ends, neither loaded nor recomputed in it). At the last of the values'
        last computes (only loads follow): every value red at step t and not
        loaded. At the first of them: every value red when the transition
        began, neither loaded nor recomputed in it, and still needed.
        """
        m, inst = self.model, self.inst
        cands = [v for v in inst.computes if (t, v) in self.rc]
        ends = [v for (tt, v) in self.r if tt == t]
        starts = sorted({v for (tt, v) in self.r if tt == t - 1} | {v for (tt, v) in self.x if tt == t - 1})
        held, unloaded, early = {}, {}, {}
        for u in ends:
            ld, rc = self._at(self.ld, t, u), self._at(self.rc, t, u)
            held[u] = m.new_bool_var(f"held[{t},{u}]")
            m.add(held[u] >= self.r[t, u] - ld - rc)
            unloaded[u] = m.new_bool_var(f"unloaded[{t},{u}]")
            m.add(unloaded[u] >= self.r[t, u] - ld)
        for u in starts:
            needs = self._needs(t, u)
            if needs:
                early[u] = m.new_bool_var(f"early[{t},{u}]")
                for lit in needs:
                    m.add(early[u] >= self._red_after(t - 1, u) - self._at(self.ld, t, u) - self._at(self.rc, t, u)
                          + lit - 1)
        first = {v: m.new_bool_var(f"first[{t},{v}]") for v in cands}
        last = {v: m.new_bool_var(f"last[{t},{v}]") for v in cands}
        m.add(sum(first.values()) <= 1)
        m.add(sum(last.values()) <= 1)
        for v in cands:
            rc_v = self.rc[t, v]
            m.add(rc_v <= sum(first.values()))
            m.add(rc_v <= sum(last.values()))
            m.add_implication(first[v], rc_v)
            m.add_implication(last[v], rc_v)
            m.add_implication(last[v], self.r[t, v])
            m.add(sum(self.rc[t, w] for w in cands if w != v) == 0).only_enforce_if([first[v], last[v]])
            at_hand = set(inst.preds[v]) | {v}
            self._room(at_hand, [held[u] for u in ends if u not in at_hand], rc_v)
            self._room(at_hand, [unloaded[u] for u in ends if u not in at_hand], last[v])
            self._room(at_hand, [e for u, e in early.items() if u not in at_hand], first[v])

    def transition(self, value, t):
        """``(start, loads, recomputable, target)`` of transition t in the solution ``value``."""
        inst = self.inst
        start = {v for (tt, v), var in self.r.items() if tt == t - 1 and value(var)}
        start |= {v for (tt, v), var in self.x.items() if tt == t - 1 and value(var)}
        loads = {v for (tt, v), var in self.ld.items() if tt == t and value(var)}
        target = {v for (tt, v), var in self.r.items() if tt == t and value(var)}
        computed = {v for (tt, v), var in self.x.items() if tt < t and value(var)}
        return start, loads, computed & set(inst.computes), target

    def add_cut(self, start, loads, recomputable, target, *, reloads=None):
        """Rule out, or charge, every transition with sets no larger than these (target no smaller).

        For sets that :func:`.transition_search.reach` found impossible: with
        ``reloads=None`` a no-good at every step; with ``reloads=b``, for sets
        that need at least b reloads (loads of a value already loaded in the
        transition, which the model counts once), a charge of b extra loads
        at every step where they match. A step pays the largest charge that
        matches, never their sum, so the objective stays a lower bound.
        """
        inst, m = self.inst, self.model
        for t in range(1, inst.K):
            if any((t, v) not in self.r for v in target):
                continue
            terms = [self._red_after(t - 1, v) for v in inst.succ if v not in start]
            terms += [var for (tt, v), var in self.ld.items() if tt == t and v not in loads]
            terms += [1 - self.r[t, v] for v in target]
            terms += [self._computed_before(t, v) for v in inst.computes if v not in recomputable]
            if reloads is None:
                m.add(sum(terms) >= 1)
                continue
            if t not in self.extra:
                self.extra[t] = m.new_int_var(0, inst.n, f"extra[{t}]")
            matches = m.new_bool_var(f"matches[{t},{len(self.model.proto.variables)}]")
            m.add(sum(terms) + matches >= 1)
            m.add(self.extra[t] >= reloads).only_enforce_if(matches)
        if reloads is not None:
            m.minimize(self.cost)

    @property
    def cost(self):
        """The objective: the I/O, plus the reloads the cuts charge."""
        return self.io + sum(self.extra.values())

    def _add_nodel(self):
        """A value never stored is never deleted: red from its first compute to the end."""
        m, inst = self.model, self.inst
        for (t, v), var in self.r.items():
            if not inst.is_source[v]:
                m.add(var >= self._computed_before(t, v) - self.s[v])
        for (t, v), var in self.rc.items():
            m.add_implication(var, self.s[v])

    # -- solutions <-> schedules -------------------------------------------
    def decode(self, value, deadline=None) -> Schedule:
        """The moves of the solution ``value(var) -> 0/1``.

        A transition with recomputes is sequenced by :func:`.transition_search.reach`,
        with each load once (as the model counts it) if it can be, else with
        reloads; if there is no sequence, none found by ``deadline``, or in the
        nodel game, recomputes go in topological order, which the verifier
        may then reject.
        """
        inst = self.inst
        order = [None] * inst.K
        for (t, v), var in self.x.items():
            if value(var):
                order[t] = v
        stored = {v for v in inst.computes if value(self.s[v])}
        steps = defaultdict(lambda: (set(), set(), set()))
        for table, k in ((self.r, 0), (self.ld, 1), (self.rc, 2)):
            for (t, v), var in table.items():
                if value(var):
                    steps[t][k].add(v)
        rank = {v: i for i, v in enumerate(inst.computes)}
        red, blue = set(), set(int(v) for v in inst.dag.sources)
        moves = []
        nodel = self.rules.nodel

        def free(keep):
            for u in sorted(red - keep):
                if not nodel or u in blue:
                    moves.append(u << 2 | DELETE)
                    red.discard(u)

        for t, v in enumerate(order):
            target, loads, recomputes = steps[t]
            if recomputes and not nodel:  # sequence the transition exactly if it can be
                found, path = reach(inst.preds, red, loads, set(order[:t]), target, self.rules.M, reloads=0,
                                    deadline=deadline)
                if not found:
                    found, path = reach(inst.preds, red, loads, set(order[:t]), target, self.rules.M,
                                        deadline=deadline)
                if found:
                    for code in path:
                        (red.add if code & 3 != DELETE else red.discard)(code >> 2)
                    moves.extend(path)
                    recomputes = set()
            pending = sorted(recomputes - red, key=rank.__getitem__)
            for i, c in enumerate(pending):
                later = set().union(*(inst.preds[w] for w in pending[i:]))
                free(target | later)
                for u in inst.preds[c]:
                    if u not in red:
                        moves.append(u << 2 | LOAD)
                        red.add(u)
                moves.append(c << 2 | COMPUTE)
                red.add(c)
            free(target)
            for u in sorted(target - red):
                moves.append(u << 2 | LOAD)
                red.add(u)
            moves.append(v << 2 | COMPUTE)
            red.add(v)
            if v in stored:
                moves.append(v << 2 | STORE)
                blue.add(v)
        return Schedule(np.asarray(moves, dtype=np.int64))

    def project(self, schedule: Schedule) -> dict:
        """A complete assignment (variable -> 0/1) for a valid schedule, in the model's normal form.

        Exact for schedules without recomputation (such as the heuristic's);
        for others a best effort, which the solver repairs if need be.
        """
        inst, nodel = self.inst, self.rules.nodel
        order, red_at, recomputed, stored = [], [], defaultdict(set), set()
        red = set()
        for code in schedule.codes.tolist():
            kind, v = code & 3, code >> 2
            if kind == LOAD:
                red.add(v)
            elif kind == STORE:
                stored.add(v)
            elif kind == DELETE:
                red.discard(v)
            elif v in order or len(order) == inst.K:
                recomputed[len(order)].add(v)
                red.add(v)
            else:
                order.append(v)
                red_at.append(set(red))
                red.add(v)
        rc = {t: {c for c in recomputed[t] if (t, c) in self.rc} for t in range(inst.K)}
        rc_reads = {t: set().union(*(inst.preds[c] for c in rc[t])) for t in range(inst.K)}
        rc_reads[inst.K] = set()

        def stuck(v):  # nodel: a value never stored cannot leave fast memory
            return nodel and not inst.is_source[v] and v not in stored

        # Backwards: a red value is kept only up to its last read; forwards: one that comes
        # by a load arrives only at its first read.
        keep = [set() for _ in range(inst.K + 1)]
        for t in range(inst.K - 1, -1, -1):
            reads = set(inst.preds[order[t]])
            keep[t] = {v for v in red_at[t] if (t, v) in self.r and
                       (stuck(v) or v in reads or v in keep[t + 1] or v in rc_reads[t + 1])}
        previous = [set()] + [keep[t] | {order[t]} for t in range(inst.K - 1)]
        for t in range(inst.K):
            reads = set(inst.preds[order[t]]) | rc_reads[t]
            keep[t] = {v for v in keep[t] if v in previous[t] or v in rc[t] or v in reads or stuck(v)}
            if t + 1 < inst.K:
                previous[t + 1] = keep[t] | {order[t]}
        assign = {var: int(order[t] == v) for (t, v), var in self.x.items()}
        assign.update({var: int(v in keep[t]) for (t, v), var in self.r.items()})
        assign.update({var: int(v in rc[t]) for (t, v), var in self.rc.items()})
        assign.update({var: int(v not in previous[t] and v not in rc[t] and (v in keep[t] or v in rc_reads[t]))
                       for (t, v), var in self.ld.items()})
        loaded = {v for (t, v), var in self.ld.items() if assign[var]}
        assign.update({var: int(v in stored and (v in inst.outputs or nodel or v in loaded))
                       for v, var in self.s.items()})
        return assign


# Workers in the order they are added: core-guided search raises the bound on a sum of
# Booleans far faster than LP-based branching here; max_lp finds and improves schedules.
PORTFOLIO = ("core", "max_lp", "default_lp", "lb_tree_search", "quick_restart", "probing", "pseudo_costs",
             "reduced_costs", "no_lp")


class _Incumbent(cp_model.CpSolverSolutionCallback):
    """Decodes every solution the solver finds and keeps the best one the verifier accepts."""

    def __init__(self, pm: PebblingModel, best, notify, *, stop_when_realised=False, deadline=None):
        super().__init__()
        self.pm = pm
        self.deadline = deadline
        self.best = best  # [io, schedule, report]
        self.notify = notify
        self.stop_when_realised = stop_when_realised

    def on_solution_callback(self):
        pm = self.pm
        schedule = pm.decode(self.boolean_value, self.deadline)
        report = verify(pm.inst.dag, schedule, pm.rules.M, variant=pm.rules.variant)
        if not report.valid:
            if not any(self.boolean_value(v) for v in pm.rc.values()):
                raise AssertionError(f"a solution without recomputes decoded to an invalid schedule (a bug): "
                                     f"{report.violation}")
            return  # the relaxation's recomputes do not fit: not a schedule
        if self.best[0] is None or report.io < self.best[0]:
            self.best[:] = [report.io, schedule, report]
            self.notify()
        if self.stop_when_realised:
            self.stop_search()


class _Run:
    """One solve: the models of an instance share the incumbent, the bound and the deadline."""

    def __init__(self, dag, rules, best, progress, deadline, workers, log):
        self.dag, self.rules, self.best = dag, rules, best
        self.progress, self.deadline = progress, deadline
        self.workers, self.log = workers, log
        self.start = time.perf_counter()
        self.lower = 0
        self.proved_by = "cp-sat"
        self.interrupted = False

    def notify(self):
        if self.progress is not None:
            self.progress(self.best[0], self.lower, time.perf_counter() - self.start)

    def raise_bound(self, bound, source="cp-sat"):
        bound = math.ceil(bound - 1e-6)
        if bound > self.lower:
            self.lower = bound
            self.proved_by = source
            self.notify()

    def solve(self, pm, *, proves_bound=True, stop_when_realised=False):
        """Run the solver on ``pm`` until optimal, the deadline or Ctrl-C; returns the CP-SAT status."""
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers = self.workers
        p.subsolvers.extend(PORTFOLIO[:self.workers])
        p.log_search_progress = self.log
        p.catch_sigint_signal = False  # OR-tools' own handler aborts the interpreter; ours stops the search
        p.max_time_in_seconds = max(0.01, self.deadline - time.perf_counter())
        if proves_bound:
            solver.best_bound_callback = self.raise_bound
        callback = _Incumbent(pm, self.best, self.notify, stop_when_realised=stop_when_realised,
                              deadline=self.deadline)
        out = {}
        # In a worker thread, so that Ctrl-C stops the search and keeps what was found.
        thread = threading.Thread(target=lambda: out.update(status=solver.solve(pm.model, callback)), daemon=True)
        thread.start()
        while thread.is_alive():
            try:
                thread.join(0.1)
            except KeyboardInterrupt:
                self.interrupted = True
                solver.stop_search()
        status = out.get("status", cp_model.UNKNOWN)
        if proves_bound and status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.raise_bound(solver.best_objective_bound)
        self.solver = solver
        return status

    @property
    def time_left(self):
        return self.deadline - time.perf_counter() > 0.05 and not self.interrupted


def _start_schedule(dag, rules, hint):
    """The warm start: the heuristic's schedule (made valid for nodel), a given one, or none."""
    if hint is False:
        return None, None
    if hint is None:
        schedule = heuristic_schedule(dag, rules.M)
        if rules.nodel:  # store a value before its delete, as nodel requires
            blue = set(int(v) for v in dag.sources)
            codes = []
            for c in schedule.codes.tolist():
                if c & 3 == STORE:
                    if c >> 2 in blue:
                        continue
                    blue.add(c >> 2)
                elif c & 3 == DELETE and c >> 2 not in blue:
                    codes.append((c >> 2) << 2 | STORE)
                    blue.add(c >> 2)
                codes.append(c)
            schedule = Schedule(codes)
        return schedule, checked_report(dag, schedule, rules, "the warm start")
    schedule = Schedule(as_codes(hint, dag))
    report = verify(dag, schedule, rules.M, variant=rules.variant)
    if not report.valid:
        raise SolverError(f"argument 'hint': not a valid schedule for M={rules.M} {rules.variant}: {report.violation}")
    return schedule, report


def _model(dag, rules, best, chain):
    """The model of ``rules`` capped at the incumbent, with the incumbent as hint."""
    pm = PebblingModel(dag, rules, upper_bound=best[0], chain=[(v, orbit) for v, orbit, _ in chain])
    _hint(pm, best, chain)
    return pm


def _hint(pm, best, chain):
    """Hint the incumbent, mapped by the chain's automorphisms onto the symmetry-broken model."""
    pm.model.clear_hints()
    if best[1] is not None:
        canonical = canonical_schedule(best[1], chain)
        checked_report(pm.inst.dag, canonical, pm.rules, "the symmetry mapping")
        for var, value in pm.project(canonical).items():
            pm.model.add_hint(var, value)


def solve(dag, M, *, variant="base", time_limit=60.0, workers=2, hint=None, progress=None, symmetry=True,
          searches=True, log=False) -> SolveResult:
    """An optimal red-blue pebbling, proven by CP-SAT, or the best found and a lower bound.

    Parameters
    ----------
    dag : dags.DAG
    M : int
        Red pebbles; ``M < dag.min_memory()`` raises :class:`SolverError` at once.
    variant : {'base', 'one-shot', 'nodel', 'one-shot+nodel'}
    time_limit : float
        Seconds for the whole solve.
    workers : int
        CP-SAT search workers (threads).
    hint : Schedule, sequence of moves, or False, optional
        A valid schedule to start from (default: the general heuristic's);
        ``False`` for no warm start.
    progress : callable, optional
        ``progress(io, lower_bound, seconds)``, called when the best schedule
        (``io``, ``None`` before the first) or the lower bound improves.
    symmetry : bool
        Break the DAG's automorphisms (see the module docstring).
    searches : bool
        Run the exact searches first (the ideal search; in the base game the
        step search too). ``False``: the CP-SAT models alone.
    log : bool
        Print the solver's search log.

    Returns
    -------
    SolveResult
        ``status`` ('optimal', 'feasible', 'infeasible' or 'unknown'), the best
        ``schedule`` (verified), its ``io`` and the proven ``lower_bound``.
        Ctrl-C stops the search and returns what was found.

    Examples
    --------
    >>> from dags import pyramid_dag
    >>> r = solve(pyramid_dag(3), 4)
    >>> r.status, r.io, r.lower_bound, r.report.valid
    ('optimal', 7, 7, True)
    """
    start = time.perf_counter()
    rules = game_rules(dag, M, variant)
    if not time_limit > 0:
        raise SolverError(f"argument 'time_limit' must be positive, got {time_limit!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SolverError(f"argument 'workers' must be a positive integer, got {workers!r}")
    schedule, report = _start_schedule(dag, rules, hint)
    best = [None, None, None] if schedule is None else [report.io, schedule, report]
    run = _Run(dag, rules, best, progress, start + time_limit, workers, log)
    stats = {"solver": f"ortools {SOLVER_VERSION}"}
    try:
        if not (dag.needed & (dag.in_degree > 0)).any():
            best[:] = [0, Schedule(), checked_report(dag, Schedule(), rules, "the CP-SAT solver")]
        else:
            share = IDEALS_SHARE if rules.one_shot else IDEALS_BASE_SHARE
            one_shot = _one_shot_by_ideals(dag, rules, best, run, time_limit * share, searches)
            stats["ideals_status"] = one_shot.status
            if rules.one_shot and one_shot.optimal:
                raise _Proven
            chain = stabiliser_chain(dag, time_budget=min(2.0, 0.05 * time_limit)) if symmetry else []
            stats["symmetry_levels"] = len(chain)
            if not rules.one_shot and not one_shot.optimal:
                # Without recomputation the model is exact and small: its optimum is the incumbent
                # the step search and the relaxation below must beat or match, and often the base optimum.
                no_recompute = Rules.make(rules.M, "+".join(["one-shot"] + (["nodel"] if rules.nodel else [])))
                pm = _model(dag, no_recompute, best, chain)
                run.deadline = start + time_limit / 2
                stats["one_shot_status"] = run.solve(pm, proves_bound=False).name
                run.deadline = start + time_limit
            if rules.variant == "base" and searches and run.time_left:
                found = _base_by_steps(dag, rules, best, run, start + time_limit * STEPS_END)
                stats["steps_status"] = "optimal" if best[0] == run.lower else found.status
                if best[0] == run.lower:
                    raise _Proven
            pm = _model(dag, rules, best, chain)
            stats.update(steps=pm.num_steps, variables=len(pm.model.proto.variables),
                         constraints=len(pm.model.proto.constraints))
            status, cuts = cp_model.UNKNOWN, 0
            while run.time_left:
                status = run.solve(pm)
                if status != cp_model.OPTIMAL or best[0] == run.lower:
                    break
                # The relaxation's optimum did not decode: cut off or charge its transitions.
                added = _cut_transitions(pm, run.solver.boolean_value, run.deadline)
                if not added:
                    _realise(pm, run)
                    break
                cuts += added
                _hint(pm, best, chain)
            stats.update(cp_status=status.name, cuts=cuts)
            if status == cp_model.INFEASIBLE:
                raise AssertionError("CP-SAT found no solution at or below a verified schedule's I/O (a bug)")
    except _Proven:
        pass
    except KeyboardInterrupt:  # between two solver runs: keep what was found
        run.interrupted = True
    stats["interrupted"] = run.interrupted
    io = best[0]
    if io is not None and io < run.lower:
        raise AssertionError(f"a verified schedule of I/O {io} is below the proven bound {run.lower} (a bug)")
    status_name = "unknown" if io is None else ("optimal" if io == run.lower or io == 0 else "feasible")
    lower = io if status_name == "optimal" else run.lower
    stats["proved_by"] = run.proved_by
    return SolveResult(status_name, best[1], io, lower, time.perf_counter() - start, best[2], rules.M,
                       rules.variant, run.proved_by, stats)


# The share of the time limit the ideal search may take (one-shot; base, where it only gives the incumbent),
# and its cap on states (memory); the part of the time limit by which the step search stops (base), its cap.
IDEALS_SHARE = 0.5
IDEALS_BASE_SHARE = 0.2
IDEALS_MAX_STATES = 3_000_000
STEPS_END = 0.9
STEPS_MAX_STATES = 12_000_000


class _Proven(Exception):
    """A search proved the optimum: nothing is left to solve."""


def _one_shot_by_ideals(dag, rules, best, run, time_limit, searches):
    """The exact one-shot search of :mod:`.ideals`; its schedule becomes the incumbent if better.

    Skipped (status ``unknown``) without ``searches``, for the nodel games,
    which it does not model, and when memory runs out.
    """
    if rules.nodel or not searches:
        return _skipped("ideals", rules)
    # In the one-shot game its bound is a bound of the game: raised as it rises, to the end.
    rising = (lambda io, bound, seconds: run.raise_bound(bound, "ideals")) if rules.one_shot else None
    return _search_first("ideals", rules, best, run, lambda: ideal_search(
        dag, rules.M, time_limit=time_limit, max_states=IDEALS_MAX_STATES, progress=rising))


def _base_by_steps(dag, rules, best, run, deadline):
    """The exact base-game search of :mod:`.steps`, for schedules below the incumbent; its bound is raised as
    it rises, and its schedule becomes the incumbent. Skipped (status ``unknown``) on DAGs beyond its size
    and when memory runs out."""
    time_limit = deadline - time.perf_counter()
    if time_limit <= 0 or dag.num_nodes > STEPS_MAX_NODES:
        return _skipped("steps", rules)
    return _search_first("steps", rules, best, run, lambda: step_search(
        dag, rules.M, time_limit=time_limit, max_states=STEPS_MAX_STATES, upper_bound=best[0],
        progress=lambda io, bound, seconds: run.raise_bound(bound, "steps")))


def _skipped(method, rules):
    return SolveResult("unknown", None, None, 0, 0.0, None, rules.M, rules.variant, method)


def _search_first(method, rules, best, run, search):
    """The result of ``search()``, one of the exact searches run before the model; a proven schedule better
    than the incumbent replaces it. Status ``unknown`` if memory runs out."""
    try:
        r = search()
    except MemoryError:
        return _skipped(method, rules)
    if r.optimal and (best[0] is None or r.io < best[0]):
        best[:] = [r.io, r.schedule, r.report]
        run.notify()
    return r


# Reload counts tried one by one before a transition is charged this many.
MAX_RELOADS = 3


def _cut_transitions(pm, value, deadline):
    """Cut off or charge the transitions of the solution that no schedule makes as it counts them.

    Returns the number of cuts added.
    """
    inst, M = pm.inst, pm.rules.M
    universe = set(inst.preds)
    added = 0
    for t in sorted({t for (t, v), var in pm.rc.items() if value(var)}):
        sets = pm.transition(value, t)
        if time.perf_counter() > deadline or reach(inst.preds, *sets, M, reloads=0, deadline=deadline)[0] is not False:
            continue
        if reach(inst.preds, *sets, M, deadline=deadline)[0] is False:
            pm.add_cut(*generalise(inst.preds, *sets, M, universe, deadline=deadline))
            added += 1
            continue
        for needed in range(1, MAX_RELOADS + 2):
            if needed > MAX_RELOADS or reach(inst.preds, *sets, M, reloads=needed, deadline=deadline)[0] is not False:
                pm.add_cut(*generalise(inst.preds, *sets, M, universe, reloads=needed - 1, deadline=deadline),
                           reloads=needed)
                added += 1
                break
    return added


def _realise(pm, run):
    """Look among the relaxation's optimal solutions for one that decodes to a valid schedule.

    Recomputes are minimised; a solution whose order and recomputes did not
    decode is excluded, until one decodes or time runs out.
    """
    m = pm.model
    m.add(pm.cost == run.lower)
    m.clear_objective()
    m.minimize(sum(pm.rc.values()))
    m.clear_hints()
    while run.time_left and run.best[0] != run.lower:
        status = run.solve(pm, proves_bound=False, stop_when_realised=True)
        if run.best[0] == run.lower or status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return
        lits = [var if run.solver.boolean_value(var) else ~var for var in [*pm.x.values(), *pm.rc.values()]]
        m.add_bool_or([~lit for lit in lits])
