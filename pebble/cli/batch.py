"""``pebble batch JOBS -o RESULTS.jsonl``: many solves, bounds and strategy runs on a process pool or a Dask cluster."""

from __future__ import annotations

from .common import positive_int


def register(sub):
    p = sub.add_parser("batch", help="run a CSV of solve, bound and run jobs in parallel, locally or on Dask",
                       description="Run every job of a CSV file (columns spec,M,variant,time_limit and optionally "
                                   "command = solve, bound or run, method, strategy) on worker processes, or on a "
                                   "Dask cluster with --scheduler. Every schedule a worker returns is checked again "
                                   "by the verifier; one JSON row per job is appended to RESULTS as it finishes, and "
                                   "jobs already there are skipped, so an interrupted batch resumes. A job whose "
                                   "worker dies runs once more, then is recorded as an error. Exit 0 when every "
                                   "job has a row without error, 1 when some row is an error, 2 on bad input, "
                                   "130 on Ctrl-C. See docs/batch.md.")
    p.add_argument("jobs", metavar="JOBS", help="CSV file of jobs")
    p.add_argument("-o", "--output", dest="results", metavar="RESULTS", required=True,
                   help="JSON-lines results file (appended to; its jobs are skipped)")
    p.add_argument("--workers", type=positive_int, default=None, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster at this address (tcp://host:port)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from pebble.batch import ProgressBar, read_jobs, require_dask, run_jobs, summary

    if args.scheduler:
        require_dask()
    jobs = read_jobs(args.jobs)
    rows = run_jobs(jobs, workers=args.workers, scheduler=args.scheduler, results_path=args.results,
                    progress=None if args.quiet else ProgressBar(sys.stderr))
    counts = summary(rows)
    if not args.quiet:
        print("batch: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) + f" -> {args.results}",
              file=sys.stderr)
    return 1 if counts.get("error") else 0
