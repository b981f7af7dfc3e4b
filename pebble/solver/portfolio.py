"""The exact solver: the searches and the CP-SAT model in stages, within a time and memory budget.

:func:`solve` runs a fixed sequence of stages over one :class:`Incumbent`
(the best verified schedule and the best proven lower bound). Each stage has
its own deadline, fixed at the start as a share of the time limit
(:class:`Policy`); a stage that is not for the variant, or that starts with
the optimum already proven or no time left, is skipped. Stages stop at their
deadline, on Ctrl-C, or when the memory budget is spent, and keep what they
found. The stages at length: ``docs/solver-portfolio.md``.

======================  ===================  ===================  ==================  ==================
stage (share of time)   base                 one-shot             nodel               one-shot+nodel
======================  ===================  ===================  ==================  ==================
start (at once)         heuristic, trivial   heuristic, trivial   heuristic, trivial  heuristic, trivial
ideals (to 0.2 / 0.5)   incumbent only       **proves**, bound    --                  --
no-recompute model      incumbent (0.5*)     --                   incumbent (0.5*)    --
steps (to 0.9)          **proves**, bound    --                   --                  --
model (to 1.0)          relaxation: bound    **proves**, bound    relaxation: bound   **proves**, bound
fallback                if no model fits     if no model fits     if no model fits    if no model fits
======================  ===================  ===================  ==================  ==================

*start*: the general heuristic's schedule (or the ``hint``), verified, and
the trivial bound (each needed input loaded, each output stored; it proves
the optimum when the schedule meets it). *ideals*: :func:`.ideals.ideal_search`,
exact for one-shot; in the base game its optimum is a schedule to beat (DAGs
of at most 500 nodes: ``Policy.ideals_max_nodes``). The
*no-recompute model* is the CP-SAT model of the game without recomputation,
exact and small; its optimum is a base (nodel) schedule (skipped when the
ideal search found the one-shot optimum, which is that schedule; * to the
end when the variant's model will not fit). *steps*:
:func:`.steps.step_search` for schedules below the incumbent (DAGs of at most
62 nodes). *model*: the CP-SAT model of :mod:`.cpsat_model` for the variant
(with recomputation a relaxation: its bound is a bound, a solution that
decodes is a schedule), cut and solved again while time remains. The model
is built only if :func:`.cpsat_model.model_size` says it fits in the memory
left and can be built in about the time left; otherwise, or if building
runs out of time or memory, the *fallback* says so and the result keeps the start's schedule and bound (``feasible``).
``proved_by`` names the stage whose bound met the schedule (``trivial``,
``ideals``, ``steps`` or ``cp-sat``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dags.core import takes_dag

from ..engine import verify
from ..moves import DELETE, STORE, Schedule, as_codes
from ..rules import Rules
from ..strategies import heuristic_schedule
from .budget import Budget, default_memory_limit, rss
from .cpsat_model import (
    BYTES_PER_TERM,
    SOLVER_VERSION,
    TERMS_PER_SECOND,
    CpSatRun,
    build_model,
    cp_model,
    cut_transitions,
    hint,
    model_size,
    realise,
)
from .ideals import ideal_search
from .results import SolverError, SolveResult, checked_report, game_rules
from .steps import MAX_NODES as STEPS_MAX_NODES
from .steps import step_search
from .symmetry import stabiliser_chain

__all__ = ["solve", "cpsat_solve", "Policy", "Incumbent", "STAGES", "trivial_bound"]


@dataclass(frozen=True)
class Policy:
    """How a solve shares its time and memory among the stages.

    Shares are fractions of the time limit at which a stage must stop
    (measured from the start); state caps bound the searches (and so their
    memory, with the bytes a state takes); the memory budget itself is the
    ``memory_limit`` of :func:`solve`.
    """

    ideals_share: float = 0.5  # one-shot: the ideal search proves, so it may take half
    ideals_base_share: float = 0.2  # base: it only gives the incumbent
    ideals_max_states: int = 3_000_000
    # The ideal search checks its clock every 256 expansions, and an expansion costs about the DAG's size
    # squared: beyond this many nodes it could overrun its share by more than seconds, and it proves nothing there.
    ideals_max_nodes: int = 500
    ideals_bytes_per_state: int = 400
    no_recompute_end: float = 0.5
    steps_end: float = 0.9
    steps_max_states: int = 12_000_000
    steps_bytes_per_state: int = 300
    symmetry_share: float = 0.05
    symmetry_seconds: float = 2.0
    model_bytes_per_term: int = BYTES_PER_TERM
    model_terms_per_second: int = TERMS_PER_SECOND  # a model that would take over twice the time left is not built


@dataclass
class Incumbent:
    """The best verified schedule of a solve and the best proven lower bound, with what proved it."""

    rules: Rules
    progress: object = None
    start: float = field(default_factory=time.perf_counter)
    io: int | None = None
    schedule: Schedule | None = None
    report: object = None
    lower: int = 0
    proved_by: str | None = None

    @property
    def proven(self) -> bool:
        return self.io is not None and self.io <= self.lower

    def _notify(self):
        if self.progress is not None:
            self.progress(self.io, self.lower, time.perf_counter() - self.start)

    def offer(self, schedule, report) -> bool:
        """Keep ``schedule`` (its verifier's ``report`` valid) if it is better; True if kept."""
        if self.io is not None and report.io >= self.io:
            return False
        if report.io < self.lower:
            raise AssertionError(f"a verified schedule of I/O {report.io} is below the proven bound {self.lower} "
                                 f"(a bug)")
        self.io, self.schedule, self.report = report.io, schedule, report
        self._notify()
        return True

    def raise_bound(self, bound, by) -> bool:
        """Keep ``bound`` (proven by ``by``) if it is higher; True if kept."""
        if bound <= self.lower:
            return False
        if self.io is not None and bound > self.io:
            raise AssertionError(f"{by} proved a bound {bound} above a verified schedule of I/O {self.io} (a bug)")
        self.lower, self.proved_by = bound, by
        self._notify()
        return True


@dataclass
class _Solve:
    """One run of :func:`solve`: the instance, the incumbent, the budget and what the stages report."""

    dag: object
    rules: Rules
    incumbent: Incumbent
    budget: Budget
    time_limit: float
    policy: Policy
    run: CpSatRun
    searches: bool
    symmetry: bool
    notes: object
    stats: dict
    chain: list | None = None
    model_refused: bool = False

    def deadline(self, share):
        return self.incumbent.start + share * self.time_limit

    def note(self, text):
        self.stats.setdefault("notes", []).append(text)
        if self.notes is not None:
            self.notes(text)

    def symmetry_chain(self):
        if self.chain is None:
            seconds = min(self.policy.symmetry_seconds, self.policy.symmetry_share * self.time_limit)
            self.chain = stabiliser_chain(self.dag, time_budget=seconds) if self.symmetry else []
            self.stats["symmetry_levels"] = len(self.chain)
        return self.chain

    def states_that_fit(self, cap, bytes_per_state):
        return max(0, min(cap, self.budget.bytes_left() // bytes_per_state))


def trivial_bound(dag) -> int:
    """Loads of the needed inputs that some compute reads, plus stores of the outputs that are computed."""
    needed = dag.needed
    sources = dag.in_degree == 0
    read = {int(u) for v in range(dag.num_nodes) if needed[v] and not sources[v] for u in dag.predecessors(v)}
    return sum(1 for u in read if sources[u]) + sum(1 for v in dag.outputs if not sources[v])


def _nodel_schedule(dag, schedule):
    """``schedule`` with a store before each delete of a value not blue, as the nodel game requires."""
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
    return Schedule(codes)


def _stage_start(s: _Solve, hint_schedule):
    """The warm start (the heuristic's schedule, a given one, or none) and the trivial bound."""
    dag, rules, inc = s.dag, s.rules, s.incumbent
    if not (dag.needed & (dag.in_degree > 0)).any():
        inc.offer(Schedule(), checked_report(dag, Schedule(), rules, "the solver"))
    elif hint_schedule is None:
        schedule = heuristic_schedule(dag, rules.M)
        if rules.nodel:
            schedule = _nodel_schedule(dag, schedule)
        inc.offer(schedule, checked_report(dag, schedule, rules, "the warm start"))
    elif hint_schedule is not False:
        schedule = Schedule(as_codes(hint_schedule, dag))
        report = verify(dag, schedule, rules.M, variant=rules.variant)
        if not report.valid:
            raise SolverError(f"argument 'hint': not a valid schedule for M={rules.M} {rules.variant}: "
                              f"{report.violation}")
        inc.offer(schedule, report)
    inc.raise_bound(trivial_bound(dag) if inc.io != 0 else 0, "trivial")
    return "done"


def _stage_ideals(s: _Solve):
    """The ideal search (one-shot and base): proves in one-shot; in base its optimum is the incumbent."""
    rules, inc = s.rules, s.incumbent
    if s.dag.num_nodes > s.policy.ideals_max_nodes:
        return f"over {s.policy.ideals_max_nodes} nodes"
    share = s.policy.ideals_share if rules.one_shot else s.policy.ideals_base_share
    seconds = s.deadline(share) - time.perf_counter()
    states = s.states_that_fit(s.policy.ideals_max_states, s.policy.ideals_bytes_per_state)
    if seconds <= 0 or states < 1:
        return "no budget"
    # In the one-shot game its bound is a bound of the game: raised as it rises.
    rising = (lambda io, bound, sec: inc.raise_bound(bound, "ideals")) if rules.one_shot else None
    try:
        r = ideal_search(s.dag, rules.M, time_limit=seconds, max_states=states, progress=rising)
    except MemoryError:
        return "out of memory"
    if r.optimal:
        inc.offer(r.schedule, r.report)
    s.stats["ideals_states"] = r.stats.get("states_seen")
    return r.status


def _stage_no_recompute(s: _Solve):
    """Base and nodel: the exact CP-SAT model of the game without recomputation, for an incumbent to beat."""
    rules = s.rules
    game = Rules.make(rules.M, "+".join(["one-shot"] + (["nodel"] if rules.nodel else [])))
    end = s.policy.no_recompute_end
    if not _fits(s, rules)[0]:  # the relaxation will not be built: this model may have its time too
        s.note(f"the {rules.variant} model will not fit: the {game.variant} model may take the whole time")
        end = 1.0
    return _solve_model(s, game, s.deadline(end), proves_bound=False)


def _stage_steps(s: _Solve):
    """Base: the step search for schedules below the incumbent; proves, and its bound rises as it runs."""
    rules, inc = s.rules, s.incumbent
    seconds = s.deadline(s.policy.steps_end) - time.perf_counter()
    states = s.states_that_fit(s.policy.steps_max_states, s.policy.steps_bytes_per_state)
    if s.dag.num_nodes > STEPS_MAX_NODES:
        return f"over {STEPS_MAX_NODES} nodes"
    if seconds <= 0 or states < 1:
        return "no budget"
    try:
        r = step_search(s.dag, rules.M, time_limit=seconds, max_states=states, upper_bound=inc.io,
                        progress=lambda io, bound, sec: inc.raise_bound(bound, "steps"))
    except MemoryError:
        return "out of memory"
    if r.optimal:
        inc.offer(r.schedule, r.report)
    inc.raise_bound(r.lower_bound, "steps")  # with an upper bound and nothing below it, that bound
    s.stats["steps_states"] = r.stats.get("states_seen")
    return "optimal" if inc.proven else r.status


def _stage_model(s: _Solve):
    """The CP-SAT model of the variant (a relaxation with recomputation), cut and solved again while it pays."""
    status = _solve_model(s, s.rules, s.deadline(1.0), proves_bound=True)
    s.model_refused = status in _NOT_BUILT
    return status


def _stage_fallback(s: _Solve):
    """When no model fitted: say so; the result is the start's schedule (verified) and the best bound."""
    s.note(f"fallback: keeping the best verified schedule (I/O {s.incumbent.io}) and the proven bound "
           f"{s.incumbent.lower} ({s.incumbent.proved_by})")
    return "done"


class _Verdict:
    """Whether a model fits in the memory left (truthy), and why not."""

    def __init__(self, why=None):
        self.why = why

    def __bool__(self):
        return self.why is None


def _fits(s: _Solve, rules):
    """``(verdict, terms)``: whether the model of ``rules`` fits in the memory left, by its size counted first."""
    have = s.budget.bytes_left()
    left = f"the {max(have, 0) / 2**30:.2f} GiB left of the memory budget: not built"
    if s.dag.num_nodes ** 2 // 4 > have:  # the ancestor and descendant bit sets that model_size itself needs
        return _Verdict(f"the {rules.variant} model of {s.dag.num_nodes} nodes does not fit in {left}"), None
    variables, terms = model_size(s.dag, rules)
    need = terms * s.policy.model_bytes_per_term
    s.stats[f"model_{rules.variant}"] = {"variables": variables, "terms": terms}
    if need > have:
        return _Verdict(f"the {rules.variant} model (about {variables} variables, {terms} terms, "
                        f"{need / 2**30:.2f} GiB) does not fit in {left}"), terms
    return _Verdict(), terms


def _solve_model(s: _Solve, rules, deadline, *, proves_bound):
    """Build the model of ``rules`` if it fits in the budget, and solve it until ``deadline``."""
    inc, run = s.incumbent, s.run
    if not run.time_left(deadline):
        return "no time"
    fits, terms = _fits(s, rules)
    if not fits:
        s.note(fits.why)
        return "too large"
    build_seconds = terms / s.policy.model_terms_per_second
    if build_seconds > 2 * (deadline - time.perf_counter()):
        s.note(f"the {rules.variant} model (about {terms} terms) would take about {build_seconds:.0f} s to build, "
               f"more than the time left: not built")
        return "too slow to build"
    budget = s.budget.until(deadline)
    pm = build_model(s.dag, rules, inc, s.symmetry_chain(), budget)
    if not pm.complete:
        s.note(f"building the {rules.variant} model ran out of {budget.reason}: not solved")
        return f"out of {budget.reason}"
    s.stats.update(steps=pm.num_steps, variables=len(pm.model.proto.variables),
                   constraints=len(pm.model.proto.constraints))
    status, cuts = cp_model.UNKNOWN, 0
    while run.time_left(deadline) and not inc.proven:
        status = run.solve(pm, deadline, proves_bound=proves_bound)
        if not proves_bound or status != cp_model.OPTIMAL or inc.proven:
            break
        # The relaxation's optimum did not decode: cut off or charge its transitions.
        added = cut_transitions(pm, run.solver.boolean_value, deadline)
        if not added:
            realise(pm, run, deadline)
            break
        cuts += added
        hint(pm, inc, s.symmetry_chain())
    if status == cp_model.INFEASIBLE:
        raise AssertionError("CP-SAT found no solution at or below a verified schedule's I/O (a bug)")
    s.stats["cuts"] = s.stats.get("cuts", 0) + cuts
    return "optimal" if inc.proven else status.name.lower()


# What _solve_model returns when it did not build the model.
_NOT_BUILT = ("too large", "too slow to build", "out of time", "out of memory")

# The stages in the order they run: name, whether it is for this solve (the table), and the stage (its status).
STAGES = (
    ("ideals", lambda s: s.searches and not s.rules.nodel, _stage_ideals),
    ("no-recompute", lambda s: not s.rules.one_shot and s.stats["stages"].get("ideals") != "optimal",
     _stage_no_recompute),
    ("steps", lambda s: s.searches and s.rules.variant == "base", _stage_steps),
    ("model", lambda s: True, _stage_model),
    ("fallback", lambda s: s.model_refused, _stage_fallback),
)


@takes_dag
def solve(dag, M, *, variant="base", time_limit=60.0, workers=2, seed=0, deterministic_time=None,
          memory_limit=None, policy=None, hint=None, progress=None, notes=None, symmetry=True, searches=True,
          log=False) -> SolveResult:
    """An optimal red-blue pebbling, or the best found and a proven lower bound; see the module docstring.

    Parameters
    ----------
    dag : dags.DAG
    M : int
        Red pebbles; ``M < dag.min_memory()`` raises :class:`SolverError` at once.
    variant : {'base', 'one-shot', 'nodel', 'one-shot+nodel'}
    time_limit : float
        Seconds for the whole solve; every stage stops by its share of it.
    workers : int
        CP-SAT search workers (threads).
    seed : int
        CP-SAT's random seed.
    deterministic_time : float, optional
        CP-SAT's deterministic time limit per solver call: with ``workers=1``
        and state caps in ``policy`` a solve that meets none of the wall-clock
        deadlines is repeatable on any machine.
    memory_limit : int, optional
        Bytes the process may hold (resident); default 8 GiB or half the
        machine's memory. The searches are capped to fit, a model whose size
        estimate does not fit is not built, and building stops when it is spent.
    policy : Policy, optional
        Shares of time and state caps of the stages.
    hint : Schedule, sequence of moves, or False, optional
        A valid schedule to start from (default: the general heuristic's);
        ``False`` for no warm start.
    progress : callable, optional
        ``progress(io, lower_bound, seconds)``, called when the best schedule
        (``io``, ``None`` before the first) or the lower bound improves.
    notes : callable, optional
        ``notes(text)`` when a stage starts or a budget decides something.
    symmetry : bool
        Break the DAG's automorphisms in the model.
    searches : bool
        Run the exact searches (ideals, steps). ``False``: the CP-SAT models alone.
    log : bool
        Print the solver's search log.

    Returns
    -------
    SolveResult
        ``status`` ('optimal', 'feasible' or 'unknown'), the best ``schedule``
        (verified), its ``io``, the proven ``lower_bound`` and ``proved_by``;
        ``stats['stages']`` the status of each stage that ran. Ctrl-C stops
        the search and returns what was found.

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
    if memory_limit is None:
        memory_limit = default_memory_limit()
    if isinstance(memory_limit, bool) or not isinstance(memory_limit, int) or memory_limit < 1:
        raise SolverError(f"argument 'memory_limit' must be a positive number of bytes, got {memory_limit!r}")
    if deterministic_time is not None and not deterministic_time > 0:
        raise SolverError(f"argument 'deterministic_time' must be positive, got {deterministic_time!r}")
    policy = policy or Policy()
    method = "solve" if searches else "cp-sat"
    inc = Incumbent(rules, progress, start)
    budget = Budget(start + time_limit, memory_limit)
    run = CpSatRun(inc, workers=workers, seed=seed, deterministic_time=deterministic_time,
                   memory_limit=memory_limit - rss(), log=log)
    stats = {"solver": f"ortools {SOLVER_VERSION}", "stages": {}, "memory_limit": memory_limit}
    s = _Solve(dag, rules, inc, budget, time_limit, policy, run, searches, symmetry, notes, stats)
    if notes is not None:
        notes(f"start: warm start and trivial bound (budget {time_limit:g} s, {memory_limit / 2**30:.2f} GiB)")
    stats["stages"]["start"] = _stage_start(s, hint)
    try:
        for name, applies, stage in STAGES:
            if inc.proven or run.interrupted or not applies(s):  # each stage checks its own time and memory
                continue
            if notes is not None:
                notes(f"{name}: from {time.perf_counter() - start:.2f} s")
            stats["stages"][name] = stage(s)
    except KeyboardInterrupt:  # between two solver runs: keep what was found
        run.interrupted = True
    stats["interrupted"] = run.interrupted
    stats["bound_by"] = inc.proved_by  # what proved the lower bound, proven optimal or not
    io = inc.io
    status = "unknown" if io is None else ("optimal" if inc.proven else "feasible")
    lower = io if status == "optimal" else inc.lower
    return SolveResult(status, inc.schedule, io, lower, time.perf_counter() - start, inc.report, rules.M,
                       rules.variant, method, stats, proved_by=inc.proved_by if status == "optimal" else None)


def cpsat_solve(dag, M, **options) -> SolveResult:
    """:func:`solve` with the CP-SAT models alone (method ``cp-sat``: no ideal or step search)."""
    return solve(dag, M, searches=False, **options)
