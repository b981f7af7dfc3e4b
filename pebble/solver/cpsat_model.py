"""The CP-SAT model of optimal red-blue pebbling, its decoder and its cuts.

Time is indexed by the first computes of the needed nodes; loads, deletes and
(base game) recomputations live in the transitions between them, in a normal
form (stores early, loads late, deletes early) that removes the freedom a
plain time-expanded model (:mod:`.plain_model`) wastes effort on. Without
recomputation the model is exact; with it, it is a relaxation with no
horizon whose bound is a bound of the base game, and whose transitions are
settled exactly by :mod:`.transition_search` (decoding, cuts). The
derivation is in ``docs/solver-model.md``; :mod:`.portfolio` runs the model.

:func:`model_size` counts, before anything is built, the variables and
literal occurrences of the model, so that a solve can refuse a model that
would not fit in its memory budget; :class:`PebblingModel` checks its
:class:`~.budget.Budget` while it builds and stops (``complete = False``)
when it is spent.
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
from ..moves import COMPUTE, DELETE, LOAD, STORE, Schedule
from ..rules import Rules
from .results import checked_report
from .symmetry import canonical_schedule
from .transition_search import generalise, reach

__all__ = ["PebblingModel", "CpSatRun", "model_size", "build_model", "cut_transitions", "realise",
           "BYTES_PER_TERM", "TERMS_PER_SECOND", "SOLVER_VERSION"]

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


def model_size(dag, rules: Rules) -> tuple[int, int]:
    """``(variables, terms)`` of the model of ``rules`` on ``dag``, counted before it is built.

    Terms are literal occurrences in constraints, per family as
    :class:`PebblingModel` adds them, up to small constant factors; the
    memory a model takes, in Python and in the solver, grows with them
    (:data:`BYTES_PER_TERM` each). Costs a pass over the compute and red windows.
    """
    inst = _Instance(dag, rules)
    recompute = not rules.one_shot
    K = inst.K
    nx = sum(inst.hi[v] - inst.lo[v] + 1 for v in inst.computes)
    reds = np.zeros(K + 2, np.int64)  # per step: red variables (ends of transition t), as differences first
    rcs = np.zeros(K + 2, np.int64)  # per step: recompute variables
    before = 0  # terms of the "computed before t" sums of the ld (and rc) variables of computed values
    factor = (2 if recompute else 1) * (2 if rules.nodel else 1)
    for v, (a, b) in inst.red_window.items():
        reds[a] += 1
        reds[b + 1] -= 1
        if not inst.is_source[v]:
            before += factor * _ramp_sum(a, b, inst.lo[v], inst.hi[v] + 1 - inst.lo[v])
            if recompute:
                rcs[a] += 1
                rcs[b + 1] -= 1
    reds, rcs = np.cumsum(reds)[:K + 1], np.cumsum(rcs)[:K + 1]
    degree = sum(len(p) for p in inst.preds.values()) / max(1, len(inst.preds))
    nr, nrc = int(reds.sum()), int(rcs.sum())
    variables = nx + len(inst.computes) * 2 + nr * 2 + nrc
    terms = 4 * nx + nx * degree + 8 * nr + before + nr * 3 * degree + len(inst.computes) * K
    if recompute:
        terms += nrc * (6 + 4 * degree)
        # Room at the recomputes: three sums over the red values per candidate, per transition.
        starts = np.concatenate(([0], reds[:-1])) + 1
        terms += int((rcs * (3 * reds + 3 * starts + 12) + starts * (rcs * degree + 6)).sum())
        variables += int((2 * reds + starts + 2 * rcs)[rcs > 0].sum())
    return variables, int(terms)


def _ramp_sum(a, b, lo, cap):
    """The sum over t in [a, b] of min(max(t - lo, 0), cap)."""
    def upto(t):  # sum over t' < t
        if t <= lo:
            return 0
        ramp = min(t - lo, cap)  # t' - lo for t' in (lo, lo + ramp): 0 + 1 + ... + (ramp - 1)
        return ramp * (ramp - 1) // 2 + max(0, t - lo - cap) * cap

    return upto(b + 1) - upto(a)


# Resident bytes per literal occurrence while the model is built and solved: the Python expressions, the
# model's proto and CP-SAT's copy of it (up to 90 measured on pyramids and layered DAGs, with room to spare);
# and terms built per second in Python (about 450 000 measured on a loaded machine).
BYTES_PER_TERM = 150
TERMS_PER_SECOND = 450_000


class PebblingModel:
    """The CP-SAT model of one instance; see the module docstring.

    Each ``_add_*`` method adds one family of constraints; ``add_cut`` adds
    a cut found on a solution (``transition`` gives its sets). ``decode``
    turns variable values into moves; ``project`` maps a schedule onto a
    (hint) assignment.
    """

    def __init__(self, dag, rules: Rules, *, upper_bound=None, chain=(), budget=None):
        self.inst = inst = _Instance(dag, rules)
        self.rules = rules
        self.recompute = not rules.one_shot
        self.budget = budget
        self.complete = False  # True once every family is added within the budget
        self._ticks = 0
        m = self.model = cp_model.CpModel()
        K = inst.K
        self.num_steps = K
        self.x, self.r, self.ld, self.rc, self.s = {}, {}, {}, {}, {}
        self.extra = {}  # step -> reloads charged by cuts (see add_cut)
        for v in inst.computes:
            if self._spent(force=True):
                return
            for t in range(inst.lo[v], inst.hi[v] + 1):
                self.x[t, v] = m.new_bool_var(f"x[{t},{v}]")
            self.s[v] = m.new_bool_var(f"s[{v}]")
        for v, (a, b) in inst.red_window.items():
            if self._spent(force=True):
                return
            for t in range(a, b + 1):
                self.r[t, v] = m.new_bool_var(f"r[{t},{v}]")
                self.ld[t, v] = m.new_bool_var(f"ld[{t},{v}]")
                if self.recompute and not inst.is_source[v]:
                    self.rc[t, v] = m.new_bool_var(f"rc[{t},{v}]")
        self.pos = {v: m.new_int_var(inst.lo[v], inst.hi[v], f"pos[{v}]") for v in inst.computes}
        families = [lambda: self._add_order(chain), self._add_operands, self._add_supply, self._add_capacity,
                    self._add_blue, self._add_dominance]
        if self.recompute:
            families.append(self._add_recompute)
        if rules.nodel:
            families.append(self._add_nodel)
        for add in families:
            add()
            if self._spent(force=True):
                return
        self.io = sum(self.ld.values()) + sum(self.s.values())
        for v in inst.succ:
            if inst.is_source[v]:
                m.add(sum(self._at(self.ld, t, v) for t in range(K)) >= 1)
        if upper_bound is not None:
            m.add(self.io <= upper_bound)
        m.minimize(self.io)
        self.complete = not self._spent(force=True)

    def _spent(self, force=False):
        """Whether the budget ran out; checked in building loops, every 512th call unless ``force``."""
        self._ticks += 1
        if self.budget is None or not (force or self._ticks % 512 == 0):
            return self.budget is not None and self.budget.reason is not None
        return self.budget.exceeded()

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
        for (t, _v), var in self.x.items():
            by_step[t].append(var)
        for t in range(inst.K):
            m.add_exactly_one(by_step[t])
        for v in inst.computes:
            if self._spent():
                return
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
            if self._spent():
                return
            for u in self.inst.preds[v]:
                self.model.add_implication(var, self.r[t, u])

    def _add_supply(self):
        """A value red at step t was red after step t-1, or was loaded or recomputed since."""
        for (t, v), var in self.r.items():
            if self._spent():
                return
            self.model.add(var <= self._red_after(t - 1, v) + self._at(self.ld, t, v) + self._at(self.rc, t, v))

    def _add_capacity(self):
        """At each compute, at most M - 1 red values besides the result."""
        steps = defaultdict(list)
        for (t, _v), var in self.r.items():
            steps[t].append(var)
        for lits in steps.values():
            if len(lits) > self.rules.M - 1:
                self.model.add(sum(lits) <= self.rules.M - 1)

    def _add_blue(self):
        """Outputs are stored; only a stored, computed value is loaded; recomputes follow the first."""
        m, inst = self.model, self.inst
        for v in inst.computes:
            if v in inst.outputs:
                m.add(self.s[v] == 1)
        for (t, v), var in self.ld.items():
            if self._spent():
                return
            if not inst.is_source[v]:
                m.add_implication(var, self.s[v])
                m.add(var <= self._computed_before(t, v))
        for (t, v), var in self.rc.items():
            if self._spent():
                return
            m.add(var <= self._computed_before(t, v))

    def _add_dominance(self):
        """Loads just before a read, deletes right after the last read, stores only if loaded later."""
        m, inst, rules = self.model, self.inst, self.rules
        for (t, v), var in self.ld.items():
            m.add(var <= self._used(t, v) + self._used_by_rc(t, v))
        for (t, v), var in self.r.items():
            if self._spent():
                return
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
            if self._spent():
                return
            m.add(var <= self._at(self.r, t, v) + self._used_by_rc(t, v))
            for u in inst.preds[v]:
                m.add(var <= self._red_after(t - 1, u) + self._at(self.ld, t, u) + self._at(self.rc, t, u))
        for t in range(1, inst.K):
            if self._spent(force=True):
                return
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
            if self._spent(force=True):
                return
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
            if self._spent():
                return
            if not inst.is_source[v]:
                m.add(var >= self._computed_before(t, v) - self.s[v])
        for (_t, v), var in self.rc.items():
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


class _Decoder(cp_model.CpSolverSolutionCallback):
    """Decodes every solution the solver finds and offers the incumbent those the verifier accepts."""

    def __init__(self, pm: PebblingModel, incumbent, *, stop_when_realised=False, deadline=None):
        super().__init__()
        self.pm = pm
        self.deadline = deadline
        self.incumbent = incumbent
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
        self.incumbent.offer(schedule, report)
        if self.stop_when_realised:
            self.stop_search()


class CpSatRun:
    """Runs CP-SAT on the models of one instance, which share the incumbent.

    ``incumbent`` has ``io``, ``lower``, ``offer(schedule, report)`` and
    ``raise_bound(bound, by)`` (:class:`.portfolio.Incumbent`). Each call of
    :meth:`solve` has its own deadline; ``deterministic_time`` (CP-SAT's
    deterministic seconds per call), ``seed`` and one worker make a run
    repeatable on any machine.
    """

    def __init__(self, incumbent, *, workers, seed=0, deterministic_time=None, memory_limit=None, log=False):
        self.incumbent = incumbent
        self.workers, self.seed, self.log = workers, seed, log
        self.deterministic_time = deterministic_time
        self.memory_limit = memory_limit
        self.interrupted = False
        self.solver = None

    def solve(self, pm, deadline, *, proves_bound=True, stop_when_realised=False):
        """Run the solver on ``pm`` until optimal, ``deadline`` or Ctrl-C; returns the CP-SAT status."""
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers = self.workers
        p.subsolvers.extend(PORTFOLIO[:self.workers])
        p.random_seed = self.seed
        p.log_search_progress = self.log
        p.catch_sigint_signal = False  # OR-tools' own handler aborts the interpreter; ours stops the search
        p.max_time_in_seconds = max(0.01, deadline - time.perf_counter())
        if self.deterministic_time is not None:
            p.max_deterministic_time = self.deterministic_time
        if self.memory_limit is not None:
            p.max_memory_in_mb = max(64, self.memory_limit >> 20)
        bound_by = "cp-sat"
        if proves_bound:
            solver.best_bound_callback = lambda bound: self.incumbent.raise_bound(math.ceil(bound - 1e-6), bound_by)
        callback = _Decoder(pm, self.incumbent, stop_when_realised=stop_when_realised, deadline=deadline)
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
            self.incumbent.raise_bound(math.ceil(solver.best_objective_bound - 1e-6), bound_by)
        self.solver = solver
        return status

    def time_left(self, deadline):
        return deadline - time.perf_counter() > 0.05 and not self.interrupted


def build_model(dag, rules, incumbent, chain, budget=None):
    """The model of ``rules`` capped at the incumbent's I/O, with the incumbent as hint.

    ``complete`` is false on the result if ``budget`` ran out while building.
    """
    pm = PebblingModel(dag, rules, upper_bound=incumbent.io, chain=[(v, orbit) for v, orbit, _ in chain],
                       budget=budget)
    if pm.complete:
        hint(pm, incumbent, chain)
    return pm


def hint(pm, incumbent, chain):
    """Hint the incumbent, mapped by the chain's automorphisms onto the symmetry-broken model."""
    pm.model.clear_hints()
    if incumbent.schedule is not None:
        canonical = canonical_schedule(incumbent.schedule, chain)
        checked_report(pm.inst.dag, canonical, pm.rules, "the symmetry mapping")
        for var, value in pm.project(canonical).items():
            pm.model.add_hint(var, value)


# Reload counts tried one by one before a transition is charged this many.
MAX_RELOADS = 3


def cut_transitions(pm, value, deadline):
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


def realise(pm, run, deadline):
    """Look among the relaxation's optimal solutions for one that decodes to a valid schedule.

    Recomputes are minimised; a solution whose order and recomputes did not
    decode is excluded, until one decodes or time runs out.
    """
    m, incumbent = pm.model, run.incumbent
    m.add(pm.cost == incumbent.lower)
    m.clear_objective()
    m.minimize(sum(pm.rc.values()))
    m.clear_hints()
    while run.time_left(deadline) and incumbent.io != incumbent.lower:
        status = run.solve(pm, deadline, proves_bound=False, stop_when_realised=True)
        if incumbent.io == incumbent.lower or status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return
        lits = [var if run.solver.boolean_value(var) else ~var for var in [*pm.x.values(), *pm.rc.values()]]
        m.add_bool_or([~lit for lit in lits])
