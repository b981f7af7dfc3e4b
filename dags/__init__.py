"""Computation DAGs: the compact graph type, builders, and DAG files.

``dags`` knows nothing of pebbles: it builds graphs, labels their nodes, reads
and writes them, and evaluates them numerically.
"""

from .attention import approx_attention_dag, attention_dag
from .core import DAG, OP_CODES, OPS, DAGError, as_dag
from .errors import PebbleError
from .evaluate import EvaluationError, block_values, evaluate, evaluate_nodes
from .families import (
                       binary_tree_dag,
                       fft_dag,
                       matmul_dag,
                       matvec_dag,
                       path_dag,
                       pyramid_dag,
                       random_dag,
                       random_layered_dag,
                       stencil_dag,
)
from .io import DAGFileError, read_dag, write_dag
from .labels import Labels
from .osp_tiny import osp_tiny_dag, osp_tiny_names, osp_tiny_path
from .specs import SpecError, build, families, load_dag

__all__ = [
    "DAG", "DAGError", "DAGFileError", "EvaluationError", "Labels", "OPS", "OP_CODES", "PebbleError", "SpecError",
    "approx_attention_dag", "as_dag", "attention_dag", "binary_tree_dag", "block_values", "build", "evaluate",
    "evaluate_nodes", "families", "fft_dag", "load_dag", "matmul_dag", "matvec_dag", "osp_tiny_dag",
    "osp_tiny_names", "osp_tiny_path", "path_dag", "pyramid_dag", "random_dag", "random_layered_dag", "read_dag",
    "stencil_dag", "write_dag",
]
