"""The trivial lower bound, valid for every DAG, every M and every variant.

Every source that is an operand of a needed computation must be loaded at
least once (it starts blue only), and every output that is not a source must
be stored at least once (it starts without a pebble and must end blue).
Loads and stores are distinct moves, so Q(G, M) >= (sources feeding a needed
node) + (outputs that are not sources).
"""

from __future__ import annotations

import numpy as np

__all__ = ["trivial_lower_bound"]


def trivial_lower_bound(dag) -> int:
    """Loads of the needed inputs plus stores of the computed outputs.

    >>> from dags import pyramid_dag
    >>> trivial_lower_bound(pyramid_dag(3))  # 4 inputs, 1 output
    5
    """
    computed = dag.needed & (dag.in_degree > 0)
    rows = np.repeat(computed, dag.in_degree)
    operands = np.zeros(dag.num_nodes, bool)
    operands[dag.indices[rows]] = True
    loads = int(np.count_nonzero(operands & (dag.in_degree == 0)))
    outs = dag.outputs
    stores = int(np.count_nonzero(dag.in_degree[outs] > 0))
    return loads + stores
