"""The README's promises: its two set-up commands, its Python tour and every CLI example run as written."""

import pathlib
import shlex

import pytest

from pebble.cli import main

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def section(title):
    """The text of the README section ``## title``, up to the next heading of any level."""
    return README.split(f"## {title}\n", 1)[1].split("\n#", 1)[0]


def cli_examples():
    block = README.split("## Command line", 1)[1].split("```", 2)[1]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip().startswith("pebble ")]


def test_ci_runs_the_readme_test_command():
    quick = README.split("## Quick start", 1)[1].split("## ", 1)[0]
    commands = [b.strip() for b in quick.split("```")[1::2]]
    assert len(commands) == 2 and commands[0].endswith("pebble demo")
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_python_tour_prints_what_its_comments_say(capsys):
    tour = section("A tour in Python")
    code = tour.split("```python", 1)[1].split("```", 1)[0]
    exec(code, {})
    printed = capsys.readouterr().out.splitlines()
    promised = [line.split("#", 1)[1].strip() for line in code.splitlines() if line.startswith("print(")]
    assert len(printed) == len(promised) == 3
    for out, comment in zip(printed, promised):
        expected = comment.split("...", 1)[0].strip() if "..." in comment else comment.split(",", 1)[0]
        assert out.startswith(expected), (out, comment)
    assert printed[-1] == "11"


def test_the_readme_links_to_pages_that_exist():
    for target in ("docs/index.md", "docs/concepts.md", "docs/bounds.md", "docs/solver.md", "benchmarks/results/"):
        assert f"]({target})" in README and (ROOT / target).exists(), target


def test_every_cli_example_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    examples = cli_examples()
    assert len(examples) >= 15
    monkeypatch.chdir(tmp_path)
    for line in examples:
        code = main(shlex.split(line)[1:])
        out, err = capsys.readouterr()
        assert code == 0, f"{line!r} exited {code}: {err[-500:]}"
        assert out.strip(), f"{line!r} printed nothing"
    assert (tmp_path / "pyramid.png").stat().st_size > 1000 and (tmp_path / "opt.sched").exists()
