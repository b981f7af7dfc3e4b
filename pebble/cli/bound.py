"""``pebble bound DAG -M 8``: every applicable bound side by side, with the optimum when certified."""

from __future__ import annotations

from pebble.progress import StatusLine
from proofs import best_lower, best_upper, bounds_for
from proofs.bound import brief, normalize_variant
from proofs.check import find_optimum
from proofs.optima import TABLE

from .common import add_dag_argument, load_dag_arg, positive_int, print_json, table


def register(sub):
    p = sub.add_parser("bound", help="all lower and upper bounds on the optimal I/O of a DAG, side by side",
                       description="Compute every registered bound that covers the DAG and M and holds in the "
                                   "game: lower bounds with explicit constants, and the I/O of every strategy's "
                                   "schedule after the verifier accepted it. Shows the certified optimum when the "
                                   "table of optima has it, and each value's ratio to the best lower bound.")
    add_dag_argument(p)
    p.add_argument("-M", "--memory", dest="M", type=positive_int, required=True, help="red pebbles (fast memory size)")
    p.add_argument("--variant", default="base", help="base, one-shot, nodel, or several joined by '+' (default: base)")
    p.add_argument("--sliding", action="store_true", help="only bounds that also hold when sliding is allowed")
    p.add_argument("--only", metavar="NAMES", help="comma-separated registered bounds to compute (see 'pebble bounds "
                                                   "list'; 'schedules' is every strategy)")
    add_table_argument(p)
    p.add_argument("--formulas", action="store_true", help="print each bound's formula and reference")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: 'bounds' (name, kind, value, assumptions, ...) and 'optimum'")
    p.set_defaults(func=run)


def _optimum(dag, args):
    if args.sliding:
        return None, "not certified (the table of optima holds games without sliding)"
    if args.table is None and not TABLE.exists():
        return None, f"no table of optima at {TABLE}"
    row = find_optimum(dag, args.M, args.variant, table=args.table)
    if row is None:
        return None, f"not certified in {args.table or TABLE}"
    how = ", ".join(x for x in (row.methods or row.solver, None if row.seconds is None else f"{row.seconds:g} s") if x)
    return row, f"certified: {row.optimum}" + (f" ({how})" if how else "")


def run(args) -> int:
    dag = load_dag_arg(args.dag)
    variant = normalize_variant(args.variant)
    names = None if args.only is None else [s.strip() for s in args.only.split(",") if s.strip()]
    row, note = _optimum(dag, args)
    with StatusLine(enabled=not args.json) as status:
        found = bounds_for(dag, args.M, variant=variant, sliding=args.sliding, names=names,
                           progress=lambda name: status(f"computing {name} ..."))
    low, up = best_lower(found), best_upper(found)
    base = low.value if low is not None and low.value > 0 else None

    def ratio(value):
        return None if base is None else value / base

    if args.json:
        print_json({
            "dag": dag.name, "nodes": dag.num_nodes, "edges": dag.num_edges, "M": args.M, "variant": variant,
            "sliding": args.sliding,
            "optimum": None if row is None else row.to_dict(),
            "best_lower": None if low is None else {"name": low.name, "value": low.value},
            "best_upper": None if up is None else {"name": up.name, "value": up.value},
            "bounds": [dict(b.to_dict(), ratio_to_best_lower=ratio(b.value)) for b in found],
        })
        return 0
    game = variant + (" with sliding" if args.sliding else "")
    print(f"{dag.name or args.dag}: {dag.num_nodes} nodes, {dag.num_edges} edges; M = {args.M}, {game}")
    print(f"optimum: {note}\n")
    rows = [(b.kind, b.name, b.value, _ratio_text(ratio(b.value)), b.method, b.assumptions.game) for b in found]
    if row is not None:
        at = next((k for k, r in enumerate(rows) if r[0] == "upper"), len(rows))
        rows.insert(at, ("optimum", "certified", row.optimum, _ratio_text(ratio(row.optimum)),
                         row.methods or row.solver, row.variant))
    print(table(rows, ("kind", "bound", "value", "/ best lower", "method", "game")))
    if low is not None and up is not None:
        gap = f"{up.value / low.value:.3g}" if low.value > 0 else "-"
        print(f"\nbest lower {brief(low)}, best upper {brief(up)}: ratio {gap}")
    if args.formulas:
        print()
        for b in found:
            print(f"{b.name}: {b.formula}\n    {b.assumptions.regime}; {b.assumptions.family}\n    {b.reference}")
    return 0


def add_table_argument(parser):
    parser.add_argument("--table", metavar="FILE",
                        help="table of certified optima (default: proofs/data/optima.csv); columns spec,M,variant,"
                             "optimum and optionally methods,solver,seconds; a spec may name a DAG file, relative "
                             "to the table")


def _ratio_text(r):
    return "-" if r is None else f"{r:.3f}"
