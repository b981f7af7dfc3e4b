"""pebble.batch and ``pebble batch``: process pool and Dask cluster, dead workers, resume, Ctrl-C, bad input.

Every job runs the real engine on tiny DAGs; outcomes are checked by what
they must be (verified rows, exact strategy I/O), never by time.
"""

import functools
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pebble.batch import Job, ProgressBar, read_results, run_jobs
from pebble.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent))
import batch_hooks  # noqa: E402


@functools.cache
def heuristic_io(spec, M):
    """The verified I/O of the heuristic's schedule, computed here in the test's own process."""
    from dags import build
    from pebble import verify
    from pebble.strategies import heuristic_schedule

    dag = build(spec)
    return verify(dag, heuristic_schedule(dag, M), M).io


def run_job_list():
    """Nine strategy runs and three exact solves on tiny DAGs."""
    jobs = [Job("pyramid:h=3", M, "base", 5.0, "run", "", "heuristic") for M in (3, 4, 5)]
    jobs += [Job(f"path:n={n}", 2, "base", 5.0, "run", "", "heuristic") for n in (3, 4, 5, 6, 7, 8)]
    jobs += [Job("pyramid:h=3", 4, "one-shot", 5.0, "solve", "ideals", ""),
             Job("path:n=4", 2, "base", 5.0, "solve", "search", ""),
             Job("tree:h=2", 3, "base", 5.0, "bound", "", "")]
    return jobs


def check_rows(rows, jobs):
    """One verified row per job, in order; the strategy runs have their known I/O."""
    assert [Job(**{k: r[k] for k in ("spec", "M", "variant", "time_limit", "command", "method", "strategy")})
            for r in rows] == jobs
    for row in rows:
        assert row["status"] in ("ok", "optimal", "feasible"), row
        assert row["io"] is not None and (row["lower_bound"] is None or row["lower_bound"] <= row["io"])
        if row["command"] == "run":
            assert row["io"] == heuristic_io(row["spec"], row["M"])
        if row["command"] == "run" and row["spec"].startswith("path:"):
            assert row["io"] == 2  # load the source, store the sink


def test_local_pool_runs_every_job_once_and_resumes(tmp_path):
    jobs = run_job_list()[::2]
    out = tmp_path / "r.jsonl"
    rows = run_jobs(jobs, workers=2, results_path=out)
    check_rows(rows, jobs)
    assert len(read_results(out)) == len(jobs)
    # Resume: keep 3 rows and the start of a fourth (cut short as by a kill), rerun, count what ran.
    lines = out.read_text().splitlines()
    kept = [json.loads(line) for line in lines[:3]]
    out.write_text("\n".join(lines[:3]) + "\n" + lines[3][:20])
    markers = tmp_path / "markers"
    markers.mkdir()
    rows = run_jobs(jobs, workers=2, results_path=out, task=functools.partial(batch_hooks.die, markers, {}))
    check_rows(rows, jobs)
    done = {tuple(r[k] for k in ("spec", "M", "variant", "command", "method", "strategy")) for r in kept}
    for job in jobs:
        ran = batch_hooks.attempts(markers, job)
        assert ran == (0 if (job.spec, job.M, job.variant, job.command, job.method, job.strategy) in done else 1)
    assert len(read_results(out)) == len(jobs)
    assert len({tuple(r.values())[:7] for r in read_results(out)}) == len(jobs)


def test_local_pool_retries_a_dead_worker_once(tmp_path):
    jobs = run_job_list()[:6]
    once, always = jobs[1], jobs[4]
    deaths = {once: 1, always: 5}
    markers = tmp_path / "markers"
    markers.mkdir()
    rows = run_jobs(jobs, workers=2, results_path=tmp_path / "r.jsonl",
                    task=functools.partial(batch_hooks.die, markers, deaths))
    by_job = dict(zip(jobs, rows))
    assert by_job[once]["status"] == "ok" and by_job[once]["attempts"] == 2
    assert by_job[once]["io"] == heuristic_io(once.spec, once.M)
    assert by_job[always]["status"] == "error" and by_job[always]["attempts"] == 2
    assert "worker died 2 times" in by_job[always]["reason"]
    assert batch_hooks.attempts(markers, once) == 2 and batch_hooks.attempts(markers, always) == 2
    others = [j for j in jobs if j not in deaths]
    assert all(by_job[j]["status"] == "ok" and by_job[j]["attempts"] == 1 for j in others)
    assert len(read_results(tmp_path / "r.jsonl")) == len(jobs)


def test_a_worker_that_lies_gives_an_error_row(tmp_path):
    jobs = [Job("pyramid:h=3", M, "base", 5.0, "run", "", "heuristic") for M in (3, 4, 5)]
    rows = run_jobs(jobs, workers=1, task=batch_hooks.lie)
    wrong_io, cut_short, honest = rows
    assert wrong_io["status"] == "error" and f"the verifier counts {heuristic_io('pyramid:h=3', 3)}" in wrong_io["reason"]
    assert cut_short["status"] == "error" and "rejects the worker's schedule" in cut_short["reason"]
    assert honest["status"] == "ok" and honest["io"] == heuristic_io('pyramid:h=3', 5) and "reason" not in honest


