"""The phase-counting lemma behind the partition bounds of matmul, attention and approx.

This is Hong & Kung's argument (STOC 1981) in the form used throughout this
package, with every constant explicit and recomputation allowed.

Phases. Take any complete pebbling with Q I/Os and any ``R >= 1``. Cut its
moves after every R-th load or store: ``h`` phases, all but the last with
exactly R I/Os, so ``Q >= R (h - 1)``. For a phase, let ``D`` be the nodes
red at its start or loaded during it, and ``Surv`` the nodes red at its end
or stored during it. At most M pebbles are red at a cut (a cut follows an
I/O move, never a sliding compute awaiting its delete), so
``|D| + |Surv| <= 2M + R``.

Witness events. Let o be an output and T a set of non-source ancestors of o,
containing o, in which every node but o has exactly one successor in the DAG
and that successor is in T (an in-tree of o, every one of its nodes feeding
only its parent). Walk back from the store that leaves o's final blue pebble:
its red pebble came from a compute of o (or from a load of a blue pebble
that an earlier store made; walk back to that store). At the compute, every
operand in T was red, put there by one of its own computes, possibly via a
store and a load; continue from there. This picks one compute event ``e(v)``
per node v of T with ``e(u)`` before ``e(v)`` when u feeds v, and the value
that ``e(u)`` produced is the one ``e(v)`` used. If ``e(v)`` lies in a phase
and the event of v's parent (or, for v = o, the final store) does not, the
value of v must cross the end of the phase: v is red at the end or stored
during it, so v is in ``Surv``. Hence: *for every node of T whose event lies
in a phase, walking up T from it, the first node whose parent's event lies
in a later phase (or o itself) is in that phase's Surv*. Sources are never
computed, so a source red at an event in a phase is in that phase's D.

The family bounds count N "work" events (one chosen compute per product
node), bound by W(K) the events one phase can hold when ``|D| + |Surv| <= K``,
and conclude ``h >= ceil(N / W(2M + R))``, so
``Q >= max_R R (ceil(N / W(2M + R)) - 1)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["phase_bound", "loomis_whitney_work", "format_phase"]


def loomis_whitney_work(K, factor=1.0):
    """``factor * (K/3)^(3/2)``: the most of ``sqrt(x y z)`` over ``x + y + z <= K``, scaled.

    Loomis-Whitney: a set of triples has at most ``sqrt(|A| |B| |C|)``
    elements, ``A``, ``B``, ``C`` its three projections onto pairs of
    coordinates; with ``|A| + |B| + |C| <= K`` the maximum is at ``K/3`` each.
    """
    K = np.asarray(K, dtype=np.float64)
    return factor * (K / 3.0) ** 1.5


def phase_bound(count, M, work, *, max_phase=None):
    """``max_R R * (ceil(count / work(2M + R)) - 1)`` over phase lengths ``R = 1 .. max_phase``.

    Parameters
    ----------
    count : int
        Work events every complete pebbling performs.
    M : int
    work : callable
        ``K -> `` the most events a phase with ``|D| + |Surv| <= K`` holds
        (vectorised over a float array).
    max_phase : int, optional
        Largest R tried; default ``64 M + 64`` (for the work functions of
        this package the best R is ``2M`` to ``4M``). Every R gives a valid
        bound, so the range only affects how good the maximum is.

    Returns
    -------
    (value, R, W) : (int, int, float)
        The bound (at least 0), the best phase length, and the events a phase
        holds there: ``floor(work(2M + R))``, a whole number.

    Examples
    --------
    >>> phase_bound(1000, 4, lambda K: K ** 2 / 4)   # R = 11: at most floor(90.25) = 90 events, 12 phases
    (121, 11, 90.0)
    """
    R = np.arange(1, (max_phase or 64 * M + 64) + 1, dtype=np.float64)
    W = np.minimum(np.asarray(work(2.0 * M + R), dtype=np.float64), float(count))
    # A phase holds a whole number of events: at most floor(W). The guard lifts float noise before the floor
    # (erring towards more events per phase, so fewer phases: never above the true bound); at least 1.
    W = np.maximum(np.floor(W + 1e-9), 1.0)
    phases = np.ceil(count / W - 1e-9)
    values = R * (phases - 1)
    best = int(np.argmax(values))
    return max(0, int(values[best])), int(R[best]), float(W[best])


def format_phase(count_text, value, R, W, M) -> str:
    """The phase bound in words, with its numbers."""
    phases = value // R + 1
    return (f"phases of R = {R} I/Os each hold at most W(2M+R = {2 * M + R}) = {W:.4g} of the "
            f"{count_text} events, so at least {phases} phases: {R} * ({phases} - 1) = {value}")
