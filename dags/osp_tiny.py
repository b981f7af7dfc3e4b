"""The osp-tiny benchmark DAGs, shipped with the package: the builder spec ``osp:NAME``.

The 16 HyperDAG files of OneStopParallel's tiny set live in ``dags/data/osp_tiny``
(source and licence in its ``README.md`` and ``NOTICE``). A file
``instance_NAME.hdag`` is the DAG ``osp:NAME``; the files are found through
:mod:`importlib.resources`, so an installed package carries them.

>>> from dags import build
>>> build("osp:k-means").num_nodes
40
"""

from __future__ import annotations

from importlib.resources import files

from .io import read_dag
from .specs import SpecError, family

__all__ = ["osp_tiny_dag", "osp_tiny_names", "osp_tiny_path"]

_FOLDER = files(__package__).joinpath("data", "osp_tiny")
_PREFIX, _SUFFIX = "instance_", ".hdag"


def osp_tiny_names() -> list[str]:
    """The names of the osp-tiny DAGs (file stems without ``instance_``), sorted."""
    return sorted(f.name[len(_PREFIX):-len(_SUFFIX)] for f in _FOLDER.iterdir()
                  if f.name.startswith(_PREFIX) and f.name.endswith(_SUFFIX))


def osp_tiny_path(name: str):
    """The HyperDAG file of the osp-tiny DAG ``name`` (a path when the package is installed as files)."""
    names = osp_tiny_names()
    if name not in names:
        raise SpecError(f"osp: unknown osp-tiny DAG {name!r}; known: {', '.join(names)}")
    return _FOLDER.joinpath(f"{_PREFIX}{name}{_SUFFIX}")


@family("osp", example="osp:k-means", bare=True)
def osp_tiny_dag(name: str):
    """An osp-tiny DAG (OneStopParallel's tiny benchmark set), by name: ``osp:k-means``."""
    return read_dag(osp_tiny_path(name))
