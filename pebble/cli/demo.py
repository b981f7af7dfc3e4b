"""``pebble demo``: an end-to-end run on built-in defaults."""

from __future__ import annotations

from dags import load_dag
from pebble.engine import verify
from pebble.strategies import STRATEGIES, MemoryTooSmall, StrategyError
from proofs import trivial_lower_bound

from .common import positive_int, table

DEFAULT_DAG = "attention:n=16,d=2"
DEFAULT_M = (12, 24, 48)


def register(sub):
    p = sub.add_parser("demo", help="build a DAG, schedule it with every strategy that applies, verify, compare",
                       description="End to end on built-in defaults: build a DAG, generate a schedule with every "
                                   "strategy that applies to it at several M, verify each, and print its I/O "
                                   "beside the trivial lower bound.")
    p.add_argument("--dag", default=DEFAULT_DAG, help=f"builder spec or file (default: {DEFAULT_DAG})")
    p.add_argument("-M", "--memory", dest="M", type=positive_int, action="append",
                   help="red pebbles; repeat for several (default: 12, 24 and 48, or the smallest M, twice "
                        "and 4 times it for another DAG)")
    p.set_defaults(func=run)


def run(args) -> int:
    dag = load_dag(args.dag)
    m0 = dag.min_memory()
    Ms = args.M or (list(DEFAULT_M) if args.dag == DEFAULT_DAG else [m0, 2 * m0, 4 * m0])
    lower = trivial_lower_bound(dag)
    print(f"{dag.name}: {dag.num_nodes} nodes, {dag.num_edges} edges, smallest M = {m0}, "
          f"trivial I/O lower bound = {lower}\n")
    rows = []
    ok = True
    for name, generator in STRATEGIES.items():
        for M in Ms:
            try:
                schedule = generator(dag, M)
            except MemoryTooSmall as exc:
                rows.append((name, M, f"needs M >= {exc.smallest}", "", "", "", "", ""))
                continue
            except StrategyError:
                break  # the strategy does not apply to this DAG
            report = verify(dag, schedule, M)
            ok &= report.valid
            rows.append((name, M, len(schedule), "valid" if report.valid else "INVALID", report.loads,
                         report.stores, report.io, f"{report.io / lower:.2f}" if lower else "-"))
    print(table(rows, ("strategy", "M", "moves", "verifier", "loads", "stores", "I/O", "I/O / bound")))
    print("\nevery schedule checked move by move by the verifier; bound: trivial (needed inputs loaded once, "
          "outputs stored once). Next: pebble run flash attention:n=64,d=4 -M 64, pebble sweep")
    return 0 if ok else 1
