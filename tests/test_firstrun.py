"""The first run as a command: the compile notice, progress off a terminal, Ctrl-C at start-up, foreign
packages of the same names, and the citation metadata."""

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dags import pyramid_dag
from pebble import write_schedule
from pebble.cli import COMPILING, compile_notice, foreign_package, main
from pebble.progress import StatusLine
from pebble.strategies import heuristic_schedule

ROOT = Path(__file__).parents[1]


def command(tmp_path, *argv, env=None, **kwargs):
    """Run ``python -m pebble ARGV`` from ``tmp_path`` (outside the source tree, as a user would)."""
    environ = {**os.environ, **(env or {})}
    environ.pop("PEBBLE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "pebble", *argv], cwd=tmp_path, env=environ, capture_output=True,
                          text=True, timeout=300, **kwargs)


def test_compile_notice_once_on_a_cold_cache_and_never_on_a_warm_one(tmp_path):
    g = pyramid_dag(3)
    write_schedule(tmp_path / "s.sched", heuristic_schedule(g, 3), g)
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    argv = ("verify", "pyramid:h=3", "s.sched", "-M", "3")
    cold = command(tmp_path, *argv, env={"NUMBA_CACHE_DIR": str(cache)})
    assert cold.returncode == 0 and "valid" in cold.stdout, cold.stderr
    assert cold.stderr.splitlines().count(COMPILING) == 1, cold.stderr
    assert any(cache.rglob("*.nbi"))  # the kernels went to the cache the notice promised
    warm = command(tmp_path, *argv, env={"NUMBA_CACHE_DIR": str(cache)})
    assert warm.returncode == 0 and warm.stdout == cold.stdout and COMPILING not in warm.stderr, warm.stderr


def _kernel(factor, module):
    """A fresh uncached numba kernel that numba reports as defined in ``module``."""
    from numba import njit

    def times(x):
        return factor * x

    times.__module__ = module
    return njit(times)


def test_compile_notice_follows_the_toolkits_kernels_compiling_in_the_block():
    stream = io.StringIO()
    twice, thrice, foreign = _kernel(2, "pebble.strategies"), _kernel(3, "dags.core"), _kernel(5, "elsewhere")
    twice(1)  # compiled before the block: no notice
    with compile_notice(stream):
        assert twice(2) == 4 and foreign(1) == 5 and stream.getvalue() == ""  # loaded, or not the toolkit's
        assert thrice(2) == 6 and twice(2.5) == 5.0
    assert stream.getvalue() == COMPILING + "\n"  # once, however many kernels compile
    assert thrice(1.5) == 4.5 and stream.getvalue() == COMPILING + "\n"  # outside the block: quiet


def test_library_calls_of_main_never_print_the_notice(capsys):
    # main(argv) is the library's door to the CLI: only the command (main() with sys.argv) speaks of compiling.
    assert main(["bound", "pyramid:h=3", "-M", "3", "--json"]) == 0
    assert COMPILING not in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_status_line_redraws_on_a_terminal_and_prints_periodic_lines_elsewhere():
    screen, log = _Terminal(), io.StringIO()
    for stream in (screen, log):
        with StatusLine(stream, every=10.0) as line:
            for text, now in (("step 1 of 3, long text", 0.0), ("step 2", 4.0), ("step 3", 11.0)):
                line(text, now=now)
    assert screen.getvalue() == ("\rstep 1 of 3, long text" "\rstep 2" + " " * 16 + "\rstep 3"  # step 2's blanks erased the rest
                                 + "\r" + " " * 6 + "\r")
    assert log.getvalue() == "step 1 of 3, long text\nstep 3\n"  # 0 s and 11 s; 4 s is within the 10 s
    final = StatusLine(log, every=10.0)
    final("done", final=True, now=0.0)
    final("done again", final=True, now=1.0)  # a final line always prints
    assert log.getvalue().endswith("done\ndone again\n")
    quiet = io.StringIO()
    StatusLine(quiet, enabled=False)("never", final=True)
    assert quiet.getvalue() == ""


def test_bound_progress_off_a_terminal_has_no_carriage_return(capsys):
    assert main(["bound", "pyramid:h=3", "-M", "3"]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and err.startswith("computing ")


@pytest.mark.parametrize("how", ["module", "script"])
def test_ctrl_c_during_start_up_exits_130_without_a_traceback(tmp_path, how):
    script = Path(sys.executable).parent / "pebble"
    if how == "script" and not script.exists():
        pytest.skip("the console script is not installed beside this interpreter")
    head = [sys.executable, "-m", "pebble"] if how == "module" else [sys.executable, str(script)]
    env = {k: v for k, v in os.environ.items() if k != "PEBBLE_DEBUG"}
    proc = subprocess.Popen([*head, "solve", "pyramid:h=6", "-M", "3", "--time-limit", "600", "--quiet"], cwd=tmp_path,
                            env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in proc.stderr:  # one line per finished import: wait until main is importing the subcommands
            seen.append(line)
            if line.split("|")[-1].strip() == "pebble.cli.common":
                break
        proc.send_signal(signal.SIGINT)  # main imports the other subcommands, or solves for 600 s
        rest = proc.stderr.read()
        proc.wait(timeout=120)
    finally:
        proc.kill()
    err = "".join(seen) + rest
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "pebble: interrupted" in err


def test_a_foreign_package_of_the_same_name_is_refused(tmp_path):
    fake = tmp_path / "elsewhere" / "proofs"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise SystemExit('the unrelated proofs package ran')\n")
    result = command(tmp_path, "bound", "pyramid:h=3", "-M", "3", env={"PYTHONPATH": str(fake.parent)})
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"pebble: error: the module 'proofs' comes from {fake.resolve()}, not from "
                                    f"pebble-io") and len(result.stderr.splitlines()) == 1
    assert "unrelated proofs package ran" not in result.stderr  # located, never imported
    assert foreign_package() is None  # this test process imports the toolkit's own


def test_citation_metadata_matches_pyproject():
    pyproject = (ROOT / "pyproject.toml").read_text()
    citation = (ROOT / "CITATION.cff").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert re.search(r"^version: (\S+)$", citation, re.M).group(1) == version
    assert re.search(r"^cff-version: 1\.2\.0$", citation, re.M) and re.search(r"^license: Apache-2\.0$", citation,
                                                                               re.M)
    assert 'license = "Apache-2.0"' in pyproject
    assert "Approaching I/O-optimality for approximate attention" in citation and "the red-blue pebble game" in citation
