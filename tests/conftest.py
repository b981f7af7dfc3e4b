import pathlib
from importlib.resources import files

import pytest


@pytest.fixture
def osp_tiny_dir():
    """The folder of the osp-tiny HyperDAG files shipped in the package (``dags/data/osp_tiny``)."""
    return pathlib.Path(str(files("dags").joinpath("data", "osp_tiny")))


@pytest.fixture
def exact_budget():
    """``solve`` keywords for runs that repeat exactly on a loaded machine: one worker, a seed, CP-SAT's
    deterministic time and the searches' state caps, with a wall-clock limit far above them."""
    from pebble.solver.portfolio import Policy

    policy = Policy(ideals_max_states=3_000_000, steps_max_states=4_000_000, symmetry_seconds=60.0)
    return dict(workers=1, seed=0, deterministic_time=20.0, time_limit=900.0, policy=policy)
