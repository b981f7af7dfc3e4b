"""Worker tasks for tests/test_batch.py: the real job, with a death or a lie injected.

They live in a module of their own so that worker processes can import them by name.
"""

import hashlib
import os
import pathlib

import numpy as np

from pebble import STORE
from pebble.batch import run_job


def _attempt(markers, job):
    """Count one more attempt of ``job`` in its marker file; the number of this attempt."""
    path = pathlib.Path(markers) / hashlib.sha1(repr(job.key()).encode()).hexdigest()
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\n")
    return len(path.read_text().split())


def attempts(markers, job):
    path = pathlib.Path(markers) / hashlib.sha1(repr(job.key()).encode()).hexdigest()
    return len(path.read_text().split()) if path.exists() else 0


def die(markers, deaths, job, build):
    """Run ``job``, but first end the worker process on its first ``deaths[job]`` attempts."""
    if _attempt(markers, job) <= deaths.get(job, 0):
        os._exit(17)
    return run_job(job, build)


def lie(job, build):
    """Run ``job`` and misreport it: I/O one more than found (M = 3), or a schedule without its last store (M = 4)."""
    out = run_job(job, build)
    if job.M == 3 and out["io"] is not None:
        out["io"] += 1
    elif job.M == 4 and out["codes"] is not None:
        codes = out["codes"]
        out["codes"] = np.delete(codes, np.flatnonzero((codes & 3) == STORE)[-1])
    return out
