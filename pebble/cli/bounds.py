"""``pebble bounds ...``: the regression of every bound against the certified optima, and the registry."""

from __future__ import annotations

from pebble.progress import StatusLine
from proofs import registered_bounds
from proofs.bound import brief
from proofs.check import check_table
from proofs.tightness import certified_summary_markdown, tightness_markdown, tightness_rows

from .bound import add_table_argument
from .common import print_json, table


def register(sub):
    p = sub.add_parser("bounds", help="check every bound against the certified optima; list the bounds")
    bsub = p.add_subparsers(dest="bounds_command", metavar="SUBCOMMAND")
    bsub.required = True
    for name, help_text, arguments in (
        ("check", "hold every lower bound <= the certified optimum <= every upper bound, for every row of the "
                  "table of optima; exit 1 on any violation (for use in CI)", _check),
        ("list", "the registered bound functions: name, kind, game, and what they state", _list),
        ("tightness", "best upper / best lower and optimum / best lower over a grid of instances per family",
         _tightness),
    ):
        arguments(bsub.add_parser(name, help=help_text, description=help_text))


def _check(p):
    add_table_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run_check)


def _run_check(args):
    with StatusLine(enabled=not args.json) as status:
        result = check_table(args.table, progress=lambda i, count, row: status(f"[{i + 1}/{count}] {row.describe()}"))
    if args.json:
        print_json(result.to_dict())
        return 0 if result.ok else 1
    rows = [(r.row.spec, r.row.M, r.row.variant, r.row.optimum, brief(r.lower), brief(r.upper),
             {"ok": "ok", "violation": "FAIL"}[r.status]) for r in result.rows]
    print(table(rows, ("instance", "M", "variant", "optimum", "best lower", "best upper", "status")))
    for f in result.findings:
        print(f"\nFAIL {f.message}")
    print(f"\n{len(result.rows)} instances checked, {len(result.findings)} violations ({result.table})")
    return 0 if result.ok else 1


def _list(p):
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run_list)


def _run_list(args):
    entries = registered_bounds().values()
    if args.json:
        print_json([{"name": e.name, "kind": e.kind, "game": None if e.game is None else e.game.to_dict(),
                     "summary": e.summary} for e in entries])
        return 0
    rows = [(e.name, e.kind, "per bound" if e.game is None else e.game.game, e.summary) for e in entries]
    print(table(rows, ("bound", "kind", "game", "statement")))
    return 0


def _tightness(p):
    p.add_argument("--variant", default="base", help="the game (default: base)")
    add_table_argument(p)
    p.add_argument("--markdown", action="store_true", help="print Markdown tables (as in the README): a summary of "
                                                          "the certified instances per family, then the grid")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run_tightness)


def _run_tightness(args):
    with StatusLine(enabled=not args.json) as status:
        rows = tightness_rows(variant=args.variant, table=args.table, progress=lambda spec, M: status(f"{spec} M={M}"))
    if args.json:
        print_json([r.to_dict() for r in rows])
    elif args.markdown:
        print(certified_summary_markdown(rows) + "\n\n" + tightness_markdown([r for r in rows if r.optimum is None]))
    else:
        print(table([(r.family, r.spec, r.M, brief(r.lower), brief(r.upper), r.optimum, r.gap, r.optimum_ratio)
                     for r in rows],
                    ("family", "instance", "M", "best lower", "best upper", "optimum", "upper/lower", "opt/lower")))
    return 0
