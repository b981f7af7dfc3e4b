"""Computation DAGs: the compact graph type, builders, and DAG files.

``dags`` knows nothing of pebbles: it builds graphs, labels their nodes, reads
and writes them, and evaluates them numerically.
"""

from .core import DAG, DAGError, OP_CODES, OPS
from .families import binary_tree_dag, path_dag, pyramid_dag
from .io import DAGFileError, read_dag, write_dag
from .labels import Labels
from .specs import SpecError, build, families, load_dag

__all__ = [
    "DAG", "DAGError", "DAGFileError", "Labels", "OPS", "OP_CODES", "SpecError",
    "binary_tree_dag", "build", "families", "load_dag", "path_dag", "pyramid_dag",
    "read_dag", "write_dag",
]
