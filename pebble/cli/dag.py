"""``pebble dag ...``: inspect and convert DAGs."""

from __future__ import annotations

from .common import add_dag_argument, load_dag_arg, print_json, table

# `pebble dag` subcommands: name -> (help, register function)
SUBCOMMANDS = {}


def subcommand(name, help):
    def deco(func):
        SUBCOMMANDS[name] = (help, func)
        return func

    return deco


def register(sub):
    p = sub.add_parser("dag", help="inspect, build, convert and draw DAGs")
    dsub = p.add_subparsers(dest="dag_command", metavar="SUBCOMMAND")
    dsub.required = True
    for name, (help_text, reg) in SUBCOMMANDS.items():
        reg(dsub.add_parser(name, help=help_text, description=help_text))


def dag_info(dag) -> dict:
    from proofs import trivial_lower_bound

    return {
        "name": dag.name,
        "nodes": dag.num_nodes,
        "edges": dag.num_edges,
        "sources": int(dag.sources.size),
        "sinks": int(dag.sinks.size),
        "outputs": int(dag.outputs.size),
        "max_in_degree": dag.max_in_degree,
        "depth": int(dag.levels.max()) if dag.num_nodes else 0,
        "min_memory": dag.min_memory(),
        "min_memory_sliding": dag.min_memory(sliding=True),
        "trivial_lower_bound": trivial_lower_bound(dag),
    }


@subcommand("info", "sizes, degrees and the smallest M for which a pebbling exists")
def _info(p):
    add_dag_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run_info)


def _run_info(args):
    info = dag_info(load_dag_arg(args.dag))
    if args.json:
        print_json(info)
        return 0
    names = {"min_memory": "smallest M", "min_memory_sliding": "smallest M (sliding)",
             "max_in_degree": "max in-degree", "trivial_lower_bound": "trivial I/O bound"}
    print(table([(names.get(k, k), v) for k, v in info.items()]))
    return 0


@subcommand("convert", "write a DAG (file or spec) as .json or .dot")
def _convert(p):
    add_dag_argument(p)
    p.add_argument("-o", "--output", required=True, help="output file: .json or .dot")
    p.set_defaults(func=_run_convert)


def _run_convert(args):
    from dags import write_dag

    dag = load_dag_arg(args.dag)
    write_dag(dag, args.output)
    print(f"wrote {args.output}: {dag.num_nodes} nodes, {dag.num_edges} edges")
    return 0


@subcommand("families", "the builder specs this installation knows")
def _families(p):
    p.set_defaults(func=_run_families)


def _run_families(args):
    from dags import families

    rows = []
    for name, (func, example) in sorted(families().items()):
        doc = (func.__doc__ or "").strip().splitlines()[0]
        rows.append((name, example, doc))
    print(table(rows, ("family", "example", "description")))
    return 0
