import pathlib
from importlib.resources import files

import pytest


@pytest.fixture
def osp_tiny_dir():
    """The folder of the osp-tiny HyperDAG files shipped in the package (``dags/data/osp_tiny``)."""
    return pathlib.Path(str(files("dags").joinpath("data", "osp_tiny")))
