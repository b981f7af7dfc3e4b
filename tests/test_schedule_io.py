"""Schedule files: text and binary round trips, streams, malformed input."""

import os
import struct

import numpy as np
import pytest

from dags import pyramid_dag
from pebble import Schedule, ScheduleFileError, read_schedule, read_schedule_chunks, verify, write_schedule
from pebble.schedule_io import MAGIC, locate_move
from pebble.strategies import heuristic_schedule


@pytest.fixture
def dag_and_schedule():
    g = pyramid_dag(6)
    return g, heuristic_schedule(g, 4)


def test_text_roundtrip_with_labels(tmp_path, dag_and_schedule):
    g, s = dag_and_schedule
    p = tmp_path / "s.sched"
    assert write_schedule(p, s, g, comment="pyramid(6)\nM = 4") == len(s)
    text = p.read_text().splitlines()
    assert text[:2] == ["# pyramid(6)", "# M = 4"] and text[2] == "load p0[0]"
    assert read_schedule(p, g) == s
    assert verify(g, p, 4) == verify(g, s, 4)


def test_text_ids_comments_blank_lines(tmp_path):
    g = pyramid_dag(1)
    p = tmp_path / "s.txt"
    p.write_text("# a schedule\n\nload 0\nLOAD p0[1]   # by label\n  compute 2\nstore p1[0]\n")
    assert read_schedule(p, g).text(g) == ["load p0[0]", "load p0[1]", "compute p1[0]", "store p1[0]"]
    with pytest.raises(ScheduleFileError, match="line 4: unknown node 'p0\\[1\\]'"):
        read_schedule(p)  # labels need the DAG ...
    q = tmp_path / "ids.txt"
    q.write_text("load 0\nload 1\ncompute 2\n")
    assert read_schedule(q).codes.tolist() == [0, 4, 10]  # ... ids alone do not


def test_binary_roundtrip_and_streaming(tmp_path, dag_and_schedule):
    g, s = dag_and_schedule
    p = tmp_path / "s.pbs"
    write_schedule(p, s, g)
    assert os.path.getsize(p) == 32 + 4 * len(s)
    chunks = list(read_schedule_chunks(p, g, chunk_moves=7))
    assert len(chunks) == -(-len(s) // 7) and all(c.size <= 7 for c in chunks)
    assert np.array_equal(np.concatenate(chunks), s.codes)
    assert verify(g, p, 4) == verify(g, s, 4)


def test_text_streaming_chunks(tmp_path, dag_and_schedule):
    g, s = dag_and_schedule
    p = tmp_path / "s.sched"
    write_schedule(p, s, g)
    chunks = list(read_schedule_chunks(p, g, chunk_moves=5))
    assert max(c.size for c in chunks) <= 5 and np.array_equal(np.concatenate(chunks), s.codes)


def test_write_from_a_stream_of_chunks(tmp_path, dag_and_schedule):
    g, s = dag_and_schedule
    parts = np.array_split(s.codes, 4)
    for name in ("a.pbs", "a.sched"):
        assert write_schedule(tmp_path / name, iter(parts), g) == len(s)
        assert read_schedule(tmp_path / name, g) == s


def test_wide_codes_without_dag(tmp_path):
    codes = np.array([(5_000_000_000 << 2) | 1, 3], np.int64)
    write_schedule(tmp_path / "w.pbs", codes)
    assert np.array_equal(read_schedule(tmp_path / "w.pbs").codes, codes)


@pytest.mark.parametrize("content, message", [
    ("load p0[0]\nfetch p0[1]\n", "s.txt line 2: unknown move 'fetch'; expected one of: load, store, compute, delete"),
    ("load p0[0]\n\n# c\nload Q[9,0]\n", "s.txt line 4: unknown node 'Q[9,0]'"),
    ("load 17\n", "s.txt line 1: unknown node '17'"),
    ("compute\n", "s.txt line 1: 'compute' needs a node"),
])
def test_text_errors(tmp_path, content, message):
    p = tmp_path / "s.txt"
    p.write_text(content)
    with pytest.raises(ScheduleFileError) as exc:
        read_schedule(p, pyramid_dag(1))
    assert str(exc.value) == str(p) + message[len("s.txt"):]


def _header(version=1, width=4, nodes=3, moves=2):
    return struct.pack("<8sIIQQ", MAGIC, version, width, nodes, moves)


@pytest.mark.parametrize("data, message", [
    (MAGIC + b"\x01\x00", "truncated header (10 of 32 bytes)"),
    (_header(version=2), "unsupported format version 2"),
    (_header(width=3), "bad header: 3 bytes per move"),
    (_header(nodes=99) + b"\x00" * 8, "written for a DAG of 99 nodes, but this DAG has 3"),
    (_header(moves=2) + b"\x00" * 5, "truncated: the header declares 2 moves but the file holds 1"),
    (_header(moves=1 << 60), "truncated: the header declares 1152921504606846976 moves but the file holds 0"),
    (_header(moves=1) + b"\x00" * 8, "4 bytes after the 1 moves the header declares"),
])
def test_binary_errors(tmp_path, data, message):
    p = tmp_path / "b.pbs"
    p.write_bytes(data)
    with pytest.raises(ScheduleFileError) as exc:
        list(read_schedule_chunks(p, pyramid_dag(1)))
    assert str(exc.value).startswith(f"{p}: {message}")


def test_bad_magic_binary_is_not_text(tmp_path):
    p = tmp_path / "x.pbs"
    p.write_bytes(b"\x93PEBBLF\n" + b"\xff" * 40)
    with pytest.raises(ScheduleFileError, match="x.pbs: not a binary schedule \\(bad magic\\)"):
        read_schedule(p, pyramid_dag(1))


def test_missing_file():
    with pytest.raises(ScheduleFileError, match="nope.sched: no such file"):
        read_schedule("nope.sched")


def test_invalid_schedule_in_file_reports_line(tmp_path):
    g = pyramid_dag(1)
    p = tmp_path / "s.sched"
    p.write_text("# header\nload p0[0]\n\ncompute p1[0]\n")
    r = verify(g, p, 3)
    assert r.violation.index == 1 and locate_move(p, 1) == 4


def test_schedule_object():
    g = pyramid_dag(1)
    s = Schedule.from_moves([("load", 0), ("load", "p0[1]"), "compute p1[0]", (1, 2)], g)
    assert len(s) == 4 and s[3] == ("store", 2) and list(s)[2] == ("compute", 2)
    assert s.io == 3 and s[1:3].text(g) == ["load p0[1]", "compute p1[0]"]
    assert (s[:2] + s[2:]) == s
    with pytest.raises(ValueError, match="unknown node 'p9'"):
        Schedule.from_moves(["load p9"], g)
    with pytest.raises(ValueError, match="unknown move 'move'"):
        Schedule.from_moves(["move p0[0]"], g)
