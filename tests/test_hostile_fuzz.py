"""Fuzz each reader through the command line: any bytes end in exit 0, 1 or 2, never a traceback.

Inputs are mutations of valid files (a DAG in JSON and HyperDAG, a text and a
binary schedule) and raw bytes. The profile is deterministic (derandomized,
bounded examples, no deadline) and memory is bounded: the peak traced
allocation over all examples stays under :data:`PEAK_BYTES`.
"""

from __future__ import annotations

import json
import struct
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pebble.cli import main

PROFILE = settings(derandomize=True, max_examples=100, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PEAK_BYTES = 64 << 20  # far above what a small file needs, far below an unchecked allocation

JSON_DAG = json.dumps({"format": "pebble-dag", "version": 1, "name": "join", "num_nodes": 3,
                       "preds": [[], [], [0, 1]], "ops": ["input", "input", "add"], "outputs": [2],
                       "labels": {"names": ["a", "b", "c"]}, "coef": [1, 1, 2.5]}).encode()
HYPERDAG = b"% join\n2 3 4\n0 1 1\n1 1 1\n0 1\n1 1\n2 1\n0 0\n0 2\n1 1\n1 2\n"
TEXT = b"# join\nload p0[0]\nload p0[1]\ncompute p1[0]\nstore p1[0]\n"
PBS = struct.pack("<8sIIQQ", b"\x93PEBBLE\n", 1, 4, 3, 4) + struct.pack("<4I", 0, 4, 10, 9)
TOKENS = [b"[", b"]", b"{", b"}", b",", b":", b'"', b"-", b"0", b"9" * 30, b"1e999", b"NaN", b"true", b"null",
          b"#", b"\n", b"\r", b"\x00", b"\xff", b" ", b"\xc2\xb2", b"load", b"p0[", b"%"]


def mutated(seed: bytes):
    """``seed`` with slices cut, repeated, or replaced by hostile tokens; or raw bytes."""
    edit = st.tuples(st.integers(0, len(seed)), st.integers(0, 8), st.one_of(st.sampled_from(TOKENS), st.binary(max_size=8)))

    def apply(edits):
        data = seed
        for pos, cut, token in edits:
            data = data[:pos] + token + data[pos + cut:]
        return data

    return st.one_of(st.lists(edit, min_size=1, max_size=6).map(apply), st.binary(max_size=200))


class Peak:
    """The largest traced allocation peak over the examples of one test."""

    def __init__(self):
        self.value = 0
        self.codes = set()

    def run(self, argv, capsys):
        tracemalloc.start()
        try:
            code = main(argv)
        finally:
            self.value = max(self.value, tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), (code, err)
        self.codes.add(code)
        assert "Traceback" not in err and "internal error" not in err, err
        if code == 2:
            assert err.count("\n") == 1, err
        return code


@pytest.mark.parametrize("name,seed,argv", [
    ("dag.json", JSON_DAG, ["dag", "info", "{f}"]),
    ("dag.hdag", HYPERDAG, ["dag", "info", "{f}"]),
    ("s.txt", TEXT, ["verify", "pyramid:h=1", "{f}", "-M", "3"]),
    ("s.pbs", PBS, ["verify", "pyramid:h=1", "{f}", "-M", "3"]),
], ids=["json", "hdag", "text", "pbs"])
def test_reader_fuzz(name, seed, argv, tmp_path, capsys):
    path = tmp_path / name
    path.write_bytes(seed)
    peak = Peak()
    assert peak.run([a.format(f=path) for a in argv], capsys) == 0  # the seed itself is valid

    @PROFILE
    @given(mutated(seed))
    def check(data):
        path.write_bytes(data)
        peak.run([a.format(f=path) for a in argv], capsys)

    check()
    assert 2 in peak.codes  # the mutations do reach the error paths
    assert peak.value < PEAK_BYTES, peak.value