def test_dask_cluster_survives_a_killed_worker(tmp_path):
    distributed = pytest.importorskip("distributed")
    import cloudpickle

    cloudpickle.register_pickle_by_value(batch_hooks)
    jobs = run_job_list()
    victim = jobs[2]
    markers = tmp_path / "markers"
    markers.mkdir()
    out = tmp_path / "r.jsonl"
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, scheduler_port=0) as cluster:
        with distributed.Client(cluster) as client:
            before = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
            rows = run_jobs(jobs, scheduler=cluster.scheduler_address, results_path=out,
                            task=functools.partial(batch_hooks.die, markers, {victim: 1}))
            after = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    check_rows(rows, jobs)
    assert dict(zip(jobs, rows))[victim]["attempts"] == 2
    assert batch_hooks.attempts(markers, victim) == 2
    assert len(read_results(out)) == len(jobs)  # each job once in the file
    assert after == before


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, where", [
    ("spec,M,variant\npyramid:h=3,3,base\n", "line 1: missing column 'time_limit'"),
    ("spec,M,variant,time_limit\npyramid:h=3,3,base,5\npyramid:h=3,x,base,5\n", "line 3, column 'M'"),
    ("spec,M,variant,time_limit\npyramid:h=3,0,base,5\n", "line 2, column 'M'"),
    ("spec,M,variant,time_limit\npyramid:h=3,2,base,5\n", "line 2, column 'M': M = 2 is below"),
    ("spec,M,variant,time_limit\npyramid:h=3,3,fancy,5\n", "line 2, column 'variant'"),
    ("spec,M,variant,time_limit\npyramid:h=3,3,base,soon\n", "line 2, column 'time_limit'"),
    ("spec,M,variant,time_limit\nnosuch:h=3,3,base,5\n", "line 2, column 'spec'"),
    ("spec,M,variant,time_limit,command\npath:n=3,2,base,5,bound\npath:n=3,2,base,5,guess\n", "line 3, column 'command'"),
    ("spec,M,variant,time_limit,command,strategy\npath:n=3,2,base,5,run,fastest\n", "line 2, column 'strategy'"),
    ("spec,M,variant,time_limit,method\npath:n=3,2,base,5,magic\n", "line 2, column 'method'"),
])
def test_bad_jobs_file_exits_2_naming_line_and_column(tmp_path, capsys, text, where):
    jobs = write(tmp_path / "jobs.csv", text)
    out = tmp_path / "r.jsonl"
    assert main(["batch", jobs, "-o", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"jobs.csv {where}" in err, err
    assert not out.exists()


def test_missing_dask_exits_2_naming_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    jobs = write(tmp_path / "jobs.csv", "spec,M,variant,time_limit\npath:n=3,2,base,5\n")
    out = tmp_path / "r.jsonl"
    assert main(["batch", jobs, "-o", str(out), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "pebble-io[dask]" in capsys.readouterr().err
    assert not out.exists()


def test_ctrl_c_keeps_finished_rows_and_exits_130(tmp_path):
    # Two quick runs, then solves that take their full two minutes: the interrupt comes between.
    jobs = write(tmp_path / "jobs.csv", "spec,M,variant,time_limit,command,strategy\n"
                                        "pyramid:h=3,3,base,5,run,heuristic\npyramid:h=3,4,base,5,run,heuristic\n"
                                        "fft:k=3,4,one-shot,120,solve,\nfft:k=3,6,one-shot,120,solve,\n")
    out = tmp_path / "r.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "pebble", "batch", jobs, "-o", str(out), "--workers", "2"],
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        for _ in range(1200):  # poll for the first row, 120 s at most
            if out.exists() and out.read_text().count("\n") >= 1:
                break
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    rows = read_results(out)
    assert 1 <= len(rows) < 4
    assert all(r["status"] == "ok" and r["io"] == heuristic_io(r["spec"], r["M"]) for r in rows if r["command"] == "run")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_redraws_on_a_terminal_and_prints_lines_elsewhere():
    screen, log = _Terminal(), io.StringIO()
    for stream in (screen, log):
        bar = ProgressBar(stream, every=10.0)
        for done, elapsed in ((0, 0.0), (1, 2.0), (2, 12.5)):
            bar(done, 4, 0, elapsed)
        bar(4, 4, 1, 20.0, final=True)
    assert screen.getvalue().count("\r") == 4 and screen.getvalue().endswith("4/4 jobs, 1 errors, 0:00:20 elapsed, "
                                                                             "0:00:00 left\n")
    assert "2/4 jobs, 0 errors, 0:00:12 elapsed, 0:00:12 left" in screen.getvalue()
    lines = log.getvalue().splitlines()  # at 0 s, 12.5 s (10 s later) and the final line; not at 2 s
    assert [line.split(",")[0] for line in lines] == ["batch: 0/4 jobs", "batch: 2/4 jobs", "batch: 4/4 jobs"]
    assert "\r" not in log.getvalue()
