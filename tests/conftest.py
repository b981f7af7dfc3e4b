import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("PEBBLE_SHARED", ROOT.parent / "shared"))
OSP_TINY = SHARED / "benchmarks" / "osp-tiny"


@pytest.fixture
def osp_tiny_dir():
    if not OSP_TINY.is_dir():
        pytest.fail(f"the osp-tiny benchmark DAGs are missing: {OSP_TINY}")
    return OSP_TINY
