"""``pebble demo``: an end-to-end run on built-in defaults."""

from __future__ import annotations

from .common import positive_int, table

DEFAULT_DAG = "pyramid:h=8"


def register(sub):
    p = sub.add_parser("demo", help="build a DAG, schedule it, verify the schedule, compare with the lower bound",
                       description="End to end on built-in defaults: build a DAG, generate a schedule with the "
                                   "general heuristic at several M, verify each, and print its I/O beside the "
                                   "trivial lower bound.")
    p.add_argument("--dag", default=DEFAULT_DAG, help=f"builder spec or file (default: {DEFAULT_DAG})")
    p.add_argument("-M", "--memory", dest="M", type=positive_int, action="append",
                   help="red pebbles; repeat for several (default: the smallest M, twice it, and 4 times it)")
    p.set_defaults(func=run)


def run(args) -> int:
    from dags import load_dag
    from pebble.engine import verify
    from pebble.strategies import heuristic_schedule
    from proofs import trivial_lower_bound

    dag = load_dag(args.dag)
    m0 = dag.min_memory()
    Ms = args.M or [m0, 2 * m0, 4 * m0]
    lower = trivial_lower_bound(dag)
    print(f"{dag.name}: {dag.num_nodes} nodes, {dag.num_edges} edges, smallest M = {m0}\n")
    rows = []
    ok = True
    for M in Ms:
        schedule = heuristic_schedule(dag, M)
        report = verify(dag, schedule, M)
        ok &= report.valid
        rows.append((M, len(schedule), "valid" if report.valid else "INVALID", report.loads, report.stores,
                     report.io, lower, f"{report.io / lower:.2f}" if lower else "-"))
    print(table(rows, ("M", "moves", "verifier", "loads", "stores", "I/O", "lower bound", "ratio")))
    print("\nschedules from the general heuristic; I/O counted by the verifier; lower bound: trivial "
          "(needed inputs loaded once, outputs stored once)")
    return 0 if ok else 1
