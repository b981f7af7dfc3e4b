"""``pebble verify DAG SCHEDULE -M 16``: check a schedule file and count its I/O."""

from __future__ import annotations

from pebble.engine import Verifier
from pebble.moves import move_text
from pebble.schedule_io import locate_move, moves_around
from proofs import trivial_lower_bound

from .common import add_dag_argument, add_game_arguments, game_kwargs, load_dag_arg, print_json, table


def register(sub):
    p = sub.add_parser("verify", help="check a schedule file move by move and count its I/O",
                       description="Check a schedule (text or binary .pbs) against the rules; exit 0 if valid, "
                                   "1 if not, 2 on a usage or input error.")
    add_dag_argument(p)
    p.add_argument("schedule", metavar="SCHEDULE", help="schedule file (text, binary .pbs, .json or .csv)")
    add_game_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    dag = load_dag_arg(args.dag)
    verifier = Verifier(dag, args.M, **game_kwargs(args, dag))
    report = verifier.check(args.schedule)
    line = None
    if report.violation is not None and report.violation.move is not None:
        line = locate_move(args.schedule, report.violation.index)
    lower = trivial_lower_bound(dag)
    if args.json:
        out = report.to_dict()
        out.update(dag=dag.name, schedule=args.schedule, trivial_lower_bound=lower)
        if line is not None:
            out["violation"]["line"] = line
        print_json(out)
    else:
        print(render(report, dag, args.schedule, line, lower))
        if report.violation is not None:
            print(context(verifier, args.schedule, report.violation))
    return 0 if report.valid else 1


def render(report, dag, schedule_name, line, lower) -> str:
    rows = [
        ("DAG", f"{dag.name or '-'}: {dag.num_nodes} nodes, {dag.num_edges} edges, {dag.outputs.size} outputs"),
        ("schedule", f"{schedule_name}: {report.moves} moves checked"),
        ("game", report.rules.describe()),
        ("result", "valid" if report.valid else "INVALID"),
        ("I/O", f"{report.io}  ({report.loads} loads + {report.stores} stores; trivial lower bound {lower})"),
        ("computes", report.computes),
        ("deletes", report.deletes),
        ("peak red", f"{report.peak_red} of {report.M}"),
    ]
    if report.rules.compcost:
        rows.append(("cost", f"{report.cost:g}"))
    text = table([(k, str(v)) for k, v in rows])
    v = report.violation
    if v is not None:
        where = f"{schedule_name} line {line}: " if line is not None else ""
        text += f"\n\n{where}{v.message}\n  rule: {v.rule}"
    return text


def context(verifier, schedule_name, violation, *, before=3, most=12) -> str:
    """The moves before the violation and the pebbles at that point."""
    dag = verifier.dag
    lines = []
    if violation.index > 0 or violation.move is not None:
        lines.append("\nmoves before it:")
        for i, code in moves_around(schedule_name, dag, violation.index, before=before):
            mark = ">" if i == violation.index else " "
            lines.append(f"  {mark} {i:>8}  {move_text(dag, code)}")
    for name, arr in (("red", verifier.red), ("blue", verifier.blue)):
        ids = arr.nonzero()[0]
        more = f", ... ({ids.size - most} more)" if ids.size > most else ""
        shown = ", ".join(dag.label(v) for v in ids[:most]) + more
        when = "before that move" if violation.move else "at the end"
        lines.append(f"{name} pebbles {when} ({ids.size}): {shown or '-'}")
    return "\n".join(lines)
