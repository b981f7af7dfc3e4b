"""pebble.jobs.run_tasks on its own: order, duplicates, rows not recorded, resume, failures, an error in finish.

The work is a builtin (``abs``), so that worker processes import it by name;
what the test checks is what the executor does with outcomes and rows.
"""

import pytest

from pebble.jobs import read_rows, run_tasks


def test_rows_in_the_order_of_the_jobs_each_job_once_and_resume(tmp_path):
    out = tmp_path / "r.jsonl"
    finished = []

    def finish(job, outcome, attempts):
        finished.append(job)
        return None if job == 3 else {"job": job, "value": outcome, "attempts": attempts}

    def key(row):
        return row["job"]

    rows = run_tasks([5, -2, 3, -2, 7], abs, finish, workers=2, results_path=out, row_key=key)
    assert rows == [{"job": 5, "value": 5, "attempts": 1}, {"job": -2, "value": 2, "attempts": 1}, None,
                    {"job": -2, "value": 2, "attempts": 1}, {"job": 7, "value": 7, "attempts": 1}]
    assert sorted(finished) == [-2, 3, 5, 7]  # the duplicate ran once
    assert sorted(r["job"] for r in read_rows(out, key)) == [-2, 5, 7]  # no row for the job finish left out
    finished.clear()
    rows = run_tasks([7, 3, 5, -2], abs, finish, workers=2, results_path=out, row_key=key)
    assert finished == [3]  # the only job without a row
    assert [None if r is None else r["value"] for r in rows] == [7, None, 5, 2]
    finished.clear()
    run_tasks([7, 3], abs, finish, workers=1, results_path=out, row_key=key, resume=False)
    assert sorted(finished) == [3, 7]
    assert len(read_rows(out, key)) == 4  # appended again


def test_work_that_raises_reaches_finish_as_a_failure():
    counts = []

    def finish(job, outcome, attempts):
        return outcome

    rows = run_tasks([-1, "x"], abs, finish, workers=1, progress=lambda *a, final=False: counts.append(a[:3]))
    assert rows[0] == 1
    assert rows[1]["status"] == "error" and rows[1]["reason"].startswith("TypeError: bad operand type for abs()")
    assert counts[-1] == (2, 2, 1)  # done, total, errors


def test_an_exception_in_finish_stops_the_run():
    def finish(job, outcome, attempts):
        raise ValueError(f"refused {job}")

    with pytest.raises(ValueError, match="refused"):
        run_tasks([1, 2, 3, 4], abs, finish, workers=2)
