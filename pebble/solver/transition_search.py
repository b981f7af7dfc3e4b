"""One transition of the base-game relaxation, checked exactly.

Between two first computes a schedule may load, delete and recompute. The
CP-SAT relaxation (:mod:`.cpsat_model`) only bounds the room its recomputes need;
:func:`reach` settles a transition exactly, by breadth-first search over red
sets: can fast memory go from the red set ``start`` to one containing
``target``, loading only nodes of ``loadable``, computing only nodes of
``computable`` (operands red), deleting freely, never above M red pebbles?

Reachability is monotone: a larger start, loadable or computable set, or a
smaller target, never hurts. So a transition found impossible also rules
out every transition whose sets are no larger (and whose target is no
smaller), at any step, and so does one that needs some number of reloads
(loads of a value loaded before in the same transition): all such
transitions need as many. :func:`generalise` enlarges the sets as far as
the transition stays impossible, for a cut that covers many solutions.
"""

from __future__ import annotations

import time
from collections import deque

from ..moves import DELETE, LOAD
from .bitmask import lazy_moves, mask_of, move_codes

__all__ = ["reach", "generalise"]


def reach(preds, start, loadable, computable, target, M, *, reloads=None, max_states=200_000, deadline=None):
    """``(answer, moves)``: whether ``target`` can be made red, and (if so) the move codes.

    ``reloads``: at most this many loads of a node loaded before in the
    transition (the relaxation counts each loaded node once); ``None`` for no
    limit. ``answer`` is ``None`` if the search stopped at ``max_states``
    or at ``deadline`` (a ``time.perf_counter()`` value) without deciding.
    Deletes are lazy (a delete only to make
    room), which loses no reachable set, except that the moves begin by
    deleting the start nodes that cannot help (not ancestors of the target);
    red nodes off the target at the end are left for the caller to delete.
    """
    target = set(target)
    relevant, stack = set(), list(target)
    while stack:  # only ancestors of the target through computable nodes matter
        v = stack.pop()
        if v not in relevant:
            relevant.add(v)
            if v in computable:
                stack.extend(preds[v])
    nodes = sorted(relevant)
    bit = {v: 1 << i for i, v in enumerate(nodes)}
    goal = sum(bit[v] for v in target)
    loads = mask_of(i for i, v in enumerate(nodes) if v in loadable)
    operands = [mask_of(i for i, u in enumerate(nodes) if u in preds[v]) if all(u in bit for u in preds[v])
                else -1 for v in nodes]  # -1: an operand is not relevant, so never red
    computes = mask_of(i for i, v in enumerate(nodes) if v in computable and operands[i] >= 0)
    first = (sum(bit[v] for v in start if v in bit), 0, 0)  # red, loaded, reloads used
    parent = {first: None}
    queue = deque([first])
    expanded = 0
    while queue:
        state = queue.popleft()
        expanded += 1
        red, loaded, used = state
        if red & goal == goal:
            moves = []
            while parent[state] is not None:
                state, step = parent[state]
                moves.extend(reversed(step))
            useless = [v << 2 | DELETE for v in sorted(start) if v not in bit]
            return True, useless + moves[::-1]
        if len(parent) > max_states or (deadline is not None and expanded % 64 == 0
                                        and time.perf_counter() > deadline):
            return None, None
        if reloads is None:
            fresh = loads  # any load, no reloads counted
        else:
            fresh = loads & ~loaded if used >= reloads else loads
        for kind, i, deleted, new_red in lazy_moves(red, M, operands, computes, fresh, red):
            if kind == LOAD and reloads is not None:
                b = 1 << i
                nxt = (new_red, loaded | b, used + bool(loaded & b))
            else:
                nxt = (new_red, loaded, used)
            if nxt not in parent:
                codes = move_codes(kind, nodes[i], -1 if deleted < 0 else nodes[deleted])
                parent[nxt] = (state, codes)
                queue.append(nxt)
    return False, None


def generalise(preds, start, loadable, computable, target, M, universe, *, reloads=None, deadline=None):
    """Sets ``(start, loadable, computable, target)`` as large (target as small) as stay impossible.

    Call only for a transition :func:`reach` found impossible with the same
    ``reloads``. Nodes that are not ancestors of the target cannot matter and
    join every set unchecked. After ``deadline`` nothing more is added (an
    undecided check keeps the smaller set: the cut stays valid).
    """
    sets = {"start": set(start), "loadable": set(loadable), "computable": set(computable)}
    target = set(target)

    def impossible():
        return reach(preds, sets["start"], sets["loadable"], sets["computable"], target, M,
                     reloads=reloads, deadline=deadline)[0] is False

    for v in sorted(target):
        target.discard(v)
        if not impossible():
            target.add(v)
    ancestors, stack = set(), list(target)
    while stack:
        v = stack.pop()
        if v not in ancestors:
            ancestors.add(v)
            stack.extend(preds[v])
    for name in ("computable", "loadable", "start"):
        sets[name] |= universe - ancestors
        rest = sorted((universe & ancestors) - sets[name])
        sets[name].update(rest)
        if impossible():
            continue
        sets[name].difference_update(rest)
        for v in rest:
            sets[name].add(v)
            if not impossible():
                sets[name].discard(v)
    return sets["start"], sets["loadable"], sets["computable"], target
